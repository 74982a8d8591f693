#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and serves evalgrid on http://127.0.0.1:3000
# (EVALGRID_ADDR=0.0.0.0:8080 to change it; see docs/configuration.md for every setting).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
export PATH="$ROOT/end2end/node_modules/.bin:$PATH"
# The code editor's bundle goes into public/, which cargo-leptos copies into the site.
(cd editor && npm run --silent build)
# --precompress: brotli (quality 11) and gzip copies of the static files, sent as they are.
exec cargo leptos serve --release --precompress
