-- When each offered image name was first seen, so that saved snippets can be re-run on versions
-- that appeared after them. The first list ever recorded is the baseline, stored as seen at the
-- epoch: nothing saved before it is re-run on those.
CREATE TABLE images_seen (
    image      TEXT PRIMARY KEY NOT NULL,
    first_seen TEXT NOT NULL
) STRICT;

-- The image id a saved result ran on (NULL for results from before): a re-run on the same
-- image whose output differs shows that the output depends on more than the code.
ALTER TABLE snippet_results ADD COLUMN image_id TEXT;
