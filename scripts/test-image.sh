#!/usr/bin/env bash
# Builds evalgrid's container image (deploy/Dockerfile) and runs a snippet through it, started
# with deploy/compose.yaml on this machine's engine and PHP images.
#
# No registry is reachable here, so the image is built from what this machine makes itself: a
# runtime base of the host's C library (what the server links: glibc, libm, libgcc_s) and CA
# certificates, and the release build (`cargo leptos build --release`, which scripts/test.sh
# runs first) in place of the Dockerfile's build stage (BuildKit skips that stage when
# --build-arg BUILT names an image). On a machine that can pull, the whole multi-stage build is
# `DOCKER_BUILDKIT=1 docker build -f deploy/Dockerfile -t evalgrid .`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
log() { printf '[image] %s\n' "$*" >&2; }

[ -x target/release/server ] && [ -d target/site/pkg ] || {
  log "no release build: run cargo leptos build --release --precompress first"
  exit 1
}
# BuildKit: the CLI's own (buildx), or the engine's through Debian's 20.10 CLI.
if docker buildx version >/dev/null 2>&1; then
  build() { DOCKER_BUILDKIT=1 docker build "$@"; }
elif [ -x /usr/bin/docker ] && /usr/bin/docker version --format '{{.Client.Version}}' 2>/dev/null | grep -q '^20\.'; then
  build() { DOCKER_BUILDKIT=1 /usr/bin/docker build "$@"; }
else
  log "no BuildKit: install docker-buildx"
  exit 1
fi

PORT=${EVALGRID_IMAGE_TEST_PORT:-3290}
PROJECT=evalgrid-image-test
INSTANCE=test-image-$$
STAGE=$(mktemp -d)
COMPOSE=(docker-compose -p "$PROJECT" -f deploy/compose.yaml)
export EVALGRID_IMAGE=evalgrid:test EVALGRID_PORT=$PORT EVALGRID_INSTANCE_ID=$INSTANCE
DOCKER_GID=$(stat -c %g /var/run/docker.sock)
export DOCKER_GID
cleanup() {
  "${COMPOSE[@]}" down -v --timeout 30 >/dev/null 2>&1 || true
  # Whatever the server could not remove itself (it was killed, say).
  docker ps -aq --filter "label=dev.evalgrid.instance=$INSTANCE" | xargs -r docker rm -f >/dev/null
  rm -rf "$STAGE"
}
trap cleanup EXIT
started=$(date +%s)
step() { log "$1 ($(( $(date +%s) - started )) s)"; }

# The runtime base: the loader and the libraries the server links, CA certificates (a TLS engine,
# PostgreSQL over TLS) and the non-root user the image runs as; no shell, no package manager.
mkdir -p "$STAGE/base/etc" "$STAGE/base/tmp"
for lib in $(ldd target/release/server | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
  cp --parents -L "$lib" "$STAGE/base/"
done
cp --parents -L /etc/ssl/certs/ca-certificates.crt "$STAGE/base/"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$STAGE/base/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$STAGE/base/etc/group"
chmod 1777 "$STAGE/base/tmp"
tar -C "$STAGE/base" -c . | docker import - evalgrid-fixture/runtime-base:test >/dev/null
step "runtime base made: $(du -sh "$STAGE/base" | cut -f1)"

# The build stage's output, from this machine's release build.
mkdir -p "$STAGE/built/out/usr/local/bin" "$STAGE/built/out/srv/evalgrid" "$STAGE/built/out/var/lib/evalgrid"
cp target/release/server "$STAGE/built/out/usr/local/bin/evalgrid-server"
cp -r target/site "$STAGE/built/out/srv/evalgrid/site"
tar -C "$STAGE/built" -c . | docker import - evalgrid-fixture/evalgrid-built:test >/dev/null
step "release build imported"

build -f deploy/Dockerfile -t "$EVALGRID_IMAGE" \
  --build-arg BUILT=evalgrid-fixture/evalgrid-built:test \
  --build-arg BASE=evalgrid-fixture/runtime-base:test . >"$STAGE/build.log" 2>&1 \
  || { cat "$STAGE/build.log" >&2; exit 1; }
step "image built: $(docker image inspect -f '{{.Size}}' "$EVALGRID_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
user=$(docker image inspect -f '{{.Config.User}}' "$EVALGRID_IMAGE")
[ "$user" = "65532:65532" ] || { log "FAIL: the image runs as '$user', not the non-root user"; exit 1; }

"${COMPOSE[@]}" up -d --no-build >"$STAGE/up.log" 2>&1 || { cat "$STAGE/up.log" >&2; exit 1; }
for _ in $(seq 1 60); do
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/health" && break
  sleep 1
done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/health" || {
  log "FAIL: no healthy answer on port $PORT"
  "${COMPOSE[@]}" logs --tail 40 >&2
  exit 1
}
step "serving on 127.0.0.1:$PORT"

answer=$(curl -sf -H 'content-type: application/json' \
  -d '{"code":"<?php echo PHP_VERSION, \" as \", posix_getuid() > 0 ? \"non-root\" : \"root\";","images":["php:8.2-cli","php:8.4-cli"]}' \
  "http://127.0.0.1:$PORT/api/run") || { log "FAIL: the run was refused"; "${COMPOSE[@]}" logs --tail 40 >&2; exit 1; }
python3 - "$answer" <<'PY'
import json, sys
results = json.loads(sys.argv[1])["results"]
got = [(r["image"], r["status"], r["stdout"]) for r in results]
assert [r[0] for r in got] == ["php:8.2-cli", "php:8.4-cli"], got
for (image, status, stdout), minor in zip(got, ["8.2.", "8.4."]):
    assert status == "ok" and stdout.startswith(minor) and stdout.endswith(" as non-root"), got
print("[image] ran through the image:", got, file=sys.stderr)
PY
# Read whole before looking: `curl | grep -q` under pipefail fails when grep stops reading first.
page=$(curl -sf "http://127.0.0.1:$PORT/") && grep -q '<title>' <<<"$page" || { log "FAIL: no page"; exit 1; }
# Its containers are the instance's, and go with it.
"${COMPOSE[@]}" stop --timeout 30 >/dev/null 2>&1
left=$(docker ps -aq --filter "label=dev.evalgrid.instance=$INSTANCE" | wc -l)
[ "$left" -eq 0 ] || { log "FAIL: $left containers left after the server stopped"; exit 1; }
step "stopped; no container left; image test passed"
