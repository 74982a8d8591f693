-- What a snippet shows on each version: `output` (it runs), or its compiled opcodes
-- (`opcodes`, `opcodes_unoptimized`). Snippets saved before show their output.
ALTER TABLE snippets ADD COLUMN show TEXT NOT NULL DEFAULT 'output';
