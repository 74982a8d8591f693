-- The same schema as SQLite's two migrations end with (app/migrations/sqlite), in PostgreSQL's
-- types. The tables, keys and the cache's bookkeeping behave the same on both backends.

-- Saved snippets: the permalink id is derived from the code's hash.
CREATE TABLE snippets (
    id         TEXT PRIMARY KEY,
    code_hash  TEXT NOT NULL UNIQUE,
    code       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- The latest saved result of a snippet per image: metadata as JSON, each output stream as raw
-- UTF-8, deflated when large (see Compact in app/src/store).
CREATE TABLE snippet_results (
    snippet_id TEXT NOT NULL REFERENCES snippets (id) ON DELETE CASCADE,
    image      TEXT NOT NULL,
    result     TEXT NOT NULL,
    stdout     BYTEA,
    stderr     BYTEA,
    saved_at   TEXT NOT NULL,
    PRIMARY KEY (snippet_id, image)
);

-- Results that may be served again: keyed by a hash of the code, the image id and the sandbox
-- settings, so neither the code itself nor who ran it is kept here. Bounded by evicting the
-- least recently used.
CREATE TABLE cached_results (
    key     TEXT PRIMARY KEY,
    result  TEXT NOT NULL,
    stdout  BYTEA NOT NULL,
    stderr  BYTEA NOT NULL,
    size    BIGINT NOT NULL,
    used_at BIGINT NOT NULL
);
CREATE INDEX cached_results_by_use ON cached_results (used_at);

-- The cache's total size, kept by a trigger so that bounding it costs no scan.
CREATE TABLE cache_size (
    one   INTEGER PRIMARY KEY CHECK (one = 1),
    bytes BIGINT NOT NULL
);
INSERT INTO cache_size (one, bytes) VALUES (1, 0);

CREATE FUNCTION cache_size_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE cache_size SET bytes = bytes + NEW.size;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE cache_size SET bytes = bytes - OLD.size;
    ELSE
        UPDATE cache_size SET bytes = bytes - OLD.size + NEW.size;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER cache_size_follow AFTER INSERT OR DELETE OR UPDATE OF size ON cached_results
    FOR EACH ROW EXECUTE FUNCTION cache_size_follow();
