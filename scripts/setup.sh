#!/usr/bin/env bash
# Installs what a fresh Debian machine with the Rust toolchain lacks to build attncert:
# `m4`, which inari's GMP/MPFR build (gmp-mpfr-sys) needs. Idempotent; prints nothing when done.
set -euo pipefail
if ! command -v m4 >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq m4 >/dev/null
fi
