#!/usr/bin/env python3
"""Which version of each pinned source package to fetch for the corpus.

    apt-cache showsrc PKG... | scripts/corpus-pick.py PINS [PKG...]

PINS is tests/fixtures/corpus/pins.tsv. For each `source` line (or only
those of the PKGs named) it prints
`PACKAGE<TAB>VERSION<TAB>HOW`, choosing among the versions the index lists
(every suite the private source list names, security included) only those
whose files include an upstream signature (`*.orig.tar.*.asc`):

  pinned    the pinned version;
  same-sig  another version carrying the pinned signature's exact bytes
            (a new Debian revision of the same upstream tarball);
  fallback  the newest version carrying any upstream signature: the tests
            then take the expected verdicts from gpgv and sqv on the spot.

A package with no signed version at all fails the pick (exit 1, naming it).
"""
import functools
import subprocess
import sys


def stanzas(text):
    for block in text.split("\n\n"):
        fields, files, key = {}, [], None
        for line in block.splitlines():
            if line.startswith(" ") and key == "Checksums-Sha256":
                parts = line.split()
                if len(parts) == 3:
                    files.append((parts[0], parts[2]))
            elif ":" in line and not line.startswith(" "):
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields and "Version" in fields:
            yield fields["Package"], fields["Version"], files


def newest_first(a, b):
    if a == b:
        return 0
    gt = subprocess.run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0
    return -1 if gt else 1


def main():
    pins = {}
    with open(sys.argv[1]) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "source" and (len(sys.argv) < 3 or cols[1] in sys.argv[2:]):
                pins[cols[1]] = (cols[2], cols[3])
    signed = {}
    for pkg, version, files in stanzas(sys.stdin.read()):
        sigs = [sha for sha, name in files if ".orig.tar." in name and name.endswith(".asc")]
        if pkg in pins and sigs:
            signed.setdefault(pkg, {})[version] = sigs[0]
    missing = []
    for pkg, (version, sig) in pins.items():
        have = signed.get(pkg, {})
        if version in have:
            print(f"{pkg}\t{version}\tpinned")
            continue
        order = sorted(have, key=functools.cmp_to_key(newest_first))
        same = [v for v in order if have[v] == sig]
        if same:
            print(f"{pkg}\t{same[0]}\tsame-sig")
        elif order:
            print(f"{pkg}\t{order[0]}\tfallback")
        else:
            missing.append(pkg)
    if missing:
        print(f"corpus-pick: no version with an upstream signature in the index: {' '.join(missing)}",
              file=sys.stderr)
        sys.exit(1)


main()
