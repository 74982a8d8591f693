#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), builds the release site, then runs every test on the
# real Docker engine and PHP images: Rust unit and integration tests (runner, HTTP API, page)
# and the Playwright tests in Debian's chromium. Fails if a container is left behind.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
export PATH="$ROOT/end2end/node_modules/.bin:$PATH"
# One probe per image for the whole test command: every runner and server the tests start
# keeps the images' probe answers here and reads them back (--probe-cache), instead of
# starting a container per image per test. The cache's own tests use directories of their own.
EVALGRID_PROBE_CACHE=$(mktemp -d -t evalgrid-probes.XXXXXX)
export EVALGRID_PROBE_CACHE
trap 'rm -rf "$EVALGRID_PROBE_CACHE"' EXIT

# Each step's wall time and the machine's CPU time (all cores, Docker's containers included)
# while it ran, so a slow step shows where the test command's time goes.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
timed() {
  local name=$1 started ticks
  shift
  started=$(date +%s%N) ticks=$(busy_ticks)
  "$@"
  awk -v name="$name" -v ns=$(($(date +%s%N) - started)) -v ticks=$(($(busy_ticks) - ticks)) \
    -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "[time] %-24s %6.1f s wall %7.1f s CPU\n", name, ns / 1e9, ticks / hz }'
}

echo "[test] format and lints (a warning fails the build)"
timed fmt cargo fmt --all --check
# The server side (app with ssr) and the page (app with hydrate, for the browser) apart: the two
# feature sets never build together.
timed clippy cargo clippy -p spec -p runner -p app -p server --all-targets -- -D warnings
timed clippy-supervisor cargo clippy -p evalgrid-supervisor --features binary --all-targets -- -D warnings
timed clippy-wasm cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

echo "[test] building the release site (code editor bundle, server + WASM)"
# The bundle goes into public/, which cargo-leptos copies into the site.
timed editor-bundle bash -c "cd editor && npm run --silent build"
# --precompress: brotli (quality 11) and gzip copies of every static file next to it, which
# the server sends as they are (about 20 % smaller than compressing each response on the fly).
timed release-site cargo leptos build --release --precompress
timed service-unit bash scripts/check-service-unit.sh
echo "[test] the container image (deploy/Dockerfile, deploy/compose.yaml)"
timed container-image bash scripts/test-image.sh

echo "[test] cargo tests"
# cargo-nextest: each test in a process of its own with a time limit (.config/nextest.toml), so
# a hang fails that test instead of the whole run.
# One package set and profile for every call below: each reuses the one build (a narrower `-p`
# resolves other dependency features and builds it all again). The dependencies are built as
# for release (their build scripts and macros shared with the release site's build); evalgrid's
# own crates unoptimized, which compiles them in a quarter of the time (on 2 cores, sources
# touched: 64 s, against 193 s at opt-level 1 and 274 s at 3) while the tests take as long:
# they wait on containers, not on this code.
tests=(--release -p spec -p runner -p app -p server)
for crate in spec runner app server; do
  tests+=(--config "profile.release.package.$crate.opt-level=0")
done
timed test-build cargo nextest run --no-run "${tests[@]}"
timed cargo-tests cargo nextest run --no-fail-fast "${tests[@]}"
timed supervisor-tests cargo nextest run --release -p evalgrid-supervisor --features binary
# The same engine, attack, fault, load and API suites again with each run in fresh namespaces
# inside a worker (the cargo tests above use single-use containers, workers.rs has the workers'
# own reuse and fault tests; the browser tests below use the server's default, which picks
# namespaces where the host allows them).
echo "[test] cargo tests in workers (--isolation namespaces)"
EVALGRID_ISOLATION=namespaces timed engine-in-workers cargo nextest run --no-fail-fast "${tests[@]}" \
  -E 'binary_id(runner::engine)'
EVALGRID_ISOLATION=namespaces timed server-in-workers cargo nextest run --no-fail-fast "${tests[@]}" \
  -E 'binary_id(server::it) & test(/^(attacks|faults|load|api)::/)'

echo "[test] browser tests"
timed browser-tests bash -c "cd end2end && npx playwright test"

# The tests' instances: test-* (cargo tests) and e2e-PORT (the browser tests' server); another
# evalgrid on this engine (a developer's own) is not ours to count.
e2e_instance="e2e-${EVALGRID_E2E_PORT:-3210}"
leftover=$(docker ps -a --filter label=dev.evalgrid.managed \
  --format '{{.ID}} {{.Label "dev.evalgrid.instance"}} {{.Status}} {{.Image}}' |
  awk -v e2e="$e2e_instance" '$2 ~ /^test-/ || $2 == e2e')
if [ -n "$leftover" ]; then
  echo "[test] FAIL: containers left behind:" >&2
  echo "$leftover" >&2
  exit 1
fi
# evalgrid's file volumes (the fixed clock, the workers' supervisor) are named after their
# content and shared by every instance on the engine; the tests made them, so they go too
# (one still in use by another evalgrid on this engine stays: the engine refuses).
for volume in $(docker volume ls -q --filter name=evalgrid-clock- --filter name=evalgrid-supervisor-); do
  docker volume rm "$volume" >/dev/null 2>&1 || echo "[test] volume $volume is in use; left"
done
echo "[test] all tests passed; no container left behind"
