-- As SQLite's migration of the same name: a snippet's ini variants (JSON; `[]`: the defaults
-- only), and a result per image and variant (the variant's `name=value` lines; '' for the
-- defaults, which every result saved before was run under).
ALTER TABLE snippets ADD COLUMN ini TEXT NOT NULL DEFAULT '[]';

ALTER TABLE snippet_results ADD COLUMN ini TEXT NOT NULL DEFAULT '';
ALTER TABLE snippet_results DROP CONSTRAINT snippet_results_pkey;
ALTER TABLE snippet_results ADD PRIMARY KEY (snippet_id, image, ini);
