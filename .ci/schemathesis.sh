#!/usr/bin/env bash
# Checks the control plane against its own OpenAPI document: schemathesis (pinned, from
# PyPI) generates requests from /_userplane/openapi.json and checks every answer (status
# codes and bodies documented, no 5xx, auth honoured) against a real server on a free port
# with a temporary SQLite database and a small world. Every check runs (`[checks]` in the
# .toml). Bounded in time; any failure fails CI.
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
python="$venv/bin/python"
source "$root/.ci/serve-temp.sh"
binary="$(userplane_binary)"
# The demo world gives the generated requests real tenants to find.
start_userplane "$binary" --auth-failure-limit 0

echo "== schemathesis against $base/_userplane/openapi.json"
status=0
# From the temporary folder: schemathesis keeps a cache in its working directory.
cd "$work"
timeout 600 "$venv/bin/schemathesis" --config-file "$root/.ci/schemathesis.toml" \
    run "$base/_userplane/openapi.json" \
    --header "Authorization: Bearer $admin_token" \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}" \
    --seed 1 \
    --no-color "$@" || status=$?
if [ "$status" -ne 0 ]; then
    echo "== server log (last 40 lines)" >&2
    tail -n 40 "$work/server.log" >&2 || true
fi
exit "$status"
