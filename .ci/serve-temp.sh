# Sourced by scripts that drive a real userplane (compat/cloudflare-python/run.sh,
# .ci/schemathesis.sh). Needs `python` set to a Python interpreter.

# Builds userplane and prints the binary's path, as cargo reports it (CARGO_TARGET_DIR,
# a workspace or a config may move it).
userplane_binary() {
    cargo build --quiet --bin userplane --message-format=json-render-diagnostics \
        | "$python" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "userplane":
        print(m["executable"])'
}

# start_userplane BINARY [serve flags...]: serves on a free port with a temporary SQLite
# database and a random admin token, and waits until it answers. Sets `work` (the
# temporary folder, with server.log), `base`, `admin_token` and `server` (its pid); the
# server is stopped and `work` removed on exit.
start_userplane() {
    local binary="$1"
    shift
    work="$(mktemp -d)"
    local port
    port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    admin_token="ci-admin-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
    "$binary" serve --listen "127.0.0.1:$port" --database-url "sqlite://$work/userplane.db" \
        --admin-token "$admin_token" --quiet "$@" 2>"$work/server.log" &
    server=$!
    trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
    base="http://127.0.0.1:$port"
    for _ in $(seq 1 100); do
        if "$python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$base/_userplane/health" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$server" 2>/dev/null; then
            echo "userplane did not start:" >&2
            cat "$work/server.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "userplane did not answer within 10 s" >&2
    exit 1
}
