#!/usr/bin/env bash
# P7 and P9 in one run, side by side with GnuPG on the same files:
#   P7  inspect a keyring of a few hundred certificates (Debian's
#       debian-maintainers.gpg, 231 certs, 2.5 MB) vs `gpg --show-keys`
#   P9  one signature (a cleartext-signed .dsc) checked against the 27 MiB
#       debian-keyring.gpg vs gpgv: time and peak RSS; and the same against
#       a 270 MiB keyring (debian-keyring.gpg ten times over)
#
#   benches/keyring.sh
#
# keycycle is built with both crypto backends: P7 is dominated by RSA
# self-signature verification (1459 of them), which the default pure-Rust
# backend does about 4x slower than OpenSSL.
# The files come from scripts/fetch-corpus.sh (cached). Runs in a tmpfs.
set -euo pipefail
cd "$(dirname "$0")/.."
for p in hyperfine gnupg gpgv time python3; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || { apt-get update -qq && apt-get install -y -qq "$p"; }
done
corpus=$(scripts/fetch-corpus.sh)
# Users do not run with RUST_BACKTRACE set; with it, every error sequoia
# makes internally (a rejected self-signature, say) captures a backtrace.
unset RUST_BACKTRACE RUST_LIB_BACKTRACE
work=$(mktemp -d /dev/shm/kc-keyring.XXXXXX)
# Both backends: the production build (crypto-openssl) and the default.
cargo build --release --quiet --no-default-features --features crypto-openssl
cp target/release/keycycle "$work/keycycle-openssl"
cargo build --release --quiet
kc="$PWD/target/release/keycycle"
kco="$work/keycycle-openssl"
trap 'gpgconf --homedir "$work/gnupg" --kill all 2>/dev/null || true; rm -rf "$work"' EXIT
export GNUPGHOME="$work/gnupg"; mkdir -m 700 "$GNUPGHOME"
cp "$corpus/debian/debian-maintainers.gpg" "$corpus/debian/debian-keyring.gpg" "$work/"
dsc=$(ls "$corpus"/src/nano_*.dsc | head -1)
cp "$dsc" "$work/signed.dsc"
cd "$work"
for i in $(seq 10); do cat debian-keyring.gpg; done > big-keyring.gpg
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
certs=$(gpg --show-keys --with-colons debian-maintainers.gpg 2>/dev/null | grep -c '^pub:')
echo "== P7: inspect $certs certificates ($(du -h debian-maintainers.gpg | cut -f1))"
hyperfine -N --style none --warmup 2 --runs 10 --export-json p7.json \
  -n "keycycle inspect" "$kc --batch --time $now inspect debian-maintainers.gpg" \
  -n "keycycle inspect (openssl)" "$kco --batch --time $now inspect debian-maintainers.gpg" \
  -n "gpg --show-keys" "gpg --batch --show-keys debian-maintainers.gpg" >/dev/null
echo "== P9: one signature against the 27 MiB and the 270 MiB keyring"
hyperfine -N --style none --warmup 2 --runs 10 --export-json p9.json \
  -n "keycycle verify (27 MiB)" "$kc --batch --time $now verify --cert debian-keyring.gpg signed.dsc" \
  -n "keycycle verify (27 MiB, openssl)" "$kco --batch --time $now verify --cert debian-keyring.gpg signed.dsc" \
  -n "gpgv (27 MiB)" "gpgv --keyring $work/debian-keyring.gpg signed.dsc" \
  -n "keycycle verify (270 MiB)" "$kc --batch --time $now verify --cert big-keyring.gpg signed.dsc" \
  -n "gpgv (270 MiB)" "gpgv --keyring $work/big-keyring.gpg signed.dsc" >/dev/null
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
m_kc=$(rss "$kc" --batch --time "$now" verify --cert debian-keyring.gpg signed.dsc)
m_gv=$(rss gpgv --keyring "$work/debian-keyring.gpg" signed.dsc)
m_kc_big=$(rss "$kc" --batch --time "$now" verify --cert big-keyring.gpg signed.dsc)
m_gv_big=$(rss gpgv --keyring "$work/big-keyring.gpg" signed.dsc)
m_inspect=$(rss "$kc" --batch --time "$now" inspect debian-maintainers.gpg)

python3 - "$m_kc" "$m_gv" "$m_kc_big" "$m_gv_big" "$m_inspect" <<'PY'
import json, sys
def load(f):
    return {r["command"]: r["median"] for r in json.load(open(f))["results"]}
p7, p9 = load("p7.json"), load("p9.json")
kc, gv, kcb, gvb, mi = (int(x) / 1024 for x in sys.argv[1:6])
ki, gi, ko = p7["keycycle inspect"], p7["gpg --show-keys"], p7["keycycle inspect (openssl)"]
rows = [
    ("P7", "inspect debian-maintainers.gpg, crypto-openssl", f"{ko*1000:.0f} ms", f"gpg --show-keys {gi*1000:.0f} ms",
     f"{ko/gi:.2f} x gpg (<= 1.0)"),
    ("P7", "the same, crypto-rust (default)", f"{ki*1000:.0f} ms ({mi:.1f} MiB)", f"gpg --show-keys {gi*1000:.0f} ms",
     f"{ki/gi:.2f} x gpg (<= 1.0)"),
]
ko9 = p9["keycycle verify (27 MiB, openssl)"]
rows.append(("P9", "one .dsc against a 27 MiB keyring, crypto-openssl", f"{ko9*1000:.0f} ms",
             f"gpgv {p9['gpgv (27 MiB)']*1000:.0f} ms", f"{ko9/p9['gpgv (27 MiB)']:.2f} x gpgv time (gpgv reads only the first copy)"))
for size, k, g, mk, mg in (("27 MiB", "keycycle verify (27 MiB)", "gpgv (27 MiB)", kc, gv),
                           ("270 MiB", "keycycle verify (270 MiB)", "gpgv (270 MiB)", kcb, gvb)):
    rows.append(("P9", f"one .dsc against a {size} keyring", f"{p9[k]*1000:.0f} ms, {mk:.1f} MiB",
                 f"gpgv {p9[g]*1000:.0f} ms, {mg:.1f} MiB",
                 f"{p9[k]/p9[g]:.2f} x gpgv time (gpgv reads only the first copy), RSS <= 64 MiB"))
print("| # | what | keycycle (median, peak RSS) | peer | ratio (target) |")
print("|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
PY
