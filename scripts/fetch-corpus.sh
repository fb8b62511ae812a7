#!/usr/bin/env bash
# The real-world verification corpus (tests/it/realworld.rs): signatures
# that nobody in this project made, fetched from Debian's archive with apt.
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
# The same corpus on any machine, today and later:
#   - apt runs on a private source list and index (in $dest.apt), never the
#     machine's: the machine's sources only tell the archive's address, and
#     its deb-src lines (bookworm-security's, say) change nothing;
#   - the private list holds the suite and its security suite, so every
#     run picks among security uploads too (a security upload may ship the
#     tarball without its upstream signature);
#   - each package is pinned (tests/fixtures/corpus/pins.tsv: version and
#     the signature's and key's SHA-256). scripts/corpus-pick.py picks the
#     pinned version, else one with the same signature bytes, else the
#     newest with any upstream signature; manifest.tsv records what was
#     fetched and its hashes, and the tests use the verdicts written down
#     only for the bytes they were written for (gpgv's and sqv's on the
#     spot otherwise).
#
# Everything lands in $KEYCYCLE_CORPUS (default
# ${XDG_CACHE_HOME:-~/.cache}/keycycle/corpus) and is fetched once: a
# complete corpus is kept (stamp file). A failed fetch fails the script —
# the suite never skips the corpus.
#
#   scripts/fetch-corpus.sh            # prints the corpus directory last
set -euo pipefail
cd "$(dirname "$0")/.."

dest="${KEYCYCLE_CORPUS:-${XDG_CACHE_HOME:-$HOME/.cache}/keycycle/corpus}"
stamp="$dest/.complete-v2"
pins="$PWD/tests/fixtures/corpus/pins.tsv"
mapfile -t packages < <(awk -F'\t' '$1 == "source" { print $2 }' "$pins")

if [ -f "$stamp" ] && cmp -s "$pins" "$dest/pins.tsv"; then
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
for tool in apt-get apt-cache dpkg dpkg-deb tar xz python3 sha256sum; do
    command -v "$tool" >/dev/null || fail "missing $tool"
done
[ -x /usr/lib/apt/apt-helper ] || fail "missing /usr/lib/apt/apt-helper (package apt)"

# The archive's address: the machine's first Debian source for the suite
# (one-line or deb822), else deb.debian.org; the security archive's the
# same way.
. /etc/os-release
suite="${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}"
uri_for() {   # uri_for SUITE: the machine's URI that serves SUITE, if any
    {
        grep -rhsE "^deb(-src)?[[:space:]]" /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
            | sed -E 's/\[[^]]*\]//' | awk -v s="$1" '$3 == s { print $2 }'
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -f "$f" ] || continue
            awk -v s="$1" 'BEGIN { RS = ""; FS = "\n" }
                { uri = ""; hit = 0
                  for (i = 1; i <= NF; i++) {
                      if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
                      if ($i ~ /^Suites:/) { n = split($i, b, /[ \t]+/); for (j = 2; j <= n; j++) if (b[j] == s) hit = 1 }
                  }
                  if (hit && uri != "") print uri }' "$f"
        done
    } | awk 'NR == 1'
}
mirror=$(uri_for "$suite")
mirror="${mirror:-http://deb.debian.org/debian}"
security=$(uri_for "$suite-security")
security="${security:-${mirror%/debian}/debian-security}"
mirror="${mirror%/}"
security="${security%/}"

# A private apt: its own source list, index and download cache.
apt_dir="$dest.apt"
$sudo rm -rf "$apt_dir"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -s "$keyring" ] || fail "missing $keyring (package debian-archive-keyring)"
cat > "$apt_dir/sources.list" <<LIST
deb [signed-by=$keyring] $mirror $suite main
deb-src [signed-by=$keyring] $mirror $suite main
deb-src [signed-by=$keyring] $security $suite-security main
LIST
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/none"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root"
    -o "Debug::NoLocking=1")
echo "== private apt index: $mirror $suite, $security $suite-security" >&2
$sudo apt-get "${apt_opts[@]}" update -qq >&2 || fail "apt-get update (private source list) failed"

tmp="$dest.partial"
rm -rf "$tmp"
mkdir -p "$tmp/src" "$tmp/keys" "$tmp/debian"

