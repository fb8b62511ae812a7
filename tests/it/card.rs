//! OpenPGP cards, on the virtual cards scripts/test.sh starts
//! (scripts/virtual-cards.sh: ifd-jcecard under a private pcscd per card),
//! with GnuPG as the peer. Needs the `card` feature.
//!
//! libpcsclite picks its pcscd (PCSCLITE_CSOCK_NAME) once per process, so
//! each scenario runs in a child process of this test binary bound to one
//! card: a `#[test]` here starts its `child_*` twin (ignored when run
//! directly) with the card's socket, one scenario per card at a time.
//! Without KEYCYCLE_TEST_CARD_A / _B these tests fail: run scripts/test.sh.

#[path = "card_cli.rs"]
mod cli;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::common::*;
use keycycle::base::clock::{self, Time};
use keycycle::custody::card::{self, CardSigner, Slot};
use keycycle::custody::token::BatchUi;
use keycycle::custody::{self as custody_mod, Backend, Identities};
use keycycle::vault::schedule::Schedule;
use keycycle::vault::{StoredKey, Vault};
use keycycle::{cert::change, policy::attest};
use sequoia_openpgp as openpgp;

use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::Serialize;
use openpgp::types::{ReasonForRevocation, RevocationStatus};
use openpgp::Cert;

const USER_PIN: &str = "123456";
const ADMIN_PIN: &str = "12345678";
const GEN: &str = "2026-08-01T12:00:00Z";
/// When gpg looks at what the card tests made (after the last step).
const AFTER: &str = "2026-08-02T12:00:00Z";

// ---- the parent side ----------------------------------------------------

fn socket(card: &str) -> String {
    let var = format!("KEYCYCLE_TEST_CARD_{card}");
    let s = std::env::var(&var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: run the suite with scripts/test.sh, which starts the virtual cards"
        )
    });
    assert!(
        Path::new(&s).exists(),
        "{var}={s}: no pcscd socket there (did the virtual card stop?)"
    );
    s
}

static CARD_A: Mutex<()> = Mutex::new(());
static CARD_B: Mutex<()> = Mutex::new(());

