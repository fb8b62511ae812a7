#!/usr/bin/env bash
# The whole test suite: what CI runs and what a new contributor runs.
# Installs the Debian packages the tests need when they are missing, then
# tests both crypto backends. Interop tests never skip: a missing tool is
# installed here or the run fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# Test binaries may run under libfaketime (below, and when this whole
# script is started under `faketime`); rustc may not: it deadlocks there
# (jemalloc and libfaketime's start-up). So cargo and every build run with
# the real clock, and a faked clock reaches only the test binaries and what
# they start, through cargo's runner for the host.
faked_preload=""
if [[ "${LD_PRELOAD:-}" == *libfaketime* ]]; then
    faked_preload=$LD_PRELOAD
    unset LD_PRELOAD
fi
host=$(rustc -vV | sed -n 's/^host: //p')
runner_var="CARGO_TARGET_$(echo "$host" | tr 'a-z-' 'A-Z_')_RUNNER"
if [ -n "$faked_preload" ]; then
    echo "== started under faketime (FAKETIME=${FAKETIME:-}): the tests run with that clock, the builds without"
    export "$runner_var=env LD_PRELOAD=$faked_preload FAKETIME=${FAKETIME:-} NO_FAKE_STAT=1"
fi

# Debian packages: interop peers (gnupg, gpgv, sqv, sq, age, sks, ssh-keygen),
# /usr/bin/time (peak memory in the real-world verification tests), xz (the
# corpus), the headless browser the key page is rendered in (chromium), and
# what the crypto-openssl build needs, and the card feature's PC/SC
# (libpcsclite-dev) with the virtual cards' daemon (pcscd) and gpg's card
# daemon (scdaemon, the peer), and libfaketime (faketime: the peers without
# a time option run at the tests' instant, and the suite runs once more two
# years ahead).
packages=(gnupg gpgv sqv sq age sks openssh-client time xz-utils chromium libclang1-14 libclang-common-14-dev
    pcscd scdaemon faketime)