apt-cache "${apt_opts[@]}" showsrc "${packages[@]}" > "$tmp/showsrc.txt" 2>/dev/null || true
mapfile -t picks < <(python3 scripts/corpus-pick.py "$pins" < "$tmp/showsrc.txt") || true
((${#picks[@]} == ${#packages[@]})) || fail "cannot pick a signed version of every package (above)"
specs=()
for line in "${picks[@]}"; do
    IFS=$'\t' read -r p v how <<<"$line"
    specs+=("$p=$v")
    [ "$how" = pinned ] || echo "== $p: pinned version not in the index, using $v ($how)" >&2
done

echo "== apt-get source --download-only ${specs[*]}" >&2
(cd "$tmp/src" && $sudo apt-get "${apt_opts[@]}" source --download-only -qq "${specs[@]}" >&2) \
    || fail "apt-get source failed"
printf '# kind\tpackage\tversion\thow\tsha256 of the signature or keyring\tsha256 of the upstream key\n' > "$tmp/manifest.tsv"
for line in "${picks[@]}"; do
    IFS=$'\t' read -r p v how <<<"$line"
    nv="${v#*:}"   # file names carry no epoch
    dsc="$tmp/src/${p}_${nv}.dsc"
    [ -f "$dsc" ] || fail "apt-get source $p=$v: no .dsc fetched"
    sig=$(ls "$tmp/src/${p}_"*.orig.tar.*.asc 2>/dev/null | head -1)
    [ -n "$sig" ] || fail "apt-get source $p=$v: no upstream signature"
    deb=$(ls "$tmp/src/${p}_${nv}".debian.tar.* | head -1)
    tar -xf "$deb" -O debian/upstream/signing-key.asc > "$tmp/keys/$p.asc" 2>/dev/null \
        || fail "$p: no debian/upstream/signing-key.asc in $deb"
    [ -s "$tmp/keys/$p.asc" ] || fail "$p: empty upstream key"
    printf 'source\t%s\t%s\t%s\t%s\t%s\n' "$p" "$v" "$how" \
        "$(sha256sum < "$sig" | cut -c1-64)" "$(sha256sum < "$tmp/keys/$p.asc" | cut -c1-64)" >> "$tmp/manifest.tsv"
done

# The keyrings: the pinned version when the index still has it.
(cd "$tmp/debian"
 while IFS=$'\t' read -r kind p v _; do
     [ "$kind" = deb ] || continue
     how=pinned
     if ! $sudo apt-get "${apt_opts[@]}" download -qq "$p=$v" >&2 2>/dev/null; then
         how=fallback
         echo "== $p: pinned version $v not in the index, using the newest" >&2
         $sudo apt-get "${apt_opts[@]}" download -qq "$p" >&2 || fail "apt-get download $p failed"
     fi
     deb=$(ls "${p}_"*.deb 2>/dev/null | head -1)
     [ -n "$deb" ] || fail "apt-get download $p failed"
     dpkg-deb -x "$deb" x
     got=${deb#"${p}_"}
     echo "$p ${got%%_*} $how" >> versions
 done < "$pins") || exit 1
for k in debian-keyring.gpg debian-maintainers.gpg debian-archive-keyring.gpg; do
    [ -s "$tmp/debian/x/usr/share/keyrings/$k" ] || fail "$k missing from the keyring packages"
    mv "$tmp/debian/x/usr/share/keyrings/$k" "$tmp/debian/$k"
done
while read -r p v how; do
    printf 'deb\t%s\t%s\t%s\t%s\t-\n' "$p" "${v//%3a/:}" "$how" \
        "$(sha256sum < "$tmp/debian/$p.gpg" | cut -c1-64)" >> "$tmp/manifest.tsv"
done < "$tmp/debian/versions"
rm -rf "$tmp/debian/x" "$tmp/debian/"*.deb "$tmp/debian/versions"

for f in Release Release.gpg InRelease; do
    echo "== $mirror/dists/$suite/$f" >&2
    (cd "$tmp/debian" && $sudo /usr/lib/apt/apt-helper -o APT::Sandbox::User=root download-file "$mirror/dists/$suite/$f" "$f" >&2) \
        || fail "download of dists/$suite/$f failed"
    [ -s "$tmp/debian/$f" ] || fail "download of dists/$suite/$f failed"
done

cp "$pins" "$tmp/pins.tsv"
cp "$apt_dir/sources.list" "$tmp/sources.list"
$sudo chown -R "$(id -u):$(id -g)" "$tmp"
chmod -R u+rwX,go+rX "$tmp"
rm -rf "$dest"
mv "$tmp" "$dest"
date -u +%Y-%m-%dT%H:%M:%SZ > "$stamp"
echo "== corpus in $dest" >&2
echo "$dest"