/// Run the ignored test `child` in a child process bound to `card` (or to
/// no pcscd at all), one at a time per card.
fn on_card(card: Option<&str>, child: &str) {
    let (sock, _guard) = match card {
        Some("A") => (
            socket("A"),
            Some(CARD_A.lock().unwrap_or_else(|e| e.into_inner())),
        ),
        Some("B") => (
            socket("B"),
            Some(CARD_B.lock().unwrap_or_else(|e| e.into_inner())),
        ),
        Some(c) => panic!("no card {c}"),
        None => ("/nonexistent/pcscd.comm".to_string(), None),
    };
    let start = std::time::Instant::now();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            &format!("card::{child}"),
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PCSCLITE_CSOCK_NAME", &sock)
        .env("KEYCYCLE_CARD_CHILD", card.unwrap_or("none"))
        .env("KEYCYCLE_TEST_TRUST_HOME", trust_home())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{child} on card {card:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{child}: {:.1} s", start.elapsed().as_secs_f64());
}

fn child() {
    assert!(
        std::env::var("KEYCYCLE_CARD_CHILD").is_ok(),
        "a child_* test runs in a child process started by its parent test"
    );
}

#[test]
fn the_virtual_cards_are_two_distinct_cards() {
    on_card(Some("A"), "child_status_a");
    on_card(Some("B"), "child_status_b");
}

#[test]
fn a_cycle_with_the_primary_on_card_a_checked_by_gpg() {
    on_card(Some("A"), "child_cycle_on_card");
}

#[test]
fn an_rsa_primary_on_card_a() {
    on_card(Some("A"), "child_rsa_on_card");
}

#[test]
fn wrong_pins_fail_in_one_line_with_the_retry_counter() {
    on_card(Some("A"), "child_wrong_pins");
}

#[test]
fn no_card_is_one_line_naming_the_escrow_fallback() {
    on_card(None, "child_no_card");
}

#[test]
fn card_load_and_card_status_commands() {
    on_card(Some("A"), "child_card_commands");
}

#[test]
fn a_roots_gpg_key_moved_to_card_b_certifies() {
    on_card(Some("B"), "child_gpg_keytocard_certifies");
}

// ---- helpers for the children --------------------------------------------

fn pin(p: &str) -> Arc<BatchUi> {
    Arc::new(BatchUi::new(Some(p.to_string().into())))
}

fn t(s: &str) -> Time {
    clock::parse_time(s).unwrap()
}

fn key(vault: &Vault, spec: &str) -> StoredKey {
    let schedule = Schedule::from_config(&vault.config().unwrap()).unwrap();
    vault.find_key(Some(spec), &schedule, t(GEN)).unwrap()
}

fn armored(cert: &Cert) -> Vec<u8> {
    let mut out = Vec::new();
    cert.armored().serialize(&mut out).unwrap();
    out
}

/// The expected serial of card `name`, from the script's environment.
fn serial(name: &str) -> u32 {
    std::env::var(format!("KEYCYCLE_TEST_CARD_{name}_SERIAL"))
        .expect("set by scripts/virtual-cards.sh")
        .parse()
        .unwrap()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    out
}

/// Fail if `secret` (raw or hex) is in any file under `dir`.
fn nowhere_on_disk(dir: &Path, secret: &[u8]) {
    let hex_lower = hex(secret);
    for f in files(dir) {
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret),
            "{} holds the secret",
            f.display()
        );
        let text = String::from_utf8_lossy(&bytes).to_lowercase();
        assert!(
            !text.contains(&hex_lower),
            "{} holds the secret (hex)",
            f.display()
        );
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The primary's secret scalar (Ed25519 seed, RSA d), for the disk scan.
fn secret_bytes(full: &Cert) -> Vec<u8> {
    use openpgp::crypto::mpi::SecretKeyMaterial as S;
    use openpgp::packet::key::SecretKeyMaterial;
    let k = full
        .primary_key()
        .key()
        .clone()
        .parts_into_secret()
        .unwrap();
    match k.secret() {
        SecretKeyMaterial::Unencrypted(u) => u.map(|m| match m {
            // Padded: an MPI drops leading zero bytes (one seed in 256).
            S::EdDSA { scalar } => scalar.value_padded(32).to_vec(),
            S::RSA { d, .. } => d.value().to_vec(),
            _ => panic!("unexpected key type"),
        }),
        _ => panic!("encrypted"),
    }
}

/// gpg's colon lines for `fpr` at `at`, both listings, in a fresh home
/// holding `certs`.
pub(crate) fn gpg_view(certs: &[&Cert], fpr: &str, at: &str) -> (Gpg, String, String) {
    let gpg = Gpg::at(at);
    let mut log = String::new();
    for c in certs {
        let out = gpg.run(&["--import"], Some(&armored(c)));
        log.push_str(&String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "gpg --import: {log}");
    }
    // The key records only (the trustdb line carries the time of the run).
    let records = |args: &[&str]| -> String {
        gpg.ok(args, None)
            .lines()
            .filter(|l| !l.starts_with("tru:"))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let list = records(&["--with-colons", "--fixed-list-mode", "--list-keys", fpr]);
    let sigs = records(&["--with-colons", "--fixed-list-mode", "--check-sigs", fpr]);
    assert!(
        !sigs.is_empty(),
        "gpg lists nothing for {fpr}; import: {log}"
    );
    (gpg, list, sigs)
}

/// A vault with Ada (age) and Bob (SSH) and the keys of 2026.2 and 2027.1.
fn two_cycles(suite: &str) -> (Env, Roster) {
    let env = Env::new(GEN);
    let roster = env.vault_with_roster();
    for (at, cycle) in [("2026-03-01", "2026.2"), (GEN, "2027.1")] {
        let out = env.run_at(at, &["generate", "--cycle", cycle, "--cipher-suite", suite]);
        assert_ok(&out);
    }
    (env, roster)
}

// ---- the children --------------------------------------------------------

fn status_child(name: &str) {
    child();
    let cards = card::list().unwrap();
    assert_eq!(cards.len(), 1, "one card per pcscd: {cards:?}");
    let st = card::status(None).unwrap();
    assert_eq!(st, cards[0]);
    assert_eq!(st.serial, serial(name));
    assert_eq!(st.ident, format!("0000:{:08X}", serial(name)));
    assert_eq!(st.slots.len(), 3);
    assert!(
        st.user_pin_retries > 0 && st.admin_pin_retries > 0,
        "{st:?}"
    );
    let by_ident = card::status(Some(&st.ident.to_lowercase())).unwrap();
    assert_eq!(by_ident.ident, st.ident);
    let e = card::status(Some("0000:DEADBEEF")).unwrap_err();
    assert!(e.to_string().contains("no OpenPGP card found"), "{e}");
    println!("{}", serde_json::to_string(&st).unwrap());
}

#[test]
#[ignore = "run by the_virtual_cards_are_two_distinct_cards"]
fn child_status_a() {
    status_child("A");
}

#[test]
#[ignore = "run by the_virtual_cards_are_two_distinct_cards"]
fn child_status_b() {
    status_child("B");
}

/// Load 2026.2's primary onto the card, then, from the card alone:
/// cross-sign 2027.1, extend 2026.2, revoke it. The same with the escrow's
/// software key must give the same results, for sequoia and for gpg.
#[test]
#[ignore = "run by a_cycle_with_the_primary_on_card_a_checked_by_gpg"]
fn child_cycle_on_card() {
    child();
    let (env, roster) = two_cycles("ed25519");
    cycle_on_card(&env, &roster, "A");
}

fn cycle_on_card(env: &Env, roster: &Roster, name: &str) {
    let vault = open_vault(&env.vault);
    let old = key(&vault, "2026.2");
    let new = key(&vault, "2027.1");
    let ids = Identities::from_paths(&[&roster.age_id]).unwrap();
    let escrowed = custody_mod::open(&vault, &old, &ids).unwrap();
    let full = escrowed.cert().clone();
    let secret = secret_bytes(&full);

    // Load: the card's signature slot now shows 2026.2's own fingerprint
    // and creation time.
    let loaded = card::load_primary(&full, None, pin(ADMIN_PIN).as_ref()).unwrap();
    assert_eq!(loaded.slot, Slot::Signature);
    assert_eq!(loaded.fingerprint, old.state.fingerprint);
    assert_eq!(loaded.card.serial, serial(name));
    assert_eq!(
        loaded.card.signature_fingerprint(),
        Some(old.state.fingerprint.as_str())
    );
    let slot = &loaded.card.slots[0];
    assert_eq!(
        slot.created.map(clock::to_system),
        Some(old.cert.primary_key().key().creation_time())
    );

    // The escrow's software key, for comparison.
    let (cross, until, revoke_at) = (t(GEN), t("2027-06-01T00:00:00Z"), t("2026-08-02T00:00:00Z"));
    let mut soft = escrowed.primary_signer().unwrap();
    let sw_new = attest::certify_all(&mut soft, &new.cert, cross).unwrap();
    let sw_old = change::extend(&full, &mut soft, until, cross)
        .unwrap()
        .strip_secret_key_material();
    let sw_rev = change::revoke(
        &mut soft,
        &full,
        ReasonForRevocation::KeySuperseded,
        "next cycle",
        revoke_at,
    )
    .unwrap();
    drop(soft);
    drop(full);
    drop(escrowed);

    // From the card alone (public certs and the user PIN).
    let mut signer = CardSigner::open(old.cert.primary_key().key(), None, pin(USER_PIN)).unwrap();
    assert_eq!(signer.slot(), Slot::Signature);
    assert_eq!(signer.ident(), format!("0000:{:08X}", serial(name)));
    let count = signer.status().unwrap().signature_count;
    let hw_new = attest::certify_all(&mut signer, &new.cert, cross).unwrap();
    let hw_old = change::extend(&old.cert, &mut signer, until, cross).unwrap();
    let hw_rev = change::revoke(
        &mut signer,
        &hw_old,
        ReasonForRevocation::KeySuperseded,
        "next cycle",
        revoke_at,
    )
    .unwrap();
    let made = signer.status().unwrap().signature_count - count;
    let extend_sigs = hw_old.userids().count() + hw_old.keys().subkeys().count();
    assert!(
        made as usize > 1 + extend_sigs,
        "the card counted {made} signatures"
    );
    assert!(!hw_old.is_tsk() && !hw_new.is_tsk());

    // sequoia: the cross-signature verifies against 2026.2's primary.
    let uid = hw_new.userids().next().unwrap();
    let cert_sig = uid
        .certifications()
        .find(|s| {
            s.get_issuers()
                .iter()
                .any(|i| i.aliases(old.cert.key_handle()))
        })
        .expect("a certification by 2026.2");
    cert_sig
        .clone()
        .verify_userid_binding(
            old.cert.primary_key().key(),
            new.cert.primary_key().key(),
            uid.userid(),
        )
        .unwrap();
    // sequoia: the extension holds, and the revocation revokes.
    let p = StandardPolicy::new();
    let vc = hw_old
        .with_policy(&p, clock::to_system(t("2027-01-15T00:00:00Z")))
        .unwrap();
    assert_eq!(
        vc.primary_key()
            .key_expiration_time()
            .map(clock::from_system),
        Some(until)
    );
    let revoked_hw = hw_old.clone().insert_packets([hw_rev.clone()]).unwrap().0;
    let revoked_sw = sw_old.clone().insert_packets([sw_rev.clone()]).unwrap().0;
    for c in [&revoked_hw, &revoked_sw] {
        assert!(matches!(
            c.revocation_status(&p, clock::to_system(t("2026-09-01T00:00:00Z"))),
            RevocationStatus::Revoked(_)
        ));
    }

    // gpg: every signature good; card and escrow give the same listings.
    let (_g1, list_hw, sigs_hw) = gpg_view(&[&hw_old, &hw_new], &new.state.fingerprint, AFTER);
    let (_g2, list_sw, sigs_sw) = gpg_view(&[&sw_old, &sw_new], &new.state.fingerprint, AFTER);
    let old_id = &old.state.fingerprint[24..];
    assert!(
        sigs_hw
            .lines()
            .any(|l| l.starts_with("sig:!:") && l.contains(old_id)),
        "gpg accepts the card's cross-signature:\n{sigs_hw}"
    );
    assert_eq!(sigs_hw, sigs_sw, "same outcome as with the escrow");
    assert_eq!(list_hw, list_sw);
    // Once 2026.2 is revoked, gpg no longer checks what it signed ("?"):
    // the same for the card's and the escrow's signatures.
    let (_, _, sigs_hw) = gpg_view(&[&revoked_hw, &hw_new], &new.state.fingerprint, AFTER);
    let (_, _, sigs_sw) = gpg_view(&[&revoked_sw, &sw_new], &new.state.fingerprint, AFTER);
    assert_eq!(sigs_hw, sigs_sw);
    let (_g3, list_hw, sigs_hw) = gpg_view(&[&revoked_hw], &old.state.fingerprint, AFTER);
    let (_g4, list_sw, sigs_sw) = gpg_view(&[&revoked_sw], &old.state.fingerprint, AFTER);
    assert!(
        list_hw.lines().any(|l| l.starts_with("pub:r:")),
        "revoked:\n{list_hw}"
    );
    assert!(
        list_hw.lines().any(|l| l.starts_with("pub:")
            && l.split(':').nth(6) == Some(&until.timestamp().to_string())),
        "extended to {until}:\n{list_hw}"
    );
    for l in sigs_hw
        .lines()
        .filter(|l| l.starts_with("sig:") || l.starts_with("rev:"))
    {
        assert!(
            l.starts_with("sig:!:") || l.starts_with("rev:!:"),
            "gpg: {l}\n{sigs_hw}"
        );
    }
    assert_eq!(list_hw, list_sw);
    assert_eq!(sigs_hw, sigs_sw);

    // Nothing secret reached the disk: not in the vault, the test's files,
    // nor the gpg homes.
    nowhere_on_disk(env.dir.path(), &secret);
    for g in [&_g1, &_g3] {
        nowhere_on_disk(g.home.path(), &secret);
    }
}

#[test]
#[ignore = "run by an_rsa_primary_on_card_a"]
fn child_rsa_on_card() {
    child();
    let (env, roster) = two_cycles("rsa2048");
    cycle_on_card(&env, &roster, "A");
}

#[test]
#[ignore = "run by wrong_pins_fail_in_one_line_with_the_retry_counter"]
fn child_wrong_pins() {
    child();
    let (cert, _) = openpgp::cert::CertBuilder::general_purpose(Some("PIN test <pin@example.org>"))
        .generate()
        .unwrap();
    // A wrong admin PIN: one line, the tries left, nothing loaded.
    let before = card::status(None).unwrap();
    assert_eq!(before.admin_pin_retries, 3, "{before:?}");
    let e = card::load_primary(&cert, None, pin("00000000").as_ref()).unwrap_err();
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "{msg:?}");
    assert_eq!(
        msg,
        format!(
            "wrong admin PIN for OpenPGP card {}: 2 tries left before it blocks",
            before.ident
        )
    );
    assert_eq!(card::status(None).unwrap().admin_pin_retries, 2);
    assert_eq!(
        card::status(None).unwrap().signature_fingerprint(),
        before.signature_fingerprint()
    );
    // The right one loads and resets the counter.
    card::load_primary(&cert, None, pin(ADMIN_PIN).as_ref()).unwrap();
    assert_eq!(card::status(None).unwrap().admin_pin_retries, 3);

    // A wrong user PIN: the same, for signing.
    let e = CardSigner::open(cert.primary_key().key(), None, pin("654321")).unwrap_err();
    let msg = e.to_string();
    assert_eq!(
        msg,
        format!(
            "wrong user PIN for OpenPGP card {}: 2 tries left before it blocks",
            before.ident
        )
    );
    assert!(e.hint().unwrap().contains("--pin-file"), "{:?}", e.hint());
    assert_eq!(card::status(None).unwrap().user_pin_retries, 2);
    let e = CardSigner::open(cert.primary_key().key(), None, pin("654321")).unwrap_err();
    assert!(
        e.to_string().ends_with("1 try left before it blocks"),
        "{e}"
    );
    // No PIN at all (batch, no --pin-file): asks nothing, names the flag.
    let e =
        CardSigner::open(cert.primary_key().key(), None, Arc::new(BatchUi::default())).unwrap_err();
    assert!(e.to_string().contains("user PIN of OpenPGP card"), "{e}");
    assert!(e.hint().unwrap().contains("--pin-file"));
    assert_eq!(
        card::status(None).unwrap().user_pin_retries,
        1,
        "no PIN: no try used"
    );
    // The right PIN signs, and resets the counter.
    let mut s = CardSigner::open(cert.primary_key().key(), None, pin(USER_PIN)).unwrap();
    assert_eq!(s.status().unwrap().user_pin_retries, 3);
    // A key that is not on the card: named, with the escrow as the fallback.
    let (other, _) = openpgp::cert::CertBuilder::general_purpose(Some("Other <o@example.org>"))
        .generate()
        .unwrap();
    let e = CardSigner::open(other.primary_key().key(), None, pin(USER_PIN)).unwrap_err();
    assert!(e.to_string().contains("does not hold key"), "{e}");
    assert!(e.hint().unwrap().contains("--identity"));
}

#[test]
#[ignore = "run by no_card_is_one_line_naming_the_escrow_fallback"]
fn child_no_card() {
    child();
    let (cert, _) = openpgp::cert::CertBuilder::general_purpose(Some("x <x@example.org>"))
        .generate()
        .unwrap();
    for e in [
        card::list().unwrap_err(),
        card::status(None).unwrap_err(),
        CardSigner::open(cert.primary_key().key(), None, pin(USER_PIN)).unwrap_err(),
        card::load_primary(&cert, None, pin(ADMIN_PIN).as_ref()).unwrap_err(),
    ] {
        let msg = e.to_string();
        assert_eq!(
            msg,
            "no OpenPGP card found: the PC/SC daemon (pcscd) is not reachable"
        );
        assert!(e.hint().unwrap().contains("--identity"), "{:?}", e.hint());
    }
}

// ---- card B: a root's own gpg key, moved there by gpg -------------------

/// Bind a GnuPG home to the card behind `socket` (scdaemon through a
/// wrapper that sets PCSCLITE_CSOCK_NAME; shared access).
fn card_home(gpg: &Gpg, socket: &str) {
    let h = gpg.home.path();
    std::fs::write(h.join("scdaemon.conf"), "disable-ccid\npcsc-shared\n").unwrap();
    let wrap = h.join("scd-wrap");
    std::fs::write(
        &wrap,
        format!(
            "#!/bin/sh\nexport PCSCLITE_CSOCK_NAME={socket}\nexec /usr/lib/gnupg/scdaemon \"$@\"\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrap, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        h.join("gpg-agent.conf"),
        format!(
            "allow-loopback-pinentry\nscdaemon-program {}\n",
            wrap.display()
        ),
    )
    .unwrap();
}

/// `gpg --edit-key FPR keytocard` (slot 1), answering gpg's status-fd
/// prompts: the admin PIN however often it is asked, "replace?" yes.
fn keytocard(gpg: &Gpg, fpr: &str) {
    use std::io::{BufRead, BufReader, Write};
    let mut child = gpg_command(gpg.home.path(), &gpg.time)
        .args([
            "--batch",
            "--yes",
            "--pinentry-mode",
            "loopback",
            "--command-fd",
            "0",
            "--status-fd",
            "1",
            "--edit-key",
            fpr,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut prompts = 0;
    for line in stdout.lines() {
        let line = line.unwrap();
        let answer = match line.as_str() {
            "[GNUPG:] GET_LINE keyedit.prompt" => {
                prompts += 1;
                if prompts == 1 {
                    "keytocard"
                } else {
                    "save"
                }
            }
            l if l.starts_with("[GNUPG:] GET_BOOL ") => "y",
            "[GNUPG:] GET_LINE cardedit.genkeys.storekeytype" => "1",
            "[GNUPG:] GET_HIDDEN passphrase.enter" => ADMIN_PIN,
            l if l.starts_with("[GNUPG:] GET_") => panic!("keytocard: unexpected prompt {l}"),
            _ => continue,
        };
        writeln!(stdin, "{answer}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "keytocard: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = gpg.ok(&["--with-colons", "--card-status"], None);
    let on_card = status
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .and_then(|f| f.split(':').next())
        .unwrap_or_default();
    assert_eq!(on_card, fpr, "{status}");
}

#[test]
#[ignore = "run by a_roots_gpg_key_moved_to_card_b_certifies"]
fn child_gpg_keytocard_certifies() {
    child();
    let socket = std::env::var("PCSCLITE_CSOCK_NAME").unwrap();
    // A root makes their key with gpg and moves it to their card.
    let root = Gpg::at("2026-01-01");
    card_home(&root, &socket);
    root.ok(
        &[
            "--faked-system-time",
            "20260101T000000!",
            "--quick-gen-key",
            "Root B <root-b@example.org>",
            "ed25519",
            "cert,sign",
            "never",
        ],
        None,
    );
    let colons = root.ok(
        &["--with-colons", "--list-keys", "root-b@example.org"],
        None,
    );
    let fpr = colons
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .map(|l| l.trim_matches(':').to_string())
        .unwrap();
    keytocard(&root, &fpr);
    let secret = root.ok(&["--with-colons", "--list-secret-keys", &fpr], None);
    assert!(
        secret.lines().any(|l| l.starts_with("sec:")
            && l.split(':')
                .nth(14)
                .is_some_and(|s| s.starts_with("D2760001240"))),
        "gpg: the secret is on the card now:\n{secret}"
    );
    let public = root.ok(&["--armor", "--export", &fpr], None);
    // gpg lets go of the card.
    let _ = Command::new("gpgconf")
        .arg("--homedir")
        .arg(root.home.path())
        .args(["--kill", "all"])
        .output();

    // The vault: the root on the roster with their cert; a cycle key.
    let env = Env::new(GEN);
    env.ok(&["init"]);
    let pub_file = env.path("root-b.asc");
    std::fs::write(&pub_file, &public).unwrap();
    let (_, age_r) = env.age_identity("root-b");
    env.ok(&[
        "roster",
        "add",
        "--name",
        "Root B",
        "--email",
        "root-b@example.org",
        "--cert",
        pub_file.to_str().unwrap(),
        "--escrow-recipient",
        &age_r,
    ]);
    env.ok(&["generate", "--cycle", "next"]);
    let vault = open_vault(&env.vault);
    let target = key(&vault, "2027.1");

    let root_cert = Cert::from_bytes(public.as_bytes()).unwrap();
    certify_with_the_card(&env, &target, &pub_file, &fpr);
    let out = env.path("certified.asc");
    let certified = Cert::from_file(&out).unwrap();

    // keycycle's import counts it as the root's attestation …
    let report: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "attestations", "import", out.to_str().unwrap()]))
            .unwrap();
    let accepted: Vec<&serde_json::Value> = report["certifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["outcome"] == "accepted")
        .collect();
    assert_eq!(accepted.len(), 1, "{report}");
    assert!(
        accepted[0]["issuer"]
            .as_str()
            .unwrap_or_default()
            .contains("Root B"),
        "{report}"
    );
    let st = env.ok(&["status", "2027.1"]);
    assert!(
        st.contains("attestations  1 of 1 roots, majority reached"),
        "{st}"
    );
    // … and gpg, elsewhere, accepts it.
    let (_g, _, sigs) = gpg_view(&[&root_cert, &certified], &target.state.fingerprint, AFTER);
    assert!(
        sigs.lines()
            .any(|l| l.starts_with("sig:!:") && l.contains(&fpr[24..])),
        "{sigs}"
    );
}

/// keycycle certifies with the card-held key, through the binary: no
/// secret key file, no gpg. The root's cert comes from the roster (the
/// card's signature slot names it), or from --with-key PUBLIC; another
/// root's cert is refused. Writes certified.asc.
fn certify_with_the_card(env: &Env, target: &StoredKey, pub_file: &Path, fpr: &str) {
    let user_pin = env.path("user-pin");
    std::fs::write(&user_pin, format!("{USER_PIN}\n")).unwrap();
    let certify = |extra: &[&str], out: &str| {
        env.cmd_at("2026-08-02")
            .arg("--pin-file")
            .arg(&user_pin)
            .args([
                "certify",
                "2027.1",
                "--card",
                "--fingerprint",
                &target.state.fingerprint,
                "-o",
                out,
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let o = certify(&[], "certified.asc");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("with Root B <root-b@example.org> (on your OpenPGP card)"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = certify(
        &["--with-key", pub_file.to_str().unwrap()],
        "certified-2.asc",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Another root's cert: the card does not hold that key; one line.
    let (stranger, _) = openpgp::cert::CertBuilder::general_purpose(Some("Eve <eve@example.org>"))
        .generate()
        .unwrap();
    let eve = env.path("eve.asc");
    std::fs::write(&eve, armored(&stranger)).unwrap();
    let o = certify(&["--with-key", eve.to_str().unwrap()], "certified-3.asc");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.lines().next().unwrap().contains(&format!(
            "the OpenPGP card's signature slot holds {fpr}, not your key"
        )),
        "{err}"
    );
    assert!(!env.path("certified-3.asc").exists());
}

// ---- the commands: keycycle card load / card status ------------------------

#[test]
#[ignore = "run by card_load_and_card_status_commands"]
fn child_card_commands() {
    child();
    let (env, roster) = two_cycles("ed25519");
    let admin = env.path("admin-pin");
    std::fs::write(&admin, format!("{ADMIN_PIN}\n")).unwrap();
    let wrong = env.path("wrong-pin");
    std::fs::write(&wrong, "00000000\n").unwrap();
    let id = roster.age_id.to_str().unwrap();
    let load = |key: &str, pin: &Path, extra: &[&str]| {
        env.cmd()
            .args(["card", "load", key, "--identity", id, "--admin-pin-file"])
            .arg(pin)
            .args(extra)
            .output()
            .unwrap()
    };
    // Load 2026.2 (replacing whatever an earlier test left on the card).
    let out = load("2026.2", &admin, &["--overwrite"]);
    assert_ok(&out);
    let vault = open_vault(&env.vault);
    let old = key(&vault, "2026.2");
    let ident = format!("0000:{:08X}", serial("A"));
    assert_eq!(old.state.cards.len(), 1);
    assert_eq!(old.state.cards[0].ident, ident);
    assert_eq!(old.state.cards[0].serial, serial("A"));
    assert_eq!(old.state.cards[0].slot, "signature");
    let toml = std::fs::read_to_string(old.dir.join("state.toml")).unwrap();
    assert!(toml.contains("[[card]]"), "{toml}");

    // card status: the card, and that it matches the vault.
    let text = env.ok(&["card", "status"]);
    assert!(text.contains(&format!("OpenPGP card {ident}")), "{text}");
    assert!(
        text.contains("2026.2 primary; matches the vault's record"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "card", "status"])).unwrap();
    assert_eq!(json[0]["serial"], serial("A"));
    assert_eq!(json[0]["matches"][0]["recorded"], true, "{json}");
    assert_eq!(json[0]["matches"][0]["vault_key"], "2026.2 primary");

    // Another key: refused without --overwrite; a wrong admin PIN is one
    // line with the tries left; then loaded, and 2026.2's record goes.
    let out = load("2027.1", &admin, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already holds key") && err.contains("--overwrite"),
        "{err}"
    );
    let out = load("2027.1", &wrong, &["--overwrite"]);
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert_eq!(
        lines[0],
        format!("error: wrong admin PIN for OpenPGP card {ident}: 2 tries left before it blocks")
    );
    let out = load("2027.1", &admin, &["--overwrite"]);
    assert_ok(&out);
    let vault = open_vault(&env.vault);
    assert!(key(&vault, "2026.2").state.cards.is_empty());
    assert_eq!(key(&vault, "2027.1").state.cards[0].ident, ident);
    // --batch without --admin-pin-file: names the flag, asks nothing.
    let out = env.run(&["card", "load", "2027.1", "--identity", id]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("admin PIN of OpenPGP card") && err.contains("--admin-pin-file"),
        "{err}"
    );
    // Outside any vault, the card is still shown.
    let out = Command::new(BIN)
        .args(["--batch", "--vault", "/nonexistent", "card", "status"])
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("not a key in this vault"));
}

#[test]
fn card_commands_without_a_card() {
    let env = Env::new(GEN);
    env.ok(&["init"]);
    let out = env
        .cmd()
        .env("PCSCLITE_CSOCK_NAME", "/nonexistent/pcscd.comm")
        .args(["card", "status"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "error: no OpenPGP card found: the PC/SC daemon (pcscd) is not reachable",
            &format!("hint: {}", card::NO_CARD_HINT)
        ],
        "{err}"
    );
}
