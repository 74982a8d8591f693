#!/usr/bin/env bash
# Checks deploy/evalgrid.service with systemd's own parser: `systemd-analyze verify` on a copy
# whose ExecStart is the server just built (verify wants the program to exist), failing on any
# complaint, since an unknown key or a bad value is only a warning to systemd.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVER=${1:-$ROOT/target/release/server}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|^ExecStart=/usr/local/bin/evalgrid-server|ExecStart=$SERVER|" "$ROOT/deploy/evalgrid.service" \
  >"$dir/evalgrid.service"
said=$(systemd-analyze verify --man=no "$dir/evalgrid.service" 2>&1) || { echo "$said" >&2; exit 1; }
if [ -n "$said" ]; then
  echo "$said" >&2
  exit 1
fi
echo "[service unit] deploy/evalgrid.service verifies; $(systemd-analyze security --offline=yes "$dir/evalgrid.service" 2>/dev/null | tail -1)"
