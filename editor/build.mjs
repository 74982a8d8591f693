// Bundles the editor into ../public/editor/ (cargo-leptos copies public/ into the site, so it is
// served as /editor/editor.js). Vim keys are a separate chunk, fetched only when turned on.
// Prints each file's size: raw, gzipped and brotli'd (the server sends one of the last two).
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';

const outdir = new URL('../public/editor/', import.meta.url).pathname;
rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: { editor: 'src/editor.js' },
  outdir,
  bundle: true,
  format: 'esm',
  splitting: true,
  chunkNames: 'chunk-[hash]',
  minify: true,
  target: 'es2020',
  legalComments: 'none',
  logLevel: 'warning',
});

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
for (const name of readdirSync(outdir).sort()) {
  const bytes = readFileSync(join(outdir, name));
  const gzipped = gzipSync(bytes, { level: 9 }).length;
  const brotlied = brotliCompressSync(bytes).length;
  console.log(`editor/${name}: ${kb(bytes.length)}, gzip ${kb(gzipped)}, brotli ${kb(brotlied)}`);
}
