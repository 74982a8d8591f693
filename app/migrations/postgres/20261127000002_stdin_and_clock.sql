-- As SQLite's migration of the same name: a snippet is its code, its stdin and its clock.
ALTER TABLE snippets ADD COLUMN stdin TEXT NOT NULL DEFAULT '';
ALTER TABLE snippets ADD COLUMN clock TEXT NOT NULL DEFAULT 'fixed';
ALTER TABLE snippets ADD COLUMN clock_at BIGINT;
UPDATE snippets SET clock_at = EXTRACT(EPOCH FROM substr(created_at, 1, 19)::timestamp)::bigint;
