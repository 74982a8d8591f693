// Bundles the editor into ../public/editor/ (cargo-leptos copies public/ into the site, so it is
// served as /editor/editor.js). Vim keys are a separate chunk, fetched only when turned on.
// Prints each file's size, raw and gzipped.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

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

for (const name of readdirSync(outdir).sort()) {
  const path = join(outdir, name);
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
  console.log(`editor/${name}: ${kb(statSync(path).size)}, ${kb(gzipSync(readFileSync(path), { level: 9 }).length)} gzipped`);
}
