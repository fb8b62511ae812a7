//! The runbooks cannot rot: every ```sh block of every `runbooks/*.md` runs.
//!
//! A runbook is cut into scenarios by markers
//! `<!-- runbook-test: setup=NAME time=TIME -->`. Each scenario runs, in a
//! fresh temporary directory, as ONE bash script (`set -euo pipefail`): the
//! PRELUDE below, then `setup_NAME` (the state the runbook starts from: a
//! vault in a git repository, the demo roster, earlier keys...), then
//! `export KC_TIME=TIME`, then the scenario's ```sh blocks in order, exactly
//! as written. ```text blocks are output samples and are not run.
//!
//! The prelude makes the commands read as a human types them: `keycycle`
//! is the binary under test with `--batch --time "$KC_TIME"`, `gpg` is gpg
//! with `--batch --pinentry-mode loopback` and its clock pinned to
//! `$KC_TIME`, `sqv` has `--not-after "$KC_TIME"`. Every placeholder a
//! runbook uses is a shell variable that its "Set these first" table
//! documents and that the prelude sets (`$VAULT`, `$CYCLE`, `$FPR`,
//! `$ME_AGE_ID`, `$KEYSERVER`, ...). The keyserver is the real loopback sks
//! from `KEYCYCLE_TEST_KEYSERVER` (scripts/test.sh starts it).
//!
//! Hardware tokens (runbooks/hardware-tokens.md, marker field `card=A`
//! or `card=B`): the prelude puts the test age plugin
//! (`KEYCYCLE_TEST_PLUGIN_DIR`) on PATH as the stand-in for
//! age-plugin-yubikey and binds `PCSCLITE_CSOCK_NAME` to virtual card A or
//! B (`KEYCYCLE_TEST_CARD_A`/`_B`, scripts/test.sh starts them). Such
//! scenarios exist only in a build with the `card` feature, as
//! tests/it/card.rs does; they are never skipped there.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

/// Sourced before every scenario. Only the prelude's own setup calls the
/// binary with explicit `--time`; the runbooks use `keycycle`.
const PRELUDE: &str = r##"
set -euo pipefail
export HOME="$WORK/home" TMPDIR="$WORK/tmp" TZ=UTC LC_ALL=C.UTF-8
mkdir -p "$HOME" "$TMPDIR" "$WORK/secrets"
chmod 700 "$WORK/secrets"
git config --global user.name "Ada (runbook test)"
git config --global user.email ada@demo.invalid
git config --global init.defaultBranch main
git config --global advice.detachedHead false

cleanup() {
    for h in "$HOME/.gnupg" "$WORK"/gnupg-* "$TMPDIR"/tmp.*; do
        [ -d "$h" ] && gpgconf --homedir "$h" --kill all >/dev/null 2>&1 || true
    done
}
trap '{ set +x; } 2>/dev/null; cleanup' EXIT

# What a human types, made non-interactive and pinned to $KC_TIME.
keycycle() { "$KEYCYCLE_BIN" --batch --time "$KC_TIME" "$@"; }
gpg_time() { date -u -d "$KC_TIME" +%Y%m%dT%H%M%S; }
gpg() {
    command gpg --batch --no-tty --yes --pinentry-mode loopback --passphrase '' \
        --faked-system-time "$(gpg_time)!" "$@"
}
sqv() { command sqv --not-after "$KC_TIME" "$@"; }
export -f keycycle gpg gpg_time sqv

# Hardware tokens (runbooks/hardware-tokens.md): the test age plugin is
# the stand-in for age-plugin-yubikey; the virtual cards for OpenPGP cards
# (user PIN 123456, admin PIN 12345678, as a factory-fresh card).
if [ -n "${KEYCYCLE_TEST_PLUGIN_DIR:-}" ]; then
    export PATH="$KEYCYCLE_TEST_PLUGIN_DIR:$PATH" TOKEN_PLUGIN=kctest
    export TOKEN_ID="$WORK/secrets/token.agekey"
    age-plugin-kctest --generate > "$TOKEN_ID"
    TOKEN_RECIPIENT=$(sed -n 's/^# recipient: //p' "$TOKEN_ID")
    export TOKEN_RECIPIENT
fi
export PIN_FILE="$WORK/secrets/pin" ADMIN_PIN_FILE="$WORK/secrets/admin-pin"
printf '123456\n' > "$PIN_FILE"
printf '12345678\n' > "$ADMIN_PIN_FILE"
export CARD_A="${KEYCYCLE_TEST_CARD_A:-}" CARD_B="${KEYCYCLE_TEST_CARD_B:-}"
export NEXT=2027.2

