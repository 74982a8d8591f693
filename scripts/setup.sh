#!/usr/bin/env bash
# Installs and starts everything evalgrid needs on a Debian machine, idempotently and quickly
# when already done: system packages, a running Docker engine, the PHP images, the Rust targets
# and tools (cargo-leptos, wasm-bindgen-cli), the code editor's npm packages and the end-to-end
# test dependencies.
#
# Sourced or run by scripts/run.sh and scripts/test.sh; safe to run on its own.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CARGO_LEPTOS_VERSION=0.3.10
# Each line says how long set-up has run, so a slow step shows itself.
log() { printf '[setup %3dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  local wanted=(debootstrap chromium curl ca-certificates gcc libc6-dev busybox-static python3 openssl docker-registry postgresql haproxy systemd docker-compose) missing=()
  # A Docker of any origin will do (docker-ce, docker.io, a rootful engine someone else runs):
  # Debian's docker.io only when there is no engine at all, never over another one's packages.
  if ! command -v dockerd >/dev/null 2>&1 && ! docker_answers; then
    wanted+=(docker.io)
  fi
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    # The tests start PostgreSQL servers of their own: no system-wide cluster from the package.
    if [[ " ${missing[*]} " == *" postgresql "* ]]; then
      as_root mkdir -p /etc/postgresql-common/createcluster.d
      echo 'create_main_cluster = false' |
        as_root tee /etc/postgresql-common/createcluster.d/evalgrid.conf >/dev/null
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    # The tests start their own registry, load balancer and database on loopback; the
    # packages' services would listen for everyone (the registry on every interface).
    for service in docker-registry haproxy postgresql; do
      if [[ " ${missing[*]} " == *" $service "* ]]; then
        as_root systemctl disable --now "$service" >/dev/null 2>&1 || true
        as_root service "$service" stop >/dev/null 2>&1 || true
      fi
    done
  fi
}

# Whether an engine answers this user (or, for a sudoer outside the docker group, root).
docker_answers() {
  command -v docker >/dev/null 2>&1 || return 1
  docker info >/dev/null 2>&1 && return 0
  [ "$(id -u)" -ne 0 ] && sudo -n docker info >/dev/null 2>&1
}

start_docker() {
  if docker info >/dev/null 2>&1; then return 0; fi
  if docker_answers; then
    # The engine runs, but this user may not use its socket: never start a second one.
    log "the Docker engine runs but $(id -un) cannot use it: add yourself to the docker group"
    log "(sudo usermod -aG docker $(id -un), then log in again) and run this again"
    return 1
  fi
  log "no Docker engine answers; starting dockerd"
  # A session of its own: it outlives the shell (or CI step) that started it.
  as_root setsid sh -c 'nohup dockerd >/var/log/evalgrid-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do
    docker_answers && { log "Docker engine is up"; docker info >/dev/null 2>&1 || start_docker; return; }
    sleep 1
  done
  log "dockerd did not come up; see /var/log/evalgrid-dockerd.log"
  as_root tail -20 /var/log/evalgrid-dockerd.log >&2 || true
  return 1
}

install_rust_tools() {
  rustup target list --installed | grep -q wasm32-unknown-unknown \
    || rustup target add wasm32-unknown-unknown
  # The workers' supervisor is a static binary (runner/build.rs builds it).
  rustup target list --installed | grep -q x86_64-unknown-linux-musl \
    || rustup target add x86_64-unknown-linux-musl
  # The test command checks formatting and lints.
  rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed | grep -q '^clippy' || rustup component add clippy
  install_cargo_leptos
  install_wasm_bindgen
  install_nextest
}

# Tools, not products: built without their release profiles' LTO link (half of cargo-leptos'
# build on 2 cores) and with parallel codegen; they run as fast for what they do here.
tool_install() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo install "$@" \
    2> >(grep --line-buffered -v "did not match any packages" >&2)
}

