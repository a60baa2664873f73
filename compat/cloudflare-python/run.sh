#!/usr/bin/env bash
# Drives the official Cloudflare Python SDK (5.9.0) against a real userplane: builds the
# server, starts it on a free port with a temporary SQLite database and the tenants of
# world.json, runs pytest, stops the server. The exit code is pytest's.
#
#   compat/cloudflare-python/run.sh [pytest args...]
#
# The virtualenv lives in target/cloudflare-compat-venv (CF_COMPAT_VENV to change it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

venv="${CF_COMPAT_VENV:-$root/target/cloudflare-compat-venv}"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$stamp"; then
    echo "== cloudflare compat: virtualenv in $venv"
    python3 -m venv "$venv"
    timeout 300 "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$stamp"
fi

echo "== cloudflare compat: building userplane"
python="$venv/bin/python"
source "$root/.ci/serve-temp.sh"
binary="$(userplane_binary)"
if [ ! -x "$binary" ]; then
    echo "cargo built no userplane binary" >&2
    exit 1
fi
start_userplane "$binary" --no-demo --world "$here/world.json"

echo "== cloudflare compat: pytest against $base"
status=0
USERPLANE_URL="$base" USERPLANE_ADMIN_TOKEN="$admin_token" \
    timeout 600 "$venv/bin/python" -m pytest -q -p no:cacheprovider "$here" "$@" || status=$?
if [ "$status" -ne 0 ]; then
    echo "== server log (last 40 lines)" >&2
    tail -n 40 "$work/server.log" >&2 || true
fi
exit "$status"
