-- ini variants: a snippet may run every version under a few sets of ini settings (`ini`, the
-- variants as JSON; `[]`: the image's defaults only), and keeps a result per image and variant
-- (`ini` in snippet_results: the variant's settings as `name=value` lines; '' for the
-- defaults, which every result saved before was run under). SQLite cannot change a primary
-- key, so the results table is built anew.
ALTER TABLE snippets ADD COLUMN ini TEXT NOT NULL DEFAULT '[]';

CREATE TABLE snippet_results_by_variant (
    snippet_id TEXT NOT NULL REFERENCES snippets (id) ON DELETE CASCADE,
    image      TEXT NOT NULL,
    ini        TEXT NOT NULL DEFAULT '',
    result     TEXT NOT NULL,
    saved_at   TEXT NOT NULL,
    stdout     BLOB,
    stderr     BLOB,
    image_id   TEXT,
    PRIMARY KEY (snippet_id, image, ini)
) STRICT;
INSERT INTO snippet_results_by_variant (snippet_id, image, ini, result, saved_at, stdout, stderr, image_id)
    SELECT snippet_id, image, '', result, saved_at, stdout, stderr, image_id FROM snippet_results;
DROP TABLE snippet_results;
ALTER TABLE snippet_results_by_variant RENAME TO snippet_results;
