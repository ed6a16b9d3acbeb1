#!/usr/bin/env bash
# Regenerates the golden certificates and the certificate fuzz seeds (after any change to the
# trusted enclosure formulas, whose numbers the checker recomputes). Run from the repository root.
set -euo pipefail
cargo build --release -q
bin=${CARGO_TARGET_DIR:-target}/release/attncert
# Point sets to a claim (E ≤ 1e-6) at the defaults: boxes (`--sets auto` for a point set with
# a target) and a step budget from the claim's margin (0.1·ε per unit time).
common=(--until 40 --until-misalignment 1e-6)
$bin certify theorems/examples/sec7_1.toml --theorem 3.2 "${common[@]}" -o certificates/sec7_1.json
$bin certify theorems/examples/sec7_2.toml --theorem 4.1 "${common[@]}" -o certificates/sec7_2.json
$bin certify theorems/examples/sec7_3.toml --theorem 6.1 "${common[@]}" --order 16 -o certificates/sec7_3.json
# A small certificate for the fuzz targets: a few steps, doubleton sets (box, parallelepiped
# and QR sets are subsets of its fields).
$bin certify theorems/examples/sec7_1.toml --theorem 3.2 --until 0.02 --radius 1e-6 --order 4 --variational-order 4 --tolerance 1e-8 -o fuzz/seeds/certificate/tiny.json
cp fuzz/seeds/certificate/tiny.json fuzz/seeds/certificate_claims/tiny.json
for c in certificates/*.json fuzz/seeds/certificate/tiny.json; do $bin verify "$c"; done
