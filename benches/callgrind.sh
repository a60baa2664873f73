#!/usr/bin/env bash
# Instructions per request, by route, counted by callgrind: repeatable whatever else the
# machine does (a count, not a time), so two builds can be compared exactly.
#
#   bash benches/callgrind.sh [BINARY] [REQUESTS]     (default: target/release/userplane, 400)
#
# The server runs under valgrind on a fresh SQLite file with a 64-user Zoom tenant and a
# Cloudflare account; each route is warmed up (so caches hold what they would under load),
# then REQUESTS requests go over one keep-alive connection (curl) with collection on.
# Writes target a different user each time, as the load benchmark's do.
set -euo pipefail
binary=${1:-target/release/userplane}
requests=${2:-400}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install -y valgrind)" >&2; exit 1; }
command -v callgrind_control >/dev/null || { echo "callgrind_control is needed (valgrind)" >&2; exit 1; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
admin=callgrind-admin
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/out.%p" \
  "$binary" serve --quiet --no-demo --admin-token "$admin" --database-url "sqlite://$work/db.sqlite" \
  --listen "127.0.0.1:$port" 2>"$work/valgrind.log" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do curl -sf "$base/_userplane/health" >/dev/null && break; sleep 0.1; done

users=64
account=cgzoom
python3 - "$account" "$users" >"$work/zoom.json" <<'EOF'
import json, sys
account, n = sys.argv[1], int(sys.argv[2])
users = [{"email": "owner@bench.example", "type": 2, "role": "owner"}]
for i in range(n):
    users.append({"email": f"user{i}@bench.example", "first_name": "User", "last_name": str(i), "type": 2,
                  "assistants": [f"helper{i}@bench.example"]})
    users.append({"email": f"helper{i}@bench.example", "type": 2})
print(json.dumps({"provider": "zoom", "account_id": account, "plan": "enterprise", "rate_limits": "off",
                  "apps": [{"client_id": f"{account}-app", "client_secret": "callgrind-secret",
                            "scopes": ["user:read:admin", "user:write:admin"]}], "users": users}))
EOF
cf=0123456789abcdef0123456789abcdef
python3 - "$cf" "$users" >"$work/cf.json" <<'EOF'
import json, sys
account, n = sys.argv[1], int(sys.argv[2])
print(json.dumps({"provider": "cloudflare", "account_id": account, "rate_limits": "off",
                  "api_tokens": [{"value": f"{account}-token",
                                  "permissions": ["Access: Organizations, Identity Providers, and Groups Write"]}],
                  "users": [{"email": f"user{i}@bench.example", "name": f"User {i}"} for i in range(n)]}))
EOF
for doc in zoom cf; do
  curl -sf -X POST "$base/_userplane/tenants" -H "authorization: Bearer $admin" \
    -H 'content-type: application/json' --data-binary "@$work/$doc.json" >/dev/null
done
token=$(curl -sf -X POST -u "$account-app:callgrind-secret" \
  "$base/oauth/token?grant_type=account_credentials&account_id=$account" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# One curl config per route: REQUESTS requests, user i mod 64, each with its own headers
# (a `next` section does not inherit command-line options).
config() { # method path-template(with %d) body-template auth-header
  local method=$1 path=$2 body=$3 auth=$4 i
  for ((i = 0; i < requests; i++)); do
    local user=$((i % users)) action=deactivate
    # ACTION alternates by round, so a status change is a change every time.
    if (((i / users) % 2)); then action=activate; fi
    if ((i > 0)); then echo next; fi
    # shellcheck disable=SC2059
    echo "url = \"$base$(printf "$path" "$user")\""
    echo "request = \"$method\""
    echo "output = /dev/null"
    echo "header = \"$auth\""
    echo "header = \"content-type: application/json\""
    if [[ -n $body ]]; then echo "data = \"$(printf "$body" "$user" | sed "s/ACTION/$action/; s/\"/\\\\\"/g")\""; fi
  done
}
measure() { # name method path [body] [auth-header]
  local name=$1 method=$2 path=$3 body=${4:-} auth=${5:-"authorization: Bearer $token"}
  config "$method" "$path" "$body" "$auth" >"$work/requests.cfg"
  curl -s -K "$work/requests.cfg" # warm-up
  callgrind_control -z "$server" >/dev/null 2>&1
  callgrind_control -i on "$server" >/dev/null 2>&1
  curl -s -K "$work/requests.cfg"
  callgrind_control -i off "$server" >/dev/null 2>&1
  rm -f "$work"/out.*
  callgrind_control -d "$server" >/dev/null 2>&1
  for _ in $(seq 1 100); do compgen -G "$work/out.*" >/dev/null && break; sleep 0.1; done
  sleep 0.5 # the dump is written after the command returns
  local total background
  total=$(cat "$work"/out.* | awk '/^(summary|totals):/ {s += $2} END {print s + 0}')
  # The checkpointer thread's passes are off the request's path, and how many a run of
  # sequential requests gets (one per write, sorting the WAL's index each time) is not
  # what it gets under load (one per 10 ms): counted apart.
  background=$(callgrind_annotate --inclusive=yes "$work"/out.* 2>/dev/null |
    awk '/run_checkpointer/ {gsub(",", "", $1); s += $1} END {print s + 0}')
  # CALLGRIND_KEEP=DIR keeps each route's profile, for callgrind_annotate.
  if [[ -n ${CALLGRIND_KEEP:-} ]]; then mkdir -p "$CALLGRIND_KEEP" && cat "$work"/out.* >"$CALLGRIND_KEEP/${name//[^A-Za-z0-9]/_}.out"; fi
  printf '%-46s %8d instructions per request (+ %6d in background checkpoints)\n' "$name" \
    $(((total - background) / requests)) $((background / requests))
}

echo "callgrind: $binary, $requests requests per route after a warm-up, SQLite"
measure "GET /_userplane/health (null route)" GET "/_userplane/health" "" "x-none: 1"
measure "GET /v2/users/{userId}" GET "/v2/users/user%d@bench.example"
measure "DELETE /v2/users/{userId}/token" DELETE "/v2/users/user%d@bench.example/token"
measure "PUT /v2/users/{userId}/status" PUT "/v2/users/user%d@bench.example/status" '{"action":"ACTION"}'
measure "DELETE /v2/users/{userId}/assistants" DELETE "/v2/users/user%d@bench.example/assistants"
measure "POST …/access/organizations/revoke_user" POST "/client/v4/accounts/$cf/access/organizations/revoke_user" \
  '{"email":"user%d@bench.example"}' "authorization: Bearer $cf-token"
