#!/usr/bin/env bash
# The main job on the embedded OpenStack defaults, non-interactively:
# a fresh vault, the DEMO roster from examples/demo-roster (public test
# identities, see its README), the next cycle's key generated and escrowed,
# its status, and the openstack/releases text file for it.
#
#   ./examples/demo-ceremony.sh [VAULT_DIR]      (default: ./demo-vault)
#
# Add --time to the KEYCYCLE_ARGS environment variable to plan as of
# another date, e.g. KEYCYCLE_ARGS="--time 2026-08-01".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
vault="${1:-demo-vault}"
roster="$here/demo-roster"

cargo build --release --quiet --manifest-path "$here/../Cargo.toml"
kc() { "${CARGO_TARGET_DIR:-$here/../target}/release/keycycle" --batch --vault "$vault" ${KEYCYCLE_ARGS:-} "$@"; }

if [ -e "$vault" ]; then
    echo "$vault exists; remove it or pass another directory" >&2
    exit 1
fi
kc init
kc roster add --name "Ada (demo)" --email ada@demo.invalid --escrow-recipient "@$roster/ada.age.pub"
kc roster add --name "Grace (demo)" --email grace@demo.invalid --escrow-recipient "@$roster/grace.age.pub"
kc roster add --name "Linus (demo)" --email linus@demo.invalid --escrow-recipient "@$roster/linus_ssh.pub"
kc cycles
# The whole ceremony, unattended: every question answered by a flag. It
# does not publish (--no-publish: no keyserver needed for the demo).
kc ceremony --cycle next --confirm-roster --fingerprint-read \
    --identity "$roster/ada.agekey" --no-publish \
    --releases-done --subkey-out "$vault-signing-subkey.asc"
kc status next
echo
echo "Done. The vault is in $vault (public exports in $vault/exports/);"
echo "the signing subkey for CI is $vault-signing-subkey.asc."
echo "Open the escrow as a (demo) root would:"
echo "  age -d -i $roster/ada.agekey $vault/keys/*/primary.age | gpg --show-keys"
