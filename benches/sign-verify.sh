#!/usr/bin/env bash
# P1-P4 of PERFORMANCE.md in one run, side by side:
#   P1 sign a 1 GiB artifact vs `openssl dgst -sha256` and gpg (same key)
#   P2 sign 1000 x 4 KiB in one call vs a gpg-per-file loop
#   P3 verify 1000 signatures in one call vs gpg --verify and sqv loops
#   P4 peak memory signing / verifying 1 GiB (sqv for comparison)
#
#   benches/sign-verify.sh [SIZE_MIB]     (default 1024)
#
# Runs in a tmpfs (/dev/shm): on this sandboxed VM creating a file on the
# root filesystem costs ~1 ms (measured), which would dominate any tool that
# writes 1000 new signature files. One extra row shows keycycle on the disk.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib="${1:-1024}"
for p in hyperfine gnupg sqv age time openssl python3; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || { apt-get update -qq && apt-get install -y -qq "$p"; }
done
cargo build --release --quiet
kc="$PWD/target/release/keycycle"
work=$(mktemp -d /dev/shm/kc-bench.XXXXXX)
disk=$(mktemp -d /tmp/kc-bench-disk.XXXXXX)
trap 'gpgconf --homedir "$work/gnupg" --kill all 2>/dev/null || true; rm -rf "$work" "$disk"' EXIT
cd "$work"

# A cycle key made yesterday, its signing subkey exported for the node.
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
made=$(date -u -d '1 day ago' +%Y-%m-%dT%H:%M:%SZ)
age-keygen -o root.key 2>/dev/null
"$kc" --batch --vault v --time "$made" init >/dev/null
"$kc" --batch --vault v --time "$made" roster add --name Root --email root@example.org --escrow-recipient "$(age-keygen -y root.key)" >/dev/null
"$kc" --batch --vault v --time "$made" generate --cycle next >/dev/null
"$kc" --batch --vault v --time "$now" export signing-subkey next --identity root.key -o subkey.asc 2>/dev/null
cp v/keys/*/cert.asc cert.asc
export GNUPGHOME="$work/gnupg"; mkdir -m 700 "$GNUPGHOME"
gpg -q --batch --import subkey.asc 2>/dev/null

echo "== data: ${size_mib} MiB artifact, 1000 x 4 KiB artifacts"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > big.tar.gz
mkdir small
for i in $(seq 1 1000); do head -c 4096 /dev/urandom > "small/a$i.whl"; done
cat > gpg-sign-loop.sh <<'S'
for f in small/*.whl; do gpg -q --batch --yes --pinentry-mode error --armor --detach-sign -o "$f.gpg.asc" "$f"; done
S
cat > gpg-verify-loop.sh <<'S'
for f in small/*.whl; do gpg -q --batch --verify "$f.asc" "$f" 2>/dev/null; done
S
cat > sqv-verify-loop.sh <<'S'
for f in small/*.whl; do sqv --keyring cert.asc "$f.asc" "$f" >/dev/null; done
S

hf() { hyperfine -N --style none --export-json "$1" "${@:2}" >/dev/null 2>&1 || hyperfine --style none --export-json "$1" "${@:2}" >/dev/null; }

echo "== P1 sign ${size_mib} MiB"
hf p1.json --warmup 1 --runs 5 \
  -n "openssl dgst -sha256" "openssl dgst -sha256 big.tar.gz" \
  -n "keycycle sign" "$kc --batch sign --overwrite --key subkey.asc big.tar.gz" \
  -n "gpg --detach-sign" "gpg --batch --yes --pinentry-mode error --armor --detach-sign -o big.gpg.asc big.tar.gz"
echo "== P2 sign 1000 x 4 KiB"
hf p2.json --warmup 1 --runs 5 \
  -n "keycycle sign (one call)" "$kc --batch sign --overwrite --key subkey.asc --recursive small" \
  -n "gpg loop" "bash gpg-sign-loop.sh"
echo "== P2 on the root filesystem (keycycle only)"
cp -r small "$disk/small"
hf p2disk.json --warmup 1 --runs 5 --prepare "find $disk/small -name '*.asc' -delete" \
  -n "keycycle sign on disk" "$kc --batch sign --key subkey.asc --recursive $disk/small"
echo "== P3 verify 1000"
"$kc" --batch sign --overwrite --key subkey.asc --recursive small >/dev/null
gpg -q --batch --import cert.asc 2>/dev/null
hf p3.json --warmup 1 --runs 5 \
  -n "keycycle verify (one call)" "$kc --batch verify --cert cert.asc $(echo small/*.whl)" \
  -n "gpg --verify loop" "bash gpg-verify-loop.sh" \
  -n "sqv loop" "bash sqv-verify-loop.sh"
echo "== P4 peak memory, ${size_mib} MiB"
"$kc" --batch sign --overwrite --key subkey.asc big.tar.gz >/dev/null
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
m_sign=$(rss "$kc" --batch sign --overwrite --key subkey.asc big.tar.gz)
m_verify=$(rss "$kc" --batch verify --cert cert.asc big.tar.gz)
m_sqv=$(rss sqv --keyring cert.asc big.tar.gz.asc big.tar.gz)

python3 - "$m_sign" "$m_verify" "$m_sqv" <<'PY'
import json, sys
def load(f):
    return {r["command"]: r for r in json.load(open(f))["results"]}
def med(r): return r["median"]
p1, p2, p3 = load("p1.json"), load("p2.json"), load("p3.json")
rows = []
ks, od, gs = med(p1["keycycle sign"]), med(p1["openssl dgst -sha256"]), med(p1["gpg --detach-sign"])
rows.append(("P1", "sign 1 artifact", f"{ks:.3f} s", f"openssl dgst {od:.3f} s, gpg {gs:.3f} s",
             f"{ks/od:.2f} x openssl (<= 1.05), {ks/gs:.2f} x gpg (<= 0.6)"))
k2, g2 = med(p2["keycycle sign (one call)"]), med(p2["gpg loop"])
rows.append(("P2", "sign 1000 x 4 KiB", f"{k2:.3f} s", f"gpg loop {g2:.2f} s", f"{g2/k2:.0f} x faster (>= 40)"))
kd = med(load("p2disk.json")["keycycle sign on disk"])
rows.append(("P2'", "the same on the root fs", f"{kd:.3f} s", "(file creation ~1 ms each)", f"{g2/kd:.0f} x the tmpfs gpg loop"))
k3, g3, s3 = med(p3["keycycle verify (one call)"]), med(p3["gpg --verify loop"]), med(p3["sqv loop"])
rows.append(("P3", "verify 1000", f"{k3:.3f} s", f"gpg loop {g3:.2f} s, sqv loop {s3:.2f} s",
             f"{g3/k3:.0f} x gpg (>= 40), {s3/k3:.0f} x sqv (>= 20)"))
ms, mv, mq = (int(x) / 1024 for x in sys.argv[1:4])
rows.append(("P4", "peak RSS", f"sign {ms:.1f} MiB, verify {mv:.1f} MiB", f"sqv {mq:.1f} MiB", "<= 16 MiB"))
print("| # | what | keycycle (median) | peers (median) | ratio (target) |")
print("|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
PY
