#!/usr/bin/env bash
# Makes assets/fonts/DejaVuSans-subset.ttf, the font `attncert plot` lays out and draws its text
# with (registered at run time: no fontconfig needed), from Debian's fonts-dejavu-core.
# Kept: Basic Latin, Latin-1, Greek, general punctuation, super- and subscripts, the modifier
# letter ᵀ, simple arrows, mathematical operators and geometric shapes (○ ●). Dropped: hinting and OpenType layout tables
# (plotters draws glyph by glyph, ab_glyph ignores hinting). About 10× smaller than the font.
# Needs fonttools (`pip install fonttools`) and `apt-get install fonts-dejavu-core`.
set -euo pipefail
src=${1:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}
out=$(dirname "$0")/../assets/fonts/DejaVuSans-subset.ttf
pyftsubset "$src" \
  --unicodes='U+0020-007E,U+00A0-00FF,U+0370-03FF,U+1D40,U+2010-205E,U+2070-209F,U+2190-2195,U+2200-22FF,U+25A0-25FF' \
  --no-hinting --layout-features='' --name-IDs='*' --name-languages='*' --notdef-outline \
  --output-file="$out"
cp /usr/share/doc/fonts-dejavu-core/copyright "$(dirname "$0")/../assets/fonts/LICENSE-DejaVu.txt" 2>/dev/null || true
ls -l "$out"