# What compiling the default build needs, installed first: the build then
# runs in the background while the rest is installed and set up.
build_packages=(pkg-config libssl-dev libpcsclite-dev)
missing_for() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}
mapfile -t missing_build < <(missing_for "${build_packages[@]}")
mapfile -t missing < <(missing_for "${packages[@]}")
# Command-line tools the runbook and example tests drive: installed only
# when the command is missing (python3 may come from elsewhere; promtool,
# which judges the monitoring metrics and alert rules, comes with prometheus).
for pair in openssl:openssl curl:curl git:git flock:util-linux python3:python3 promtool:prometheus; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
sudo=""
apt_install() {
    ((${#@})) || return 0
    echo "== installing: $*"
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "need root (or sudo) to install: $*" >&2; exit 1; }
        sudo=sudo
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${apt_updated:-}" ]; then
        $sudo apt-get update -qq
        apt_updated=1
    fi
    $sudo apt-get install -y -qq "$@"
}
apt_install "${missing_build[@]}"

log=$(mktemp)
build_log=$(mktemp)
build_pid=""
sks_pid=""
sks_dir=""
vcard_dir=""
# kill_tree PID: PID and every process under it (the background build is
# cargo with its rustc children), children first.
kill_tree() {
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        kill_tree "$child"
    done
    kill "$1" 2>/dev/null
}
# Every process this script starts is stopped on every way out: success,
# a failed step (set -e), Ctrl-C or a TERM from CI. The trap runs without
# errexit, so one step that fails here does not skip the next.
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if [ -n "$build_pid" ]; then kill_tree "$build_pid"; wait "$build_pid" 2>/dev/null; fi
    if [ -n "$sks_pid" ]; then kill_tree "$sks_pid"; wait "$sks_pid" 2>/dev/null; fi
    [ -n "$sks_dir" ] && rm -rf "$sks_dir"
    if [ -n "$vcard_dir" ] && declare -F vcards_stop >/dev/null; then
        vcards_stop "$vcard_dir"
        rm -rf "$vcard_dir"
    fi
    rm -f "$log" "$build_log"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The crypto-rust test build (most of the run's CPU) starts now, in the
# background; installing, the keyserver, the corpus download and the
# helpers' builds go on beside it. Its output is shown when it is waited
# for, below.
echo "== cargo test --no-run (crypto-rust, with OpenPGP cards), in the background"
cargo test --locked --features card --no-run > "$build_log" 2>&1 &
build_pid=$!

apt_install "${missing[@]}"
for tool in gpg gpgv sqv sq age age-keygen ssh-keygen sks chromium python3 openssl curl git flock /usr/bin/time pcscd /usr/lib/gnupg/scdaemon faketime promtool; do
    command -v "$tool" >/dev/null || { echo "missing $tool after install" >&2; exit 1; }
done

# A real HKP keyserver on loopback (Debian's sks), on a free port P (its
# recon port is P-1). The tests find it in KEYCYCLE_TEST_KEYSERVER.
start_sks() {
    local port
    port=$(python3 - <<'PY'
import socket
for _ in range(200):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", p - 1)); t.close(); print(p); break
    except OSError:
        t.close()
PY
)
    sks_dir=$(mktemp -d /tmp/ks.XXXXXX)   # short: the unix socket path must stay < 108 bytes
    mkdir -p "$sks_dir/etc/sks" "$sks_dir/var/lib/sks/DB" "$sks_dir/var/run/sks"
    : > "$sks_dir/etc/sks/membership"
    cat > "$sks_dir/etc/sks/sksconf" <<CONF
hostname: localhost
hkp_address: 127.0.0.1
hkp_port: $port
recon_address: 127.0.0.1
recon_port: $((port - 1))
disable_mailsync:
CONF
    (cd "$sks_dir" && exec sks db -basedir "$sks_dir" -stdoutlog > "$sks_dir/sks.log" 2>&1) &
    sks_pid=$!
    if python3 - "$port" <<'PY'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/pks/lookup?op=stats"
for _ in range(150):
    try:
        urllib.request.urlopen(url, timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit(1)
PY
    then
        export KEYCYCLE_TEST_KEYSERVER="hkp://127.0.0.1:$port"
        echo "== sks keyserver on $KEYCYCLE_TEST_KEYSERVER (pid $sks_pid)"
        return 0
    fi
    echo "sks did not start; its log:" >&2
    cat "$sks_dir/sks.log" >&2
    exit 1
}
start_sks

# keycycle's test age plugin (tests/age-plugin-test, its own package and
# lock): built here, never installed; the tests put its directory,
# KEYCYCLE_TEST_PLUGIN_DIR, on PATH themselves.
build_test_plugin() {
    local start=$SECONDS target=${CARGO_TARGET_DIR:-$PWD/target}/age-plugin-test
    cargo build --locked --quiet --manifest-path tests/age-plugin-test/Cargo.toml --target-dir "$target"
    export KEYCYCLE_TEST_PLUGIN_DIR=$target/debug
    echo "== test age plugin: $KEYCYCLE_TEST_PLUGIN_DIR/age-plugin-kctest ($((SECONDS - start)) s)"
}
build_test_plugin

# The real-world verification corpus (tests/realworld.rs): fetched once with
# apt into a cache outside git; a failed fetch fails the run.
KEYCYCLE_CORPUS=$(scripts/fetch-corpus.sh)
export KEYCYCLE_CORPUS

# Two virtual OpenPGP cards (scripts/virtual-cards.sh: the driver is built
# once into a cache; each card under its own pcscd, stopped in cleanup).
# The tests find their pcscd sockets in KEYCYCLE_TEST_CARD_A and
# KEYCYCLE_TEST_CARD_B (serials in KEYCYCLE_TEST_CARD_A_SERIAL, _B_SERIAL).
start_cards() {
    local start=$SECONDS
    # shellcheck source=scripts/virtual-cards.sh
    source scripts/virtual-cards.sh
    vcards_build
    echo "== virtual card driver ready ($((SECONDS - start)) s)"
    start=$SECONDS
    vcard_dir=$(mktemp -d /tmp/vc.XXXXXX)   # short: unix socket paths stay < 108 bytes
    vcards_start "$vcard_dir" A:101 B:102 >/dev/null
    echo "== virtual cards A ($KEYCYCLE_TEST_CARD_A) and B ($KEYCYCLE_TEST_CARD_B) up ($((SECONDS - start)) s)"
}
start_cards

# ---------------------------------------------------------------------------
# What the second backend runs: THE ONE LIST. The crypto-rust run below runs
# every test. The crypto-openssl run runs the unit tests of the library and
# the binary in full, and of the integration tests (one binary, tests/it/)
# only the areas where the backends differ, as test-name filters (a module
# of tests/it/ is `MODULE::`):
#   generate::         key generation, the key's shape in gpg, escrow opened by age
#   signing::          signing, the subkey export, verification of every bad case
#   maintain::         extend, rotate, revoke, escrow drill and rewrap, threshold
#   attest::           certifications made by gpg, verified; publish and fetch
#   interop::          the gpg/sqv/sq interop matrix
#   inspect::          the 21 real keys' RSA/EdDSA certification chain
#   secret_hygiene::   passphrase/age-protected exports, no secret in any output
#   cmd::              the command-line cases (bad input, bad signatures, help)
#   fuzz_smoke::verify_signature   the signature parser and verifier
#   realworld::        signatures nobody here made: RSA, DSA, Ed25519, keyrings
#   announce::         the cleartext-signed announcement, checked by gpg and sq
#   card::             OpenPGP cards: keys loaded, signatures made by the card
#   escrow_plugin::    escrow sealed to and opened by an age plugin
# Not repeated (backend-independent: the vault, schedule, CLI plumbing, the
# HTTP client, shell runbooks): bad_input, ceremony, cli, crash, cycles,
# examples, keyserver_faults, page, policy, runbooks, ten_years,
# vault_attacks and the other fuzz targets.
OPENSSL_AREAS=(generate:: signing:: maintain:: attest:: interop:: inspect:: secret_hygiene:: cmd:: fuzz_smoke::verify_signature realworld:: announce:: card:: escrow_plugin::)
# ---------------------------------------------------------------------------

# RUST_BACKTRACE=1 (set on many machines, this one too) makes every
# anyhow::Error capture a backtrace where it is created, in the test
# process and in every keycycle it runs: sequoia creates such errors by the
# thousand (an expired key checked against a policy, a failed parse). The
# suite spent a third of ten_years' CPU time there. RUST_LIB_BACKTRACE=0
# turns off only that capture; panics keep their backtraces. (keycycle
# never prints an error's backtrace: its output does not change.)
export RUST_LIB_BACKTRACE=0

# Three test threads on two cores: the keyserver fault matrix spends ~30 s
# waiting on its misbehaving servers, which should not idle one of two.
threads=(--test-threads 3)

echo "== waiting for the crypto-rust build"
if ! wait "$build_pid"; then
    build_pid=""
    cat "$build_log" >&2
    echo "the crypto-rust build failed (its output is above)" >&2
    exit 1
fi
build_pid=""
grep -v '^ *\(Compiling\|Downloaded\|Downloading\|Updating\|Locking\|Adding\) ' "$build_log" || true
echo "== cargo test (crypto-rust, the default build, with OpenPGP cards)"
cargo test --locked --features card -- "${threads[@]}" 2>&1 | tee -a "$log"

echo "== cargo test (crypto-openssl, the production build): unit tests, then ${OPENSSL_AREAS[*]}"
openssl=(--locked --no-default-features --features crypto-openssl,card)
cargo test "${openssl[@]}" --lib --bins -- "${threads[@]}" 2>&1 | tee -a "$log"
cargo test "${openssl[@]}" --test it -- "${threads[@]}" "${OPENSSL_AREAS[@]}" 2>&1 | tee -a "$log"

# Two years on: the integration tests once more (crypto-rust, already
# built) with every process's clock 730 days ahead (libfaketime, inherited
# by keycycle, gpg, sq, sqv and their agents). A test that lets any of them
# read the real clock, or a fixed date that falls past a key's expiry,
# fails here today rather than on a machine in two years. faketime runs
# the test binary (cargo's runner: see the top), never rustc; file times
# stay real (NO_FAKE_STAT).
echo "== the integration tests (crypto-rust) with the clock two years ahead: faketime -f +730d"
env "$runner_var=env NO_FAKE_STAT=1 faketime -f +730d" \
    cargo test --locked --features card --test it -- "${threads[@]}" 2>&1 | tee -a "$log"

# One closing line for all runs (pipefail above already failed on errors).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "keycycle: %d passed, %d failed\n", p, f; exit (f > 0 || p == 0) }' "$log"
