#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a bounded time (default 20 s each)
# and fails if any crashed, printing each target's executions.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Builds the libFuzzer binaries with cargo and the coverage flags
# cargo-fuzz passes, and runs them directly, rather than through
# `cargo fuzz`: that needs nothing beyond the stable toolchain CI already
# has, where cargo-fuzz is one more install (about 40 s from source) and a
# nightly toolchain for its default address sanitizer. Corral and its
# fuzzed paths are safe Rust, so a run looks for panics, which need no
# sanitizer. What keeps the cold build short is fuzz/Cargo.toml's profile
# (most dependencies unoptimized). `cargo +nightly fuzz run TARGET` (after
# `cargo install cargo-fuzz`) works on the same project, for longer or
# sanitized runs.
#
# Idempotent: the second run rebuilds nothing and only fuzzes. Each
# target starts from its committed seeds in fuzz/corpus/TARGET, copied to
# a scratch corpus under the target dir so runs do not churn the repo;
# a crash leaves its input in fuzz/artifacts/TARGET/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-20}
shift || true

fail() {
    echo "fuzz: $*" >&2
    exit 1
}

[[ "$seconds" =~ ^[0-9]+$ ]] || fail "seconds-per-target must be a whole number, got '$seconds'"
command -v cargo >/dev/null 2>&1 || fail "cargo is missing: install a Rust toolchain (rustup)"
# libfuzzer-sys compiles libFuzzer itself, which is C++.
command -v c++ >/dev/null 2>&1 || command -v clang++ >/dev/null 2>&1 ||
    fail "no C++ compiler (c++ or clang++) to build libFuzzer with: install g++ or clang"

target_dir=${CARGO_TARGET_DIR:-$PWD/target}
host=$(rustc -vV | sed -n 's/^host: //p')
[ -n "$host" ] || fail "cannot tell the host triple from rustc -vV"

# libFuzzer's coverage instrumentation, as cargo-fuzz 0.13 sets it (less
# its -Ccodegen-units=1, which only slows the build, and debug info);
# `--cfg fuzzing` as it does.
# --target keeps these flags off build scripts and proc macros.
export RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
--cfg fuzzing"

echo "== fuzz: building the targets ($host)"
start=$(date +%s)
cargo build --locked --release --bins --target "$host" -j "${CARGO_BUILD_JOBS:-2}"
echo "fuzz: built in $(($(date +%s) - start)) s"

bin_dir="$target_dir/$host/release"
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^corral-fuzz$')
fi
[ ${#targets[@]} -gt 0 ] || fail "no targets in fuzz/Cargo.toml"

failed=()
for t in "${targets[@]}"; do
    [ -x "$bin_dir/$t" ] || fail "no target named '$t' (built: $(ls "$bin_dir" | grep -v '\.d$' | tr '\n' ' '))"
    scratch="$target_dir/fuzz-corpus/$t"
    mkdir -p "$scratch" "artifacts/$t"
    if [ -d "corpus/$t" ]; then
        cp -n corpus/"$t"/* "$scratch"/ 2>/dev/null || true
    fi
    log="$target_dir/fuzz-$t.log"
    echo "== fuzz: $t for ${seconds} s"
    # -rss_limit_mb: a target holding a node (http_master) stays well
    # under it; a leak or a huge allocation fails the run.
    if "$bin_dir/$t" "$scratch" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -artifact_prefix="artifacts/$t/" -print_final_stats=1 >"$log" 2>&1; then
        status=ok
    else
        status=CRASHED
        failed+=("$t")
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    echo "fuzz: $t: $status, ${execs:-?} executions in ${seconds} s, corpus $(ls "$scratch" | wc -l) inputs"
    if [ "$status" != ok ]; then
        grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -n 20 >&2 || true
        echo "fuzz: full log: $log" >&2
    fi
done

[ ${#failed[@]} -eq 0 ] || fail "crashed: ${failed[*]} (inputs in fuzz/artifacts/; see docs/security.md, Fuzzing)"
echo "fuzz: no crashes"