# The prelude's own calls, at explicit instants.
kc_at() { local t="$1"; shift; "$KEYCYCLE_BIN" --batch --time "$t" "$@" >/dev/null; }
gpg_as() { local home="$1" t="$2"; shift 2;
    GNUPGHOME="$home" command gpg --batch --no-tty --yes --pinentry-mode loopback --passphrase '' \
        --faked-system-time "$t!" "$@"; }
commit() { git -C "$VAULT" add -A && git -C "$VAULT" commit -qm "$1" && git -C "$VAULT" push -q; }

DEMO="$EXAMPLES/demo-roster"
export KEYSERVER="$KEYCYCLE_TEST_KEYSERVER"
export VAULT="$WORK/vault" KEYCYCLE_VAULT="$WORK/vault"
export ME=ada ME_AGE_ID="$DEMO/ada.agekey"
export CYCLE=2027.1 PREV=2026.2
export SECRETS="$WORK/secrets"
# Where the key page for the release documentation is written.
export PAGE_DIR="$WORK/site/keys"
export SUBKEY_OUT="$WORK/secrets/signing-subkey.asc" MY_SECRET_KEY="$WORK/secrets/me.asc"
# A roster change: Grace leaves, Hedy joins.
export LEAVING=Grace NEW_NAME="Hedy Lamarr" NEW_EMAIL=hedy@demo.invalid
export NEW_AGE_ID="$WORK/secrets/hedy.agekey" NEW_PUB="$WORK/hedy.age.pub"

# A root's own OpenPGP key in a gpg home; Ada's is "yours" (~/.gnupg).
make_root() {
    local who="$1" name="$2" home="$3"
    mkdir -p -m 700 "$home"
    gpg_as "$home" 20260101T000000 --quick-gen-key "$name <$who@demo.invalid>" ed25519 cert,sign 5y 2>/dev/null
    gpg_as "$home" 20260101T000000 --armor --export "$who@demo.invalid" > "$WORK/roots/$who.asc"
}

# The vault repository, the roster (Ada, Grace: age; Linus: SSH; all
# three with their OpenPGP certs), and the previous cycle's key, published.
setup_roster() {
    mkdir -p "$WORK/roots"
    git init -q --bare "$WORK/vault-origin.git"
    git clone -q "$WORK/vault-origin.git" "$VAULT" 2>/dev/null
    make_root ada Ada "$HOME/.gnupg"
    make_root grace Grace "$WORK/gnupg-grace"
    make_root linus Linus "$WORK/gnupg-linus"
    kc_at 2026-02-01 init
    kc_at 2026-02-01 roster add --name Ada --email ada@demo.invalid --cert "$WORK/roots/ada.asc" --escrow-recipient "@$DEMO/ada.age.pub"
    kc_at 2026-02-01 roster add --name Grace --email grace@demo.invalid --cert "$WORK/roots/grace.asc" --escrow-recipient "@$DEMO/grace.age.pub"
    kc_at 2026-02-01 roster add --name Linus --email linus@demo.invalid --cert "$WORK/roots/linus.asc" --escrow-recipient "@$DEMO/linus_ssh.pub"
    kc_at 2026-03-01 generate --cycle "$PREV"
    kc_at 2026-03-02 publish "$PREV" --keyserver "$KEYSERVER"
    commit "Roster and the $PREV key"
}

