#!/usr/bin/env bash
# The whole test suite: what CI runs and what a new contributor runs.
# Installs the Debian packages the tests need when they are missing, then
# tests both crypto backends. Interop tests never skip: a missing tool is
# installed here or the run fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: interop peers (gnupg, sqv, sq, age, sks, ssh-keygen) and
# what the crypto-openssl build needs.
packages=(gnupg sqv sq age sks openssh-client pkg-config libssl-dev libclang1-14 libclang-common-14-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "== installing: ${missing[*]}"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
        sudo=sudo
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${missing[@]}"
fi
for tool in gpg sqv sq age age-keygen ssh-keygen; do
    command -v "$tool" >/dev/null || { echo "missing $tool after install" >&2; exit 1; }
done

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== cargo test (crypto-rust, the default build)"
cargo test --locked 2>&1 | tee -a "$log"

echo "== cargo test (crypto-openssl, the production build)"
cargo test --locked --no-default-features --features crypto-openssl 2>&1 | tee -a "$log"

# One closing line for both runs (pipefail above already failed on errors).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "keycycle: %d passed, %d failed\n", p, f; exit (f > 0 || p == 0) }' "$log"
