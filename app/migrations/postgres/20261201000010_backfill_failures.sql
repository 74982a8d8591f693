-- As SQLite's migration of the same name: saved snippets that could not be run on a newly
-- offered image, so that re-running saved snippets on new versions moves past them.
CREATE TABLE backfill_failures (
    snippet_id TEXT NOT NULL,
    image      TEXT NOT NULL,
    image_id   TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    failed_at  TEXT NOT NULL,
    PRIMARY KEY (snippet_id, image)
);