# ... and this cycle's key from an unattended ceremony on 2026-08-15:
# cross-signed, published, signing subkey exported to $SUBKEY_OUT.
setup_ceremony_done() {
    setup_roster
    kc_at 2026-08-15T10:00:00Z ceremony --cycle "$CYCLE" --confirm-roster --fingerprint-read \
        --identity "$ME_AGE_ID" --keyserver "$KEYSERVER" --releases-done --subkey-out "$SUBKEY_OUT"
    FPR=$(ls "$VAULT"/exports/0x*.txt | sed 's|.*/0x||; s|\.txt$||' | tr a-f A-F)
    export FPR
    # What Ada ticked at the keysigning party: the cycle key, Grace, Linus.
    CHECKED="$FPR"
    for who in grace linus; do
        CHECKED="$CHECKED $(command gpg --show-keys --with-colons "$WORK/roots/$who.asc" 2>/dev/null | awk -F: '/^fpr/ { print $10; exit }')"
    done
    export CHECKED PARTY_DIR="$WORK/party"
    SUBKEY_FPR=$(command gpg --show-keys --with-colons "$VAULT/exports/0x${FPR,,}.asc" 2>/dev/null \
        | awk -F: '/^fpr/ { n++; if (n == 2) { print $10; exit } }')
    export SUBKEY_FPR PUBKEY="$VAULT/exports/0x${FPR,,}.txt"
    # CI hand-off: a private hiera repository, a Zuul project key served at
    # a file:// "API", a node's age identity, a passphrase.
    git init -q --bare "$WORK/hiera-origin.git"
    git clone -q "$WORK/hiera-origin.git" "$WORK/hiera" 2>/dev/null
    mkdir -p "$WORK/hiera/group" "$WORK/zuul-api/key/openstack"
    export HIERA="$WORK/hiera" ZUUL_API="file://$WORK/zuul-api" ZUUL_PROJECT=openstack/releases
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/zuul-project.pem" 2>/dev/null
    openssl pkey -in "$WORK/zuul-project.pem" -pubout -out "$WORK/zuul-api/key/openstack/releases.pub"
    age-keygen -o "$WORK/node.agekey" 2>/dev/null
    age-keygen -y "$WORK/node.agekey" > "$WORK/node.age.pub"
    export NODE_AGE_ID="$WORK/node.agekey" NODE_AGE_PUB="$WORK/node.age.pub"
    head -c 24 /dev/urandom | base64 > "$SECRETS/passphrase"
    export PASSPHRASE_FILE="$SECRETS/passphrase"
    commit "Cycle key for $CYCLE ($FPR)"
}

# ... and Ada's and Grace's gpg certifications of it in $INBOX.
setup_attested() {
    setup_ceremony_done
    export INBOX="$WORK/inbox"
    mkdir -p "$INBOX"
    for who in ada grace; do
        local home="$HOME/.gnupg"; [ "$who" = ada ] || home="$WORK/gnupg-$who"
        gpg_as "$home" 20260817T000000 --import "$VAULT/exports/0x${FPR,,}.txt" 2>/dev/null
        gpg_as "$home" 20260817T000000 --quick-sign-key "$FPR" 2>/dev/null
        gpg_as "$home" 20260817T000000 --armor --export "$FPR" > "$INBOX/$who-certified.asc"
    done
}

