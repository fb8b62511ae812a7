#!/usr/bin/env bash
# Virtual OpenPGP cards for the tests: no hardware, no system configuration.
#
# A card is ifd-jcecard 0.2.0 (crates.io, BSD-2: a PC/SC reader driver with
# an embedded OpenPGP 3.4 card; PINs 123456 / 12345678; Ed25519, X25519,
# RSA, P-256) under its own pcscd, in a private mount namespace, reached by
# clients through PCSCLITE_CSOCK_NAME=<socket>. libpcsclite reads that
# variable once per process, so one process talks to one virtual card.
# Needs root (unshare -m, mount --bind) and Debian's pcscd; the driver is
# built from its crates.io source once into a cache that outlives
# `cargo clean` and every test run.
#
#   scripts/virtual-cards.sh install               Debian packages, when missing
#   scripts/virtual-cards.sh build                 the driver, once, into the cache
#   scripts/virtual-cards.sh start DIR A:101 B:102 start cards (NAME:SERIAL) under DIR;
#                                                  prints export lines for the tests
#   scripts/virtual-cards.sh stop DIR              stop every card under DIR, by PID
#
# Or `source` it and call vcards_install / vcards_build / vcards_start /
# vcards_stop (scripts/test.sh does).
#
# For each started card NAME it exports
#   KEYCYCLE_TEST_CARD_<NAME>        the card's pcscd socket (PCSCLITE_CSOCK_NAME)
#   KEYCYCLE_TEST_CARD_<NAME>_SERIAL its serial number (decimal, as seeded)
#
# Cache: $KEYCYCLE_VCARD_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/keycycle/ifd-jcecard-0.2.0.
# Card state (keys, PIN counters) lives in DIR/NAME/state/card_state.json
# and persists across a pcscd restart: it is test data, private keys in
# plain JSON. Never load a real key onto a virtual card.

VCARD_VERSION=0.2.0
VCARD_CACHE=${KEYCYCLE_VCARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keycycle/ifd-jcecard-$VCARD_VERSION}
# The patch level of our build of the driver (see vcards_patch); a new
# level rebuilds only the driver itself.
VCARD_PATCH=1
VCARD_BUNDLE=$VCARD_CACHE/bundle-p$VCARD_PATCH/ifd-jcecard.bundle
VCARD_SO=$VCARD_BUNDLE/Contents/Linux/libifd_jcecard.so

vcards_log() { echo "== virtual cards: $*" >&2; }

