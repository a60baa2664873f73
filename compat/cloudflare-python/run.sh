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
# Ask cargo where it put the binary (CARGO_TARGET_DIR, a workspace or a config may move it).
binary="$(cargo build --quiet --bin userplane --message-format=json-render-diagnostics \
    | "$venv/bin/python" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "userplane":
        print(m["executable"])')"
if [ ! -x "$binary" ]; then
    echo "cargo built no userplane binary" >&2
    exit 1
fi

work="$(mktemp -d)"
port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
admin_token="compat-admin-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
"$binary" serve --listen "127.0.0.1:$port" --database-url "sqlite://$work/userplane.db" --no-demo \
    --admin-token "$admin_token" --world "$here/world.json" --quiet 2>"$work/server.log" &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    if "$venv/bin/python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$base/_userplane/health" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$server" 2>/dev/null; then
        echo "userplane did not start:" >&2
        cat "$work/server.log" >&2
        exit 1
    fi
    sleep 0.1
done

echo "== cloudflare compat: pytest against $base"
status=0
USERPLANE_URL="$base" USERPLANE_ADMIN_TOKEN="$admin_token" \
    timeout 600 "$venv/bin/python" -m pytest -q -p no:cacheprovider "$here" "$@" || status=$?
if [ "$status" -ne 0 ]; then
    echo "== server log (last 40 lines)" >&2
    tail -n 40 "$work/server.log" >&2 || true
fi
exit "$status"
