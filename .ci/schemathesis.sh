#!/usr/bin/env bash
# Checks the control plane against its own OpenAPI document: schemathesis (pinned, from
# PyPI) generates requests from /_userplane/openapi.json and checks every answer (status
# codes and bodies documented, no 5xx, auth honoured) against a real server on a free port
# with a temporary SQLite database and a small world. Bounded in time; any failure fails CI.
#
# The virtualenv lives in target/schemathesis-venv (SCHEMATHESIS_VENV to change it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

version=4.32.5
venv="${SCHEMATHESIS_VENV:-$root/target/schemathesis-venv}"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
    echo "== schemathesis: virtualenv in $venv"
    python3 -m venv "$venv"
    timeout 600 "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

echo "== schemathesis: building userplane"
binary="$(cargo build --quiet --bin userplane --message-format=json-render-diagnostics \
    | "$venv/bin/python" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "userplane":
        print(m["executable"])')"

work="$(mktemp -d)"
port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
admin_token="st-admin-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
# The demo world gives the generated requests real tenants to find.
"$binary" serve --listen "127.0.0.1:$port" --database-url "sqlite://$work/userplane.db" \
    --admin-token "$admin_token" --quiet --auth-failure-limit 0 2>"$work/server.log" &
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

echo "== schemathesis against $base/_userplane/openapi.json"
status=0
timeout 600 "$venv/bin/schemathesis" --config-file "$root/.ci/schemathesis.toml" \
    run "$base/_userplane/openapi.json" \
    --header "Authorization: Bearer $admin_token" \
    --checks all \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}" \
    --seed 1 \
    --no-color "$@" || status=$?
if [ "$status" -ne 0 ]; then
    echo "== server log (last 40 lines)" >&2
    tail -n 40 "$work/server.log" >&2 || true
fi
exit "$status"
