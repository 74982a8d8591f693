#!/usr/bin/env bash
# Builds real PHP CLI images from Debian packages for machines that cannot pull from Docker Hub.
# Each image is a debootstrap'ed Debian suite with its php-cli (plus mbstring, xml and sqlite3, as
# the official images ship them), imported into the engine and tagged like the official images:
# php:X.Y-cli and php:X.Y.Z-cli. Idempotent: an image whose X.Y tag exists is skipped.
#
# Usage: scripts/build-php-images.sh [7.4 8.2 8.4 8.5]   (default: all four)
set -euo pipefail

MIRROR=${EVALGRID_DEBIAN_MIRROR:-http://deb.debian.org/debian}
WORK=${EVALGRID_IMAGE_WORKDIR:-/var/tmp/evalgrid-images}
# The mirror here is a frozen snapshot: its Release files have expired.
APT_OPTS=(-o Acquire::Check-Valid-Until=false -o APT::Install-Recommends=false -o Dpkg::Use-Pty=0 -q -y)

log() { printf '[php-images] %s\n' "$*" >&2; }

suite_for() {
  case "$1" in
    7.4) echo bullseye ;;
    8.2) echo bookworm ;;
    8.4) echo trixie ;;
    8.5) echo sid ;;
    *) log "no Debian suite known for PHP $1"; return 1 ;;
  esac
}

chroot_apt() {
  local root=$1; shift
  chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get "${APT_OPTS[@]}" "$@"
}

build_one() {
  local minor=$1 suite root
  suite=$(suite_for "$minor")
  if docker image inspect "php:$minor-cli" >/dev/null 2>&1; then
    log "php:$minor-cli exists, skipping"
    return 0
  fi
  # The official image, where Docker Hub can be reached; built from Debian packages otherwise.
  if [ -z "${EVALGRID_BUILD_ONLY:-}" ] && timeout 300 docker pull -q "php:$minor-cli" >/dev/null 2>&1; then
    log "pulled php:$minor-cli from Docker Hub"
    return 0
  fi
  root="$WORK/$minor"
  rm -rf "$root"
  mkdir -p "$root"
  log "debootstrap $suite for PHP $minor into $root"
  debootstrap --variant=minbase "$suite" "$root" "$MIRROR" >"$WORK/$minor.log" 2>&1 \
    || { tail -20 "$WORK/$minor.log" >&2; return 1; }

  if [ "$suite" = sid ]; then
    echo "deb $MIRROR experimental main" >>"$root/etc/apt/sources.list"
  fi
  mount -t proc proc "$root/proc"
  # build_one runs in its own subshell, so EXIT fires when this image is done or has failed.
  trap "umount '$root/proc' 2>/dev/null || true" EXIT
  chroot_apt "$root" update >>"$WORK/$minor.log" 2>&1

  local pkgs
  if [ "$minor" = 8.5 ]; then
    # sid has PHP 8.4 as default; 8.5 lives in experimental, whose php-common conflicts with sid's.
    pkgs="php8.5-cli/experimental php8.5-common/experimental php8.5-readline/experimental
          php8.5-mbstring/experimental php8.5-xml/experimental php8.5-sqlite3/experimental
          php-common/unstable"
  else
    pkgs="php$minor-cli php$minor-mbstring php$minor-xml php$minor-sqlite3"
  fi
  # shellcheck disable=SC2086
  if ! chroot_apt "$root" install $pkgs >>"$WORK/$minor.log" 2>&1; then
    # The snapshot mirror lacks some security updates (bullseye's php7.4-sqlite3): go without it.
    log "WARNING: installing '$pkgs' failed; retrying without the sqlite3 extension"
    pkgs=$(echo "$pkgs" | tr ' ' '\n' | grep -v sqlite3 | tr '\n' ' ')
    # shellcheck disable=SC2086
    chroot_apt "$root" install $pkgs >>"$WORK/$minor.log" 2>&1 || { tail -20 "$WORK/$minor.log" >&2; return 1; }
  fi
  chroot_apt "$root" clean >/dev/null 2>&1 || true
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*
  # Debian installs php as php$minor behind an alternatives link; make sure `php` resolves.
  # (-L as well: the alternatives link is absolute, so it dangles when seen from the host.)
  [ -e "$root/usr/bin/php" ] || [ -L "$root/usr/bin/php" ] || ln -s "php$minor" "$root/usr/bin/php"

  local full
  full=$(chroot "$root" php -r 'echo PHP_VERSION;')
  umount "$root/proc"
  log "PHP $full built; importing"
  tar -C "$root" -c . | docker import \
    --change 'CMD ["php", "-a"]' \
    --change "ENV PHP_VERSION=$full" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "php:$minor-cli" >/dev/null
  docker tag "php:$minor-cli" "php:$full-cli"
  rm -rf "$root"
  log "tagged php:$minor-cli and php:$full-cli"
}

main() {
  local versions=("$@")
  [ ${#versions[@]} -gt 0 ] || versions=(7.4 8.2 8.4 8.5)
  mkdir -p "$WORK"
  local pids=() failed=0
  # Downloads dominate, so the suites build side by side.
  for v in "${versions[@]}"; do
    build_one "$v" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  return $failed
}

main "$@"