# Debian packages: the reader daemon, gpg's card daemon (the peer), and
# what the `card` feature builds against.
vcards_install() {
    local p missing=() sudo=""
    for p in pcscd scdaemon libpcsclite-dev pkg-config python3; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    vcards_log "installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; return 1; }
        sudo=sudo
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# One fix to ifd-jcecard 0.2.0, so that clients which read the card's
# Algorithm Information (DO FA) see what it supports: the card packs every
# algorithm of a slot into one C1/C2/C3 value, where the OpenPGP card spec
# (4.4.3.11) and real cards give each algorithm its own C1/C2/C3 TLV.
# openpgp-card reads FA and refuses an Ed25519 import on the packed form
# ("unsupported according to algo_info"); gpg 2.2 does not read it.
vcards_patch() {
    python3 - "$1/src/openpgp/applet.rs" <<'PY'
import re, sys
path = sys.argv[1]
s = open(path).read()
n = 0
for kind, tag in (("sig", "0xC1"), ("dec", "0xC2"), ("aut", "0xC3")):
    s, k = re.subn(r"%s_algos\.extend_from_slice\(&(\w+)\);" % kind,
                   r"%s_algos.extend_from_slice(&TLVBuilder::new().add(%s, &\1).build());" % (kind, tag), s)
    n += k
    s, k = re.subn(r"\.add\(%s, &%s_algos\)" % (tag, kind), ".add_raw(&%s_algos)" % kind, s)
    n += k
if n != 24:
    sys.exit("vcards_patch: ifd-jcecard's build_algorithm_information is not what this patch expects (%d edits)" % n)
open(path, "w").write(s)
PY
}

# Fetch ifd-jcecard's source from crates.io (through cargo) and build its
# cdylib, once: later calls return at once. Serialised by a lock, so two
# worktrees running the suite build it once between them.
vcards_build() {
    [ -f "$VCARD_SO" ] && return 0
    mkdir -p "$VCARD_CACHE"
    (
        flock 9
        [ -f "$VCARD_SO" ] && exit 0
        local start=$SECONDS src reg
        vcards_log "building ifd-jcecard $VCARD_VERSION into $VCARD_CACHE (once; about a minute)"
        if [ ! -f "$VCARD_CACHE/src/Cargo.lock" ]; then
            mkdir -p "$VCARD_CACHE/dl/src"
            : > "$VCARD_CACHE/dl/src/lib.rs"
            printf '[package]\nname = "vcard-fetch"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\nifd-jcecard = "=%s"\n' \
                "$VCARD_VERSION" > "$VCARD_CACHE/dl/Cargo.toml"
            cargo fetch -q --manifest-path "$VCARD_CACHE/dl/Cargo.toml"
            reg=${CARGO_HOME:-$HOME/.cargo}/registry/src
            src=$(ls -d "$reg"/*/ifd-jcecard-"$VCARD_VERSION" | head -1)
            [ -f "$src/Cargo.lock" ] || { echo "ifd-jcecard source not found under $reg" >&2; exit 1; }
            rm -rf "$VCARD_CACHE/src.part"
            cp -r "$src" "$VCARD_CACHE/src.part"
            mv "$VCARD_CACHE/src.part" "$VCARD_CACHE/src"
        fi
        if [ ! -f "$VCARD_CACHE/src/.keycycle-patch-$VCARD_PATCH" ]; then
            vcards_patch "$VCARD_CACHE/src"
            touch "$VCARD_CACHE/src/.keycycle-patch-$VCARD_PATCH"
        fi
        # Its release profile (opt-level "z", fat LTO) spends most of the
        # build in one LTO step; a test driver wants it built quickly.
        CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
            CARGO_TARGET_DIR=$VCARD_CACHE/target \
            cargo build -q --release --locked --lib \
            --manifest-path "$VCARD_CACHE/src/Cargo.toml"
        install -D -m644 "$VCARD_CACHE/src/bundle/ifd-jcecard.bundle/Contents/Info.plist" \
            "$VCARD_BUNDLE/Contents/Info.plist"
        install -D -m755 "$VCARD_CACHE/target/release/libifd_jcecard.so" "$VCARD_SO.part"
        mv "$VCARD_SO.part" "$VCARD_SO"
        echo "$((SECONDS - start))" > "$VCARD_CACHE/build.seconds"
        vcards_log "driver built in $((SECONDS - start)) s"
    ) 9>"$VCARD_CACHE.lock"
}

# A factory-fresh card state with serial $2 (else every card is 0000:00000001).
vcards_seed() {
    python3 - "$1" "$2" <<'PY'
import json, sys, hashlib, base64
b64 = lambda b: base64.b64encode(b).decode()
h = lambda pin: b64(hashlib.sha256(pin.encode()).digest())
slot = lambda: {"fingerprint": b64(bytes(20)), "generation_time": 0, "ca_fingerprint": b64(bytes(20)),
    "algorithm": {"algorithm_id": 1, "param1": 2048, "param2": 32, "param3": 0, "curve_oid": ""},
    "uif": 0, "private_key_data": "", "public_key_data": ""}
st = {"manufacturer_id": 0, "serial_number": int(sys.argv[2]), "version_major": 3, "version_minor": 4,
  "pin_data": {"pw1_hash": h("123456"), "pw1_length": 6, "pw1_min_length": 6, "pw1_max_length": 127,
    "pw1_retry_counter": 3, "pw1_max_retries": 3, "pw1_valid_multiple": True,
    "pw3_hash": h("12345678"), "pw3_length": 8, "pw3_min_length": 8, "pw3_max_length": 127,
    "pw3_retry_counter": 3, "pw3_max_retries": 3, "rc_hash": "", "rc_length": 0, "rc_min_length": 8,
    "rc_max_length": 127, "rc_retry_counter": 0, "rc_max_retries": 3},
  "cardholder": {"name": "", "language": "en", "sex": 0, "login": "", "url": ""},
  "key_sig": slot(), "key_dec": slot(), "key_aut": slot(), "signature_counter": 0,
  "private_do_1": "", "private_do_2": "", "private_do_3": "", "private_do_4": "",
  "certificate": "", "terminated": False}
with open(sys.argv[1], "w") as f:
    json.dump(st, f, indent=2)
PY
}

# vcards_start DIR NAME:SERIAL... : one pcscd per card, each in its own
# mount namespace with DIR/NAME/run bind-mounted over /run/pcscd (pcscd
# 1.9.9 checks the fixed /run/pcscd/pcscd.comm for "already running").
# Exports KEYCYCLE_TEST_CARD_<NAME>[_SERIAL] and prints them as export lines.
vcards_start() {
    local dir=$1 spec name serial d i
    shift
    [ "$(id -u)" -eq 0 ] || { echo "virtual cards need root (unshare -m, mount --bind)" >&2; return 1; }
    [ -f "$VCARD_SO" ] || { echo "the ifd-jcecard driver is not built: run $0 build" >&2; return 1; }
    command -v pcscd >/dev/null || { echo "pcscd is not installed: run $0 install" >&2; return 1; }
    mkdir -p /run/pcscd
    for spec in "$@"; do
        name=${spec%%:*}
        serial=${spec#*:}
        d=$dir/$name
        mkdir -p "$d/state" "$d/run" "$d/conf"
        [ -f "$d/state/card_state.json" ] || vcards_seed "$d/state/card_state.json" "$serial"
        printf 'FRIENDLYNAME "jcecard %s"\nDEVICENAME /dev/null\nLIBPATH %s\nCHANNELID 0x00\n' \
            "$name" "$VCARD_SO" > "$d/conf/jcecard"
        rm -f "$d/run/pcscd.comm" "$d/run/pcscd.pid" "$d/pcscd.pid"
        JCECARD_STORAGE_DIR=$d/state setsid unshare -m --propagation private sh -c \
            "mount --bind '$d/run' /run/pcscd && echo \$\$ > '$d/pcscd.pid' && exec pcscd -f -c '$d/conf'" \
            > "$d/pcscd.log" 2>&1 < /dev/null &
        for i in $(seq 100); do
            # Up when the socket exists and the driver has powered its card.
            [ -S "$d/run/pcscd.comm" ] && grep -q 'Card powered on' "$d/pcscd.log" && break
            if [ "$i" = 100 ]; then
                echo "pcscd for virtual card $name did not come up; its log:" >&2
                cat "$d/pcscd.log" >&2
                return 1
            fi
            sleep 0.05
        done
        export "KEYCYCLE_TEST_CARD_$name=$d/run/pcscd.comm"
        export "KEYCYCLE_TEST_CARD_${name}_SERIAL=$serial"
        echo "export KEYCYCLE_TEST_CARD_$name=$d/run/pcscd.comm"
        echo "export KEYCYCLE_TEST_CARD_${name}_SERIAL=$serial"
        vcards_log "card $name (serial $serial) on $d/run/pcscd.comm, pcscd pid $(cat "$d/pcscd.pid")"
    done
}

# vcards_stop DIR : SIGTERM every card's pcscd by its PID, then wait for
# them together (5 s, then SIGKILL). Each mount namespace goes with its pcscd.
vcards_stop() {
    local dir=$1 f p i pids=()
    for f in "$dir"/*/pcscd.pid; do
        [ -f "$f" ] || continue
        p=$(cat "$f")
        rm -f "$f"
        [ -n "$p" ] && kill "$p" 2>/dev/null && pids+=("$p")
    done
    for p in "${pids[@]}"; do
        for i in $(seq 50); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    done
    return 0
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    case "${1:-}" in
        install) vcards_install ;;
        build) vcards_build ;;
        start) shift; [ $# -ge 2 ] || { echo "usage: $0 start DIR NAME:SERIAL..." >&2; exit 2; }; vcards_start "$@" ;;
        stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; vcards_stop "$2" ;;
        *) echo "usage: $0 install | build | start DIR NAME:SERIAL... | stop DIR" >&2; exit 2 ;;
    esac
fi
