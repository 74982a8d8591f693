-- Saved snippets that could not be run on a newly offered image (a setting that version lacks,
-- opcodes on a build without OPcache, the engine away): re-running saved snippets on new
-- versions moves past them, and tries again later a few times, on the same image id.
CREATE TABLE backfill_failures (
    snippet_id TEXT NOT NULL,
    image      TEXT NOT NULL,
    image_id   TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    failed_at  TEXT NOT NULL,
    PRIMARY KEY (snippet_id, image)
) STRICT;
