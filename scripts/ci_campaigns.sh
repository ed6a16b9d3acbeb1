#!/usr/bin/env bash
# Bounded fuzz campaigns for CI (a few minutes on 2 cores), with fixed seeds:
# - each theorem (3.2, 4.1, 5.1, 6.1) and the conjecture c6.1: no finding (exit 0);
# - relaxed campaigns of hypotheses that are needed (README, "Fuzz campaigns"): at least one
#   finding (exit 1), and every certificate they write verifies.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=${CARGO_TARGET_DIR:-target}/release/attncert
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for theorem in 3.2 4.1 5.1 6.1 c6.1; do
    echo "=== fuzz --theorem $theorem --cases 1500 --seed 2026"
    "$bin" fuzz --theorem "$theorem" --cases 1500 --seed 2026 | grep -E '^# (.* cases in|classes|findings)'
done
# Seeds and cases whose first findings are known (shard k of k+1 cases runs case k alone).
for relaxed in "5.1 initial-no-antipode 12 1 0/1" "6.1 value-top-eigenvalue-positive 18 3 17/18"; do
    set -- $relaxed
    echo "=== fuzz --theorem $1 --relax $2 --cases $3 --seed $4 --shard $5"
    code=0
    "$bin" fuzz --theorem "$1" --relax "$2" --cases "$3" --seed "$4" --shard "$5" --out "$out/$1" > "$out/$1.txt" || code=$?
    grep -E '^(FINDING|# findings)' "$out/$1.txt" | head -4
    if [ "$code" -ne 1 ]; then
        echo "expected findings (exit 1) from relaxing $2 in theorem $1, got exit $code" >&2
        exit 1
    fi
    certs=("$out/$1"/*.cert.json)
    if [ ! -e "${certs[0]}" ]; then
        echo "no certified counterexample for $1 --relax $2" >&2
        exit 1
    fi
    for c in "${certs[@]}"; do "$bin" verify "$c" | head -1; done
done
