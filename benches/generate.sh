#!/usr/bin/env bash
# P5 of PERFORMANCE.md: a whole non-interactive generate (Ed25519 key,
# revocation certificate and ladder, escrow to 15 recipients, public export)
# against the same job done with gpg + age, side by side in one run.
#
#   benches/generate.sh            (needs hyperfine, gpg, age; installs them)
set -euo pipefail
cd "$(dirname "$0")/.."
for p in hyperfine gnupg age; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || { apt-get update -qq && apt-get install -y -qq "$p"; }
done
cargo build --release --quiet
kc="$PWD/target/release/keycycle"
work=$(mktemp -d /tmp/kc-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# 15 roots: 12 age recipients, 3 SSH keys.
"$kc" --batch --vault "$work/vault" --time 2026-08-01 init >/dev/null
: > "$work/recipients"
for i in $(seq 1 15); do
    if [ "$i" -le 12 ]; then
        age-keygen -o "$work/r$i.key" 2>/dev/null
        r=$(age-keygen -y "$work/r$i.key")
    else
        ssh-keygen -q -t ed25519 -N '' -f "$work/r$i" 
        r=$(cat "$work/r$i.pub")
    fi
    echo "$r" >> "$work/recipients"
    "$kc" --batch --vault "$work/vault" --time 2026-08-01 roster add --name "Root $i" --email "root$i@example.org" --escrow-recipient "$r" >/dev/null
done

cat > "$work/gpg-job.sh" <<GPG
set -e
export GNUPGHOME=\$(mktemp -d)
g="gpg --batch --pinentry-mode loopback --passphrase '' --quiet"
\$g --quick-gen-key 'OpenStack Infra (2027.1/Indri Cycle) <infra-root@openstack.org>' ed25519 cert 2027-05-28
fpr=\$(\$g --list-keys --with-colons | awk -F: '/^fpr/ {print \$10; exit}')
\$g --quick-add-key \$fpr ed25519 sign 2027-05-28
\$g --armor --export-secret-keys \$fpr | age -R $work/recipients -a > \$GNUPGHOME/primary.age
cp \$GNUPGHOME/openpgp-revocs.d/\$fpr.rev \$GNUPGHOME/rev.asc
age -R $work/recipients -a < \$GNUPGHOME/rev.asc > \$GNUPGHOME/revocation.age
\$g --armor --export \$fpr > \$GNUPGHOME/cert.asc
gpgconf --kill all
rm -rf \$GNUPGHOME
GPG

hyperfine --warmup 3 --runs 20 -N --export-markdown "$work/table.md" \
    --prepare "rm -rf $work/vault/keys/2027.1-*" \
    -n "keycycle generate (15 recipients)" \
    "$kc --batch --vault $work/vault --time 2026-08-01T12:00:00Z generate --cycle next" \
    -n "gpg + age, same job" \
    "bash $work/gpg-job.sh" >/dev/null 2>&1 || true
if [ ! -s "$work/table.md" ]; then
    # Retry without -N (older hyperfine) and show errors.
    hyperfine --warmup 3 --runs 20 --export-markdown "$work/table.md" \
        --prepare "rm -rf $work/vault/keys/2027.1-*" \
        -n "keycycle generate (15 recipients)" \
        "$kc --batch --vault $work/vault --time 2026-08-01T12:00:00Z generate --cycle next" \
        -n "gpg + age, same job" \
        "bash $work/gpg-job.sh"
fi
echo "P5 target: keycycle generate <= 100 ms"
cat "$work/table.md"
