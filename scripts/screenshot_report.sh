#!/usr/bin/env bash
# Certifies a system, renders the HTML report of the certificate and screenshots it in headless
# Chromium, to look at the report as a reader does. Run from the repository root:
#
#   scripts/screenshot_report.sh SYSTEM.toml THEOREM OUT.png [certify options...]
#
# e.g.  scripts/screenshot_report.sh theorems/examples/sec7_1.toml 3.2 /tmp/sec7_1.png
#       scripts/screenshot_report.sh theorems/examples/sec7_3.toml 6.1 /tmp/sec7_3.png --order 16
#
# Writes OUT.png and, beside it, the certificate (OUT.json) and the report (OUT.html). The
# certify options default to --until 40 --until-misalignment 1e-6 (the run of
# scripts/goldens.sh); options given after OUT.png are added to them. HEIGHT (default 2600) is the screenshot's
# height in pixels: Chromium captures the window, not the whole page.
# Chromium on Debian: apt-get install chromium.
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n '5p' "$0" | sed 's/^#  *//' >&2
    exit 2
fi
system=$1 theorem=$2 out=$3
shift 3
base=${out%.png}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "no Chromium found (Debian: apt-get install chromium)" >&2
    exit 2
fi

cargo build --release -q
bin=${CARGO_TARGET_DIR:-target}/release/attncert
# A partial certificate (the flow could not be enclosed to the end) still has a report: only a
# missing file stops here.
rm -f "$base.json"
"$bin" certify "$system" --theorem "$theorem" --until 40 --until-misalignment 1e-6 "$@" -o "$base.json" || [ -s "$base.json" ]
"$bin" report "$base.json" -o "$base.html"

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
    --disable-sync --no-first-run --user-data-dir="$profile" \
    --screenshot="$out" --window-size="1200,${HEIGHT:-2600}" "file://$(realpath "$base.html")" 2>/dev/null
echo "wrote $out (report $base.html, certificate $base.json)"
