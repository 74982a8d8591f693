-- As SQLite's migration of the same name: when each offered image name was first seen (the
-- first list is the baseline, seen at the epoch), and the image id each saved result ran on.
CREATE TABLE images_seen (
    image      TEXT PRIMARY KEY,
    first_seen TEXT NOT NULL
);

ALTER TABLE snippet_results ADD COLUMN image_id TEXT;
