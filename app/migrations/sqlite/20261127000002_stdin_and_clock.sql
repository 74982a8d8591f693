-- A snippet is its code, its stdin and its clock: `clock` as asked (`fixed`, `real` or a time)
-- and `clock_at`, where the script's clock starts (seconds since the epoch; NULL on the real
-- clock). Snippets saved before had neither: they read nothing and run on the clock of their
-- first save, as every new one does by default.
ALTER TABLE snippets ADD COLUMN stdin TEXT NOT NULL DEFAULT '';
ALTER TABLE snippets ADD COLUMN clock TEXT NOT NULL DEFAULT 'fixed';
ALTER TABLE snippets ADD COLUMN clock_at INTEGER;
UPDATE snippets SET clock_at = CAST(strftime('%s', substr(created_at, 1, 19)) AS INTEGER);
