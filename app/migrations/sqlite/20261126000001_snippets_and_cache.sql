-- Saved snippets: the permalink id is derived from the code's hash.
CREATE TABLE snippets (
    id         TEXT PRIMARY KEY NOT NULL,
    code_hash  TEXT NOT NULL UNIQUE,
    code       TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

-- The latest saved result of a snippet per image, as the API's JSON.
CREATE TABLE snippet_results (
    snippet_id TEXT NOT NULL REFERENCES snippets (id) ON DELETE CASCADE,
    image      TEXT NOT NULL,
    result     TEXT NOT NULL,
    saved_at   TEXT NOT NULL,
    PRIMARY KEY (snippet_id, image)
) STRICT;

-- Results that may be served again: keyed by a hash of the code, the image id and the sandbox
-- settings, so neither the code itself nor who ran it is kept here.
CREATE TABLE cached_results (
    key       TEXT PRIMARY KEY NOT NULL,
    result    TEXT NOT NULL,
    cached_at TEXT NOT NULL
) STRICT;
