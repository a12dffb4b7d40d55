#!/usr/bin/env bash
# Fuzz dlcot's Rust core: every cargo-fuzz target (rust/fuzz/fuzz_targets/) for SECONDS each.
#
#   bench/fuzz.sh [SECONDS] [TARGET ...]      # default: 600 s (10 min) for each target
#   nice -n 10 bench/fuzz.sh 300 parse equiv  # a shorter run of two targets, at low priority
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a C++ compiler (libFuzzer is built from
# source). cargo-fuzz needs nightly flags (-Zsanitizer=address, sanitizer coverage); on the
# stable toolchain `RUSTC_BOOTSTRAP=1` unlocks them, which this script sets. The seed corpora
# are made first from real traces (rust/fuzz/seeds.py); what the fuzzer adds to them is kept
# in rust/fuzz/corpus/ (git-ignored), so a second run starts where the first stopped.
#
# One job, one worker per target, one target at a time (the machine is shared). The per-unit
# time limit is 60 s: units take milliseconds, but a loaded 2-core machine once stalled a 5 ms
# unit for 24 s, a false timeout. A crash stops
# that target, leaves its input in rust/fuzz/artifacts/TARGET/ and makes the script exit 1;
# replay it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir rust/fuzz TARGET rust/fuzz/artifacts/TARGET/crash-...
# and turn it into a unit test in the Rust file that failed (see rust/fuzz/README.md).
# Prints one line per target: executions, executions per second, coverage, corpus size.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-600}
shift || true
export RUSTC_BOOTSTRAP=1
FUZZ=rust/fuzz
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
    exit 2
fi
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir "$FUZZ")
fi

python3 "$FUZZ/seeds.py"
cargo fuzz build --fuzz-dir "$FUZZ"

logs="$FUZZ/artifacts/logs"
mkdir -p "$logs"
status=0
printf '%-8s %12s %10s %8s %8s  %s\n' target execs exec/s cov corpus result
for t in "${targets[@]}"; do
    log="$logs/$t.log"
    rc=0
    cargo fuzz run --fuzz-dir "$FUZZ" "$t" -- \
        -max_total_time="$secs" -max_len=16384 -timeout=60 -rss_limit_mb=2048 \
        -dict="$FUZZ/dlcot.dict" -print_final_stats=1 >"$log" 2>&1 || rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.*corp: \([0-9]*\).*/\1/p' <<<"$last")
    if [ "$rc" -eq 0 ]; then
        result=ok
    else
        result="FAILED (exit $rc): $(grep -m1 -E 'panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer' "$log" || true); log $log"
        status=1
    fi
    printf '%-8s %12s %10s %8s %8s  %s\n' "$t" "$execs" "$rate" "${cov:-?}" "${corp:-?}" "$result"
done
exit $status