install_cargo_leptos() {
  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION"
    # Unoptimized but for the crates that do its heavy lifting on every release build (brotli,
    # the WASM passes): 8 min instead of 20 on 2 cores, and a release build 4 s slower.
    local heavy=() crate
    for crate in brotli brotli-decompressor walrus wasm-bindgen-cli-support wasmparser; do
      heavy+=(--config "profile.release.package.$crate.opt-level=3")
    done
    CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_DEBUG=false \
      tool_install --locked "${heavy[@]}" "cargo-leptos@$CARGO_LEPTOS_VERSION"
    log "cargo-leptos installed"
  fi
}

install_wasm_bindgen() {
  # cargo-leptos runs the wasm-bindgen binary on PATH, which must match the wasm-bindgen in
  # Cargo.lock exactly. Installed without --locked: one of its locked dependencies is no longer
  # on the registry.
  local wanted
  wanted=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' "$ROOT/Cargo.lock")
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wanted" ]; then
    log "installing wasm-bindgen-cli $wanted"
    tool_install wasm-bindgen-cli --version "$wanted"
    log "wasm-bindgen-cli installed"
  fi
}

# The test command's Rust test runner: a process and a time limit per test (on most machines
# of this kind it is there already).
install_nextest() {
  if ! cargo nextest --version >/dev/null 2>&1; then
    log "installing cargo-nextest"
    tool_install --locked cargo-nextest
    log "cargo-nextest installed"
  fi
}

install_node_packages() {
  # Playwright (driving Debian's chromium, no browser download) and binaryen's wasm-opt: the
  # npm one, since Debian's binaryen 108 produces WASM that silently fails to hydrate.
  if [ ! -x "$ROOT/end2end/node_modules/.bin/wasm-opt" ] || [ ! -d "$ROOT/end2end/node_modules/@playwright/test" ] \
     || [ "$ROOT/end2end/package-lock.json" -nt "$ROOT/end2end/node_modules/.package-lock.json" ]; then
    log "installing end2end npm packages"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
  # CodeMirror and esbuild, for the code editor's bundle (editor/build.mjs).
  if [ ! -x "$ROOT/editor/node_modules/.bin/esbuild" ] \
     || [ "$ROOT/editor/package-lock.json" -nt "$ROOT/editor/node_modules/.package-lock.json" ]; then
    log "installing editor npm packages"
    (cd "$ROOT/editor" && npm ci --no-audit --no-fund)
  fi
}

# php-src's test runner, run-tests.php, for the tests that run exported .phpt files under it:
# taken from the distribution's PHP development package (Debian ships it in phpX.Y-dev),
# downloaded and unpacked, not installed.
fetch_run_tests_php() {
  local target="$ROOT/target/php-src/run-tests.php"
  [ -s "$target" ] && return 0
  local package work
  package=$(apt-cache pkgnames php 2>/dev/null | grep -E '^php[0-9]+\.[0-9]+-dev$' | sort -V | tail -1 || true)
  if [ -z "$package" ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    package=$(apt-cache pkgnames php | grep -E '^php[0-9]+\.[0-9]+-dev$' | sort -V | tail -1)
  fi
  log "unpacking run-tests.php from $package"
  work=$(mktemp -d)
  (cd "$work" && apt-get download -q "$package" >/dev/null 2>&1 && dpkg-deb -x ./*.deb unpacked)
  mkdir -p "$(dirname "$target")"
  find "$work/unpacked" -name run-tests.php -exec cp {} "$target" \; -quit
  rm -rf "$work"
  [ -s "$target" ] || { log "no run-tests.php in $package"; return 1; }
}

build_images() {
  # debootstrap and chroot need root.
  as_root bash "$ROOT/scripts/build-php-images.sh"
  as_root bash "$ROOT/scripts/build-fixture-images.sh"
}

main() {
  install_packages
  start_docker
  # The images are mostly downloads and the tools mostly compiling: side by side. Their lines
  # interleave; each of the images' starts with its script's name.
  build_images &
  local images=$!
  trap 'kill "$images" 2>/dev/null || true' EXIT
  install_rust_tools
  install_node_packages
  fetch_run_tests_php
  if ! wait "$images"; then
    log "building the PHP images failed (see the lines above)"
    return 1
  fi
  trap - EXIT
}

main "$@"
