#!/usr/bin/env bash
# The console in a real browser: installs Debian's Chromium (apt) and playwright-core
# (npm ci, pinned by tests/browser/package-lock.json) when missing, builds userplane and
# runs tests/browser/console.test.mjs, which starts `userplane serve` on a free port with
# a temporary database and the demo world and stops it again. Screenshots go to
# target/ci-artifacts/console/ (ARTIFACTS to change it). Fails loudly if anything is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

echo "== browser: prerequisites"
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
    if ! command -v apt-get >/dev/null; then
        echo "no Chromium at $chromium and no apt-get to install it (set CHROMIUM)" >&2
        exit 1
    fi
    timeout 600 apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq chromium >/dev/null
fi
[ -x "$chromium" ] || { echo "Chromium is still missing at $chromium" >&2; exit 1; }
"$chromium" --version 2>/dev/null || true
for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "$tool is required (Node.js 20 or later)" >&2; exit 1; }
done
(cd tests/browser && timeout 300 npm ci --no-audit --no-fund --loglevel=error)

echo "== browser: building userplane"
cargo build --quiet --bin userplane
binary="$(cargo metadata --format-version 1 --no-deps | node -e \
    'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).target_directory))')/debug/userplane"
[ -x "$binary" ] || { echo "cargo built no userplane binary at $binary" >&2; exit 1; }

echo "== browser: console in headless Chromium"
export USERPLANE_BIN="$binary" CHROMIUM="$chromium" ARTIFACTS="${ARTIFACTS:-$root/target/ci-artifacts/console}"
(cd tests/browser && timeout 180 node console.test.mjs)
echo "== browser: screenshots in $ARTIFACTS"
