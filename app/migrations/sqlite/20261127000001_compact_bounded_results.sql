-- Results are stored compactly: the metadata as JSON without the output, and each output
-- stream as its own BLOB (raw UTF-8, deflated when large) instead of JSON-escaped text, where a
-- NUL byte took six bytes.

-- Saved results keep their rows; old rows have NULL streams and their output in `result`.
ALTER TABLE snippet_results ADD COLUMN stdout BLOB;
ALTER TABLE snippet_results ADD COLUMN stderr BLOB;

-- The cache is only a cache: it starts over in the new form, with a size per row and a time of
-- last use, so that it can be bounded by evicting the least recently used results.
DROP TABLE cached_results;
CREATE TABLE cached_results (
    key     TEXT PRIMARY KEY NOT NULL,
    result  TEXT NOT NULL,
    stdout  BLOB NOT NULL,
    stderr  BLOB NOT NULL,
    size    INTEGER NOT NULL,
    used_at INTEGER NOT NULL
) STRICT;
CREATE INDEX cached_results_by_use ON cached_results (used_at);

-- The cache's total size, kept by triggers so that bounding it costs no scan.
CREATE TABLE cache_size (
    only  INTEGER PRIMARY KEY CHECK (only = 1),
    bytes INTEGER NOT NULL
) STRICT;
INSERT INTO cache_size (only, bytes) VALUES (1, 0);
CREATE TRIGGER cache_size_insert AFTER INSERT ON cached_results
    BEGIN UPDATE cache_size SET bytes = bytes + NEW.size; END;
CREATE TRIGGER cache_size_delete AFTER DELETE ON cached_results
    BEGIN UPDATE cache_size SET bytes = bytes - OLD.size; END;
CREATE TRIGGER cache_size_update AFTER UPDATE OF size ON cached_results
    BEGIN UPDATE cache_size SET bytes = bytes - OLD.size + NEW.size; END;
