#!/usr/bin/env bash
# The attncert side of the tightness table (README, Tightness; issue 15) and the true widths:
# for each row, `certify` with the defaults (doubleton sets, tolerance from the set's width),
# its final width and CPU time, then the first-order true width (bench/true_width.rs).
# Run from the repository root; `--quick` skips the true widths (the slow part at T = 20).
set -euo pipefail
cargo build --release -q
cargo bench --bench true_width --no-run -q 2>/dev/null
bin=${CARGO_TARGET_DIR:-target}/release/attncert
rows=(
  "theorems/examples/sec7_1.toml 1 1e-6"
  "theorems/examples/sec7_1.toml 5 1e-6"
  "theorems/examples/sec7_1.toml 20 1e-6"
  "theorems/examples/sec7_1.toml 1 0"
  "bench/systems/tight_20x3.toml 1 1e-6"
  "bench/systems/tight_30x3.toml 1 1e-6"
)
# Options for certify: the script's own, less --quick (an empty word would reach certify).
extra=()
for a in "$@"; do [[ $a == --quick ]] || extra+=("$a"); done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for row in "${rows[@]}"; do
  read -r file until radius <<<"$row"
  # User CPU seconds of the whole process (robust to a shared machine, unlike wall time).
  /usr/bin/time -f "%U" -o "$out/time" "$bin" certify "$file" --theorem 3.2 --until "$until" --radius "$radius" "${extra[@]}" -o "$out/c.json" >"$out/log" 2>&1 || true
  width=$(grep -o 'final enclosure width [^;]*' "$out/log" | awk '{print $4}')
  steps=$(grep -o '^[0-9]* steps' "$out/log" | awk '{print $1}')
  echo "$file T=$until r=$radius: width $width, $steps steps, $(cat "$out/time") s CPU"
  if [[ " $* " != *" --quick "* && "$radius" != 0 ]]; then
    cargo bench -q --bench true_width -- "$file" "$until" "$radius" 2>/dev/null | sed 's/^/    /'
  fi
done
