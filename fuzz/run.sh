#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 180) each, one after the other, from the seeds in
# fuzz/seeds/<target> plus the (gitignored) working corpus fuzz/corpus/<target>.
# Extra arguments go to libFuzzer, e.g. `fuzz/run.sh 60 -fork=1 -ignore_crashes=1`.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-180}"
shift || true
# cargo fuzz sets RUSTFLAGS itself (so fuzz/.cargo/config.toml is ignored) but appends ours.
export RUSTFLAGS="${RUSTFLAGS:-} -Ctarget-cpu=haswell"
export GMP_MPFR_SYS_CACHE="${GMP_MPFR_SYS_CACHE:-$HOME/.cache/gmp-mpfr-sys}"
mkdir -p "$GMP_MPFR_SYS_CACHE"
failed=()
for t in parse_system_toml parse_system_json parse_expr decimal_literal certificate certificate_claims campaign_input safetensors_header model_config product_matrix run_file; do
    dict=()
    case "$t" in
        parse_system_*) dict=(-dict=fuzz/dicts/system.dict) ;;
        parse_expr) dict=(-dict=fuzz/dicts/expr.dict) ;;
    esac
    mkdir -p "fuzz/corpus/$t"
    echo "=== $t (${secs}s)"
    nice -n 10 cargo fuzz run -s none -a "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 "${dict[@]}" "$@" || failed+=("$t")
done
if ((${#failed[@]})); then
    echo "findings (see fuzz/artifacts/): ${failed[*]}" >&2
    exit 1
fi
