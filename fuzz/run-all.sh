#!/usr/bin/env bash
# Runs every fuzz target (or those named) for N seconds each, two at a time, and prints per
# target: executions, exec/s, coverage (cov/ft), corpus size and crashes.
#
#   fuzz/run-all.sh                 # every target, 600 s each
#   fuzz/run-all.sh 30              # every target, 30 s each
#   fuzz/run-all.sh 600 config      # one target
#
# Environment:
#   FUZZ_PARALLEL   targets run at once (default 2)
#   FUZZ_SANITIZER  none (default) or address (AddressSanitizer: works on stable with
#                   RUSTC_BOOTSTRAP=1, set here; about 3x slower; a separate full build)
#   FUZZ_TOOLCHAIN  e.g. nightly: runs `cargo +nightly fuzz …` (default: the default toolchain
#                   with RUSTC_BOOTSTRAP=1, which cargo-fuzz's -Z flags need on stable)
#   FUZZ_NICE       niceness of the runs (default 19: other work on the machine comes first)
#   FUZZ_ARGS       extra libFuzzer arguments, e.g. "-max_len=8192"
#
# New inputs go to fuzz/work/<target>/ (ignored by git); the committed seeds in
# fuzz/corpus/<target>/ are read, never written. Crashes, timeouts and OOMs are written to
# fuzz/artifacts/<target>/; logs to fuzz/logs/<target>.log. The exit status is 1 when any target
# crashed. libFuzzer stops a target at its first crash: minimise it with `cargo fuzz tmin`.
set -euo pipefail

cd "$(dirname "$0")"

seconds="${1:-600}"
shift || true
parallel="${FUZZ_PARALLEL:-2}"
sanitizer="${FUZZ_SANITIZER:-none}"
niceness="${FUZZ_NICE:-19}"
extra=()
if [[ -n "${FUZZ_ARGS:-}" ]]; then
    read -r -a extra <<<"${FUZZ_ARGS}"
fi

cargo_fuzz=(cargo)
if [[ -n "${FUZZ_TOOLCHAIN:-}" ]]; then
    cargo_fuzz+=("+${FUZZ_TOOLCHAIN}")
else
    export RUSTC_BOOTSTRAP=1
fi
cargo_fuzz+=(fuzz)
flags=(--sanitizer "${sanitizer}" --debug-assertions)
if [[ "${sanitizer}" != none ]]; then
    # Instrumented differently: a build of its own, so the two do not overwrite each other.
    flags+=(--target-dir "target/${sanitizer}")
fi

if ! command -v cargo-fuzz >/dev/null; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <("${cargo_fuzz[@]}" list)
fi

echo "building the targets (sanitizer ${sanitizer})…" >&2
nice -n "${niceness}" "${cargo_fuzz[@]}" build "${flags[@]}" >&2

mkdir -p logs
run_one() {
    local target="$1"
    mkdir -p "work/${target}" "artifacts/${target}"
    # stdin from /dev/null: nothing a target does may wait on the terminal.
    nice -n "${niceness}" "${cargo_fuzz[@]}" run "${flags[@]}" "${target}" \
        "work/${target}" "corpus/${target}" -- \
        -max_total_time="${seconds}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "${extra[@]}" </dev/null >"logs/${target}.log" 2>&1 || true
}

for target in "${targets[@]}"; do
    while [[ $(jobs -rp | wc -l) -ge ${parallel} ]]; do
        wait -n || true
    done
    echo "fuzzing ${target} for ${seconds} s…" >&2
    run_one "${target}" &
done
wait

status=0
printf '%-22s %12s %8s %7s %8s %10s %8s\n' target executions exec/s cov ft corpus crashes
for target in "${targets[@]}"; do
    log="logs/${target}.log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "${log}" | tail -n1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "${log}" | tail -n1)
    last=$(grep -E '^#[0-9]+.*cov: ' "${log}" | tail -n1 || true)
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"${last}")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"${last}")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"${last}")
    crashes=$(find "artifacts/${target}" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) 2>/dev/null | wc -l)
    if [[ ${crashes} -gt 0 ]] || grep -q -E '^==[0-9]+== ERROR: libFuzzer|panicked at' "${log}"; then
        status=1
    fi
    printf '%-22s %12s %8s %7s %8s %10s %8s\n' "${target}" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "${crashes}"
done
echo "corpus: entries/size in memory at the end (libFuzzer's corp:); logs in fuzz/logs/" >&2
exit "${status}"