# ... and a release signed on 2026-10-15 by the CI node, on a "releases
# site" (file:// URLs here): the artifact and its .asc in $DIST
# ($ARTIFACT_URL), and the openstack/releases key file ($KEY_URL).
setup_released() {
    setup_attested
    kc_at 2026-08-20 attestations import "$INBOX"/*.asc
    # The roots authorise the key in the signed vault policy (Ada signs).
    kc_at 2026-08-20 policy propose
    gpg_as "$HOME/.gnupg" 20260820T000000 --armor --export-secret-keys ada@demo.invalid > "$SECRETS/ada-policy.asc"
    kc_at 2026-08-20 policy sign --with-key "$SECRETS/ada-policy.asc"
    rm -f "$SECRETS/ada-policy.asc"
    kc_at 2026-08-20 publish "$CYCLE" --keyserver "$KEYSERVER"
    local site="$WORK/site"
    mkdir -p "$site/tarballs" "$site/static"
    printf 'demo release 1.0.0\n' > "$site/tarballs/demo-1.0.0.tar.gz"
    kc_at 2026-10-15T12:00:00Z sign --key "$SUBKEY_OUT" "$site/tarballs/demo-1.0.0.tar.gz"
    cp "$VAULT/exports/0x${FPR,,}.txt" "$site/static/"
    export ARTIFACT_URL="file://$site/tarballs/demo-1.0.0.tar.gz" DIST="$site/tarballs"
    export KEY_URL="file://$site/static/0x${FPR,,}.txt"
}
"##;

/// One scenario of one runbook.
#[derive(Debug)]
struct Scenario {
    file: String,
    line: usize,
    setup: String,
    time: String,
    /// `card=A` / `card=B`: the scenario uses that virtual card (`card` feature).
    card: Option<String>,
    /// (line of the opening fence, code)
    blocks: Vec<(usize, String)>,
}

const SETUPS: &[&str] = &["roster", "ceremony_done", "attested", "released"];

/// Cut a runbook into scenarios; every one must have a ```sh block.
fn parse(file: &str, text: &str) -> Result<Vec<Scenario>, String> {
    let mut out: Vec<Scenario> = Vec::new();
    let mut fence: Option<(usize, String, String)> = None; // (line, info, body)
    for (i, l) in text.lines().enumerate() {
        let n = i + 1;
        if let Some((start, info, mut body)) = fence.take() {
            if l.trim_start().starts_with("```") {
                if info == "sh" {
                    let s = out.last_mut().ok_or(format!(
                        "{file}:{start}: a ```sh block before any runbook-test marker"
                    ))?;
                    s.blocks.push((start, body));
                }
            } else {
                body.push_str(l);
                body.push('\n');
                fence = Some((start, info, body));
            }
            continue;
        }
        if let Some(rest) = l.trim_start().strip_prefix("```") {
            let info = rest.trim().to_string();
            if info.is_empty() {
                return Err(format!(
                    "{file}:{n}: a code block without a language: ```sh (run by the test) or ```text (not run)"
                ));
            }
            fence = Some((n, info, String::new()));
            continue;
        }
        if let Some(m) = l.trim().strip_prefix("<!-- runbook-test:") {
            let m = m.trim_end_matches("-->");
            let mut setup = None;
            let mut time = None;
            let mut card = None;
            for kv in m.split_whitespace() {
                match kv.split_once('=') {
                    Some(("setup", v)) => setup = Some(v.to_string()),
                    Some(("time", v)) => time = Some(v.to_string()),
                    Some(("card", v)) if v == "A" || v == "B" => card = Some(v.to_string()),
                    _ => return Err(format!("{file}:{n}: unknown marker field {kv}")),
                }
            }
            let setup = setup.ok_or(format!("{file}:{n}: marker without setup="))?;
            if !SETUPS.contains(&setup.as_str()) {
                return Err(format!(
                    "{file}:{n}: unknown setup {setup} (one of {SETUPS:?})"
                ));
            }
            out.push(Scenario {
                file: file.into(),
                line: n,
                setup,
                time: time.ok_or(format!("{file}:{n}: marker without time="))?,
                card,
                blocks: Vec::new(),
            });
        }
    }
    if let Some((start, _, _)) = fence {
        return Err(format!("{file}:{start}: unterminated code block"));
    }
    if out.is_empty() {
        return Err(format!("{file}: no runbook-test marker and no ```sh block"));
    }
    for s in &out {
        if s.blocks.is_empty() {
            return Err(format!("{file}:{}: scenario without a ```sh block", s.line));
        }
    }
    Ok(out)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn script(s: &Scenario) -> String {
    let mut sc = String::from(PRELUDE);
    if let Some(c) = &s.card {
        // The scenario's card: its pcscd socket, as for a reader.
        sc.push_str(&format!(
            "\nexport PCSCLITE_CSOCK_NAME=\"$CARD_{c}\"\n[ -S \"$PCSCLITE_CSOCK_NAME\" ] || {{ echo \"virtual card {c} is not running: run scripts/test.sh\" >&2; exit 1; }}\n"
        ));
    }
    sc.push_str(&format!(
        "\nsetup_{}\nexport KC_TIME='{}'\nexport NOW=$(date -u -d \"$KC_TIME\" +%s)\ncd \"$WORK\"\nset -x\n",
        s.setup, s.time
    ));
    for (line, code) in &s.blocks {
        sc.push_str(&format!(": '=== runbooks/{}:{line}'\n{code}", s.file));
    }
    sc.push_str("\nset +x\necho RUNBOOK-SCENARIO-COMPLETE\n");
    sc
}

/// Run one scenario; Err holds the tail of its output.
fn run(s: &Scenario) -> Result<(), String> {
    let ks = keyserver();
    require("gpg");
    require("sqv");
    require("sq");
    require("age");
    require("git");
    require("openssl");
    require("curl");
    let mut work = tempfile::Builder::new().prefix("rb").tempdir().unwrap();
    // RUNBOOK_KEEP=1 keeps the scratch directory (runbook.sh, vault) to look at.
    work.disable_cleanup(std::env::var("RUNBOOK_KEEP").is_ok());
    let path = work.path().join("runbook.sh");
    std::fs::write(&path, script(s)).unwrap();
    let mut cmd = Std::new("timeout");
    cmd.env_clear();
    // The hardware stand-ins, for the scenarios that use them.
    for var in [
        "KEYCYCLE_TEST_PLUGIN_DIR",
        "KEYCYCLE_TEST_CARD_A",
        "KEYCYCLE_TEST_CARD_B",
    ] {
        match std::env::var(var) {
            Ok(v) => {
                cmd.env(var, v);
            }
            Err(_) if s.card.is_some() => {
                return Err(format!(
                    "runbooks/{}:{}: {var} is not set: run the suite with scripts/test.sh (the test plugin, the virtual cards)",
                    s.file, s.line
                ))
            }
            Err(_) => {}
        }
    }
    let out = cmd
        .arg("300")
        .arg("bash")
        .arg(&path)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WORK", work.path())
        .env("KEYCYCLE_BIN", BIN)
        .env("KEYCYCLE_TEST_KEYSERVER", &ks)
        .env("EXAMPLES", root().join("examples"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if std::env::var("RUNBOOK_SHOW").is_ok() {
        // RUNBOOK_SHOW=1: print what each command printed (with --nocapture).
        println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    }
    if out.status.success() && stdout.contains("RUNBOOK-SCENARIO-COMPLETE") {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let tail = |t: &str, n: usize| {
        let v: Vec<&str> = t.lines().collect();
        v[v.len().saturating_sub(n)..].join("\n")
    };
    Err(format!(
        "runbooks/{}:{} (setup={}, time={}) failed with {}\n--- stdout (tail)\n{}\n--- stderr (tail)\n{}",
        s.file,
        s.line,
        s.setup,
        s.time,
        out.status,
        tail(&stdout, 30),
        tail(&err, 60)
    ))
}

fn runbooks() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(root().join("runbooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .filter(|p| p.file_name().unwrap() != "README.md")
        // RUNBOOK=name runs only the runbooks whose file name contains it.
        .filter(|p| {
            std::env::var("RUNBOOK")
                .map(|f| p.to_string_lossy().contains(&f))
                .unwrap_or(true)
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_sh_block_of_every_runbook_runs_against_a_scratch_vault() {
    // Fails loudly, here, when scripts/test.sh did not start the keyserver.
    keyserver();
    let books = runbooks();
    assert!(
        books.len() >= 8 || std::env::var("RUNBOOK").is_ok(),
        "{books:?}"
    );
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for (file, text) in &books {
        match parse(file, text) {
            Ok(s) => scenarios.extend(s),
            Err(e) => errors.push(e),
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // Card scenarios need a keycycle with the `card` feature.
    scenarios.retain(|s| s.card.is_none() || cfg!(feature = "card"));
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = scenarios
            .iter()
            .map(|s| scope.spawn(move || run(s)))
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap().err())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} runbook scenarios failed:\n\n{}",
        failures.len(),
        scenarios.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_harness_fails_on_a_failing_command_and_on_a_runbook_without_commands() {
    // A failing command in the middle of a block, and a failure hidden in a
    // pipeline, each fail the scenario.
    for bad in [
        "keycycle status \"$CYCLE\"\nkeycycle status no-such-key\necho after\n",
        "keycycle roster list | grep -q 'Nobody'\n",
        "false | cat\n",
    ] {
        let md = format!(
            "# t\n<!-- runbook-test: setup=roster time=2026-08-20 -->\n```sh\nkeycycle cycles\n```\n\n```sh\n{bad}```\n"
        );
        let s = parse("broken.md", &md).unwrap();
        let e = run(&s[0]).expect_err(bad);
        assert!(e.contains("broken.md:2"), "{e}");
    }
    // The same scenario without the broken command passes.
    let md = "<!-- runbook-test: setup=roster time=2026-08-20 -->\n```sh\nkeycycle roster list | grep -q Grace\n```\n";
    run(&parse("good.md", md).unwrap()[0]).unwrap();
    // No ```sh block, a bare ``` block, or a block before any marker: refused.
    assert!(parse("x.md", "# nothing to run\n```text\nout\n```\n").is_err());
    assert!(parse(
        "x.md",
        "<!-- runbook-test: setup=roster time=2026-08-20 -->\n```text\nx\n```\n"
    )
    .is_err());
    assert!(parse(
        "x.md",
        "<!-- runbook-test: setup=roster time=2026-08-20 -->\n```\nx\n```\n"
    )
    .is_err());
    assert!(parse("x.md", "```sh\nkeycycle cycles\n```\n").is_err());
}

#[test]
fn the_index_links_every_runbook() {
    let index = std::fs::read_to_string(root().join("runbooks/README.md")).unwrap();
    for (file, _) in runbooks() {
        assert!(
            index.contains(&format!("]({file})")),
            "runbooks/README.md does not link {file}"
        );
    }
    // And every relative link in every runbook resolves.
    let link = regex::Regex::new(r"\]\(([a-z0-9-]+\.md)(#[^)]*)?\)").unwrap();
    for (file, text) in runbooks()
        .into_iter()
        .chain([("README.md".to_string(), index.clone())])
    {
        for c in link.captures_iter(&text) {
            let target = root().join("runbooks").join(&c[1]);
            assert!(
                Path::new(&target).exists(),
                "{file} links {} which does not exist",
                &c[1]
            );
        }
    }
}
