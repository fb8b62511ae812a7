#!/usr/bin/env bash
# The real-world verification corpus (tests/realworld.rs): signatures that
# nobody in this project made, fetched from Debian's archive with apt.
#
#   - upstream release tarballs with their authors' detached signatures and
#     the upstream keys Debian ships (debian/upstream/signing-key.asc),
#     from `apt-get source --download-only` of small packages;
#   - the uploaders' cleartext-signed .dsc files of the same packages, and
#     the debian-keyring package (debian-keyring.gpg, ~27 MiB, and
#     debian-maintainers.gpg) that holds the uploaders' keys;
#   - the archive's dists/<suite>/Release, Release.gpg and InRelease, and
#     the debian-archive-keyring package.
#
# Everything lands in $KEYCYCLE_CORPUS (default
# ${XDG_CACHE_HOME:-~/.cache}/keycycle/corpus) and is fetched once: a
# complete corpus is kept (stamp file). A failed fetch fails the script —
# the suite never skips the corpus.
#
#   scripts/fetch-corpus.sh            # prints the corpus directory last
set -euo pipefail

dest="${KEYCYCLE_CORPUS:-${XDG_CACHE_HOME:-$HOME/.cache}/keycycle/corpus}"
stamp="$dest/.complete-v1"
# Small source packages whose upstream tarballs are signed: RSA 2048-4096,
# DSA 1024, Ed25519; keys from 2001 to 2022; SHA-1 bindings; expired keys.
packages=(acl attr cflow gzip hello less libgpg-error libidn2 m4 nano nettle pv screen xz-utils)

if [ -f "$stamp" ]; then
    echo "== corpus cached in $dest" >&2
    echo "$dest"
    exit 0
fi

fail() { echo "fetch-corpus: $*" >&2; exit 1; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || fail "need root (or sudo) for apt"
    sudo=sudo
fi
for tool in apt-get dpkg-deb tar xz; do
    command -v "$tool" >/dev/null || fail "missing $tool"
done
[ -x /usr/lib/apt/apt-helper ] || fail "missing /usr/lib/apt/apt-helper (package apt)"

# A deb-src line, only when the machine has none: the same archive and
# suite as its first Debian "deb" source.
. /etc/os-release
suite="${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}"
if ! apt-cache showsrc hello 2>/dev/null | grep -q '^Package: hello'; then
    if ! grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        uri=$(grep -rhsE '^URIs:' /etc/apt/sources.list.d/*.sources | head -1 | awk '{print $2}')
        uri="${uri:-http://deb.debian.org/debian}"
        echo "== adding a deb-src source ($uri $suite main)" >&2
        $sudo tee /etc/apt/sources.list.d/keycycle-deb-src.sources >/dev/null <<EOF
Types: deb-src
URIs: $uri
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    fi
    $sudo apt-get update -qq || fail "apt-get update failed"
    apt-cache showsrc hello 2>/dev/null | grep -q '^Package: hello' || fail "no source index after apt-get update"
fi

tmp="$dest.partial"
rm -rf "$tmp"
mkdir -p "$tmp/src" "$tmp/keys" "$tmp/debian"
chmod 0777 "$tmp" "$tmp/src" "$tmp/debian"   # apt's _apt user downloads here

echo "== apt-get source --download-only ${packages[*]}" >&2
(cd "$tmp/src" && $sudo apt-get source --download-only -qq "${packages[@]}" 2>&1 | grep -v unsandboxed >&2) || true
for p in "${packages[@]}"; do
    dsc=$(ls "$tmp/src/${p}_"*.dsc 2>/dev/null | head -1)
    [ -n "$dsc" ] || fail "apt-get source $p: no .dsc fetched"
    ls "$tmp/src/${p}_"*.orig.tar.*.asc >/dev/null 2>&1 || fail "apt-get source $p: no upstream signature"
    deb=$(ls "$tmp/src/${p}_"*.debian.tar.* | head -1)
    tar -xf "$deb" -O debian/upstream/signing-key.asc > "$tmp/keys/$p.asc" 2>/dev/null \
        || fail "$p: no debian/upstream/signing-key.asc in $deb"
    [ -s "$tmp/keys/$p.asc" ] || fail "$p: empty upstream key"
done

echo "== apt-get download debian-keyring debian-archive-keyring" >&2
(cd "$tmp/debian" && $sudo apt-get download -qq debian-keyring debian-archive-keyring 2>&1 | grep -v unsandboxed >&2) || true
for p in debian-keyring debian-archive-keyring; do
    deb=$(ls "$tmp/debian/${p}_"*.deb 2>/dev/null | head -1)
    [ -n "$deb" ] || fail "apt-get download $p failed"
    dpkg-deb -x "$deb" "$tmp/debian/x"
done
for k in debian-keyring.gpg debian-maintainers.gpg debian-archive-keyring.gpg; do
    [ -s "$tmp/debian/x/usr/share/keyrings/$k" ] || fail "$k missing from the keyring packages"
    mv "$tmp/debian/x/usr/share/keyrings/$k" "$tmp/debian/$k"
done
rm -rf "$tmp/debian/x" "$tmp/debian/"*.deb

mirror=$(apt-get source --print-uris -qq hello | head -1 | sed -E "s|^'([^']*)/pool/.*|\1|")
[ -n "$mirror" ] || fail "cannot tell the archive's address"
for f in Release Release.gpg InRelease; do
    echo "== $mirror/dists/$suite/$f" >&2
    (cd "$tmp/debian" && $sudo /usr/lib/apt/apt-helper download-file "$mirror/dists/$suite/$f" "$f" 2>&1 | grep -v unsandboxed >&2) || true
    [ -s "$tmp/debian/$f" ] || fail "download of dists/$suite/$f failed"
done

$sudo chown -R "$(id -u):$(id -g)" "$tmp"
chmod -R u+rwX,go+rX "$tmp"
rm -rf "$dest"
mv "$tmp" "$dest"
date -u +%Y-%m-%dT%H:%M:%SZ > "$stamp"
echo "== corpus in $dest" >&2
echo "$dest"
