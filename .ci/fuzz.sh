#!/usr/bin/env bash
# CI: the fuzz targets (fuzz/) for body, query and id parsing, each for a bounded time;
# fails on a crash (a panic, an assertion, a timeout or out-of-memory in one input).
#
# cargo-fuzz needs nightly flags; the pinned stable toolchain takes them with
# RUSTC_BOOTSTRAP=1. The targets run without a sanitizer: the crate forbids unsafe code,
# so what is looked for is a panic, which libFuzzer reports as a crash.
#
#   FUZZ_SECONDS  time per target (default 45; 3 targets)
#   FUZZ_CACHE    where the instrumented build and the corpus are kept between runs
#                 (default /var/cache/userplane-fuzz: outside the clone, so CI's fresh
#                 clones reuse the build, ~1 min, instead of a cold one of several minutes)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-45}"
cache="${FUZZ_CACHE:-/var/cache/userplane-fuzz}"
mkdir -p "$cache/target" "$cache/corpus"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

echo "== fuzz build"
cargo fuzz build --fuzz-dir fuzz --sanitizer none --target-dir "$cache/target"

for target in $(cargo fuzz list --fuzz-dir fuzz); do
    echo "== fuzz $target (${seconds}s)"
    mkdir -p "$cache/corpus/$target"
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: over 2 GB is a leak.
    # libFuzzer prints a line per new input: kept in a log, shown in full only on a crash.
    log="$cache/$target.log"
    if ! cargo fuzz run --fuzz-dir fuzz --sanitizer none --target-dir "$cache/target" "$target" "$cache/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=70000 -print_final_stats=1 >"$log" 2>&1; then
        cat "$log"
        echo "FAIL: fuzz target $target crashed (the input is under fuzz/artifacts/$target)" >&2
        exit 1
    fi
    grep -E '^Done|^stat::number_of_executed_units' "$log" || true
done
echo "== fuzz: no crash"
