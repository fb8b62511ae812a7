//! The card through the binary: `card load`, then cross-sign, extend and
//! revoke with no `--identity` (the card signs), checked by gpg against
//! the same commands run with the escrow on a copy of the vault; wrong
//! PINs, no card, a card whose fingerprint record lies, rotate-subkey and
//! threshold escrow (which still need the escrow).
//!
//! The binary is its own process: each command is bound to a card by its
//! own PCSCLITE_CSOCK_NAME, so these run in the parent test process,
//! holding the card's lock. Only what talks to a card in-process (forging
//! a fingerprint record) runs as a child.

use std::path::{Path, PathBuf};
use std::sync::MutexGuard;

use super::*;

const NO_PCSCD: &str = "/nonexistent/pcscd.comm";

/// Take card `name` for this test (one scenario per card at a time).
fn take(name: &str) -> MutexGuard<'static, ()> {
    let m = match name {
        "A" => &CARD_A,
        "B" => &CARD_B,
        c => panic!("no card {c}"),
    };
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `keycycle --batch --vault V --time T`, bound to card `card` (or to no
/// pcscd), with its temporary files in the test's `tmp/` and no PIN from
/// the environment.
fn kc(env: &Env, vault: &Path, time: &str, card: Option<&str>) -> assert_cmd::Command {
    kc_home(env, vault, time, card, trust_home())
}

/// [`kc`] with another machine's trust store.
fn kc_home(
    env: &Env,
    vault: &Path,
    time: &str,
    card: Option<&str>,
    home: &Path,
) -> assert_cmd::Command {
    let tmp = env.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut c = keycycle(vault, time, home);
    c.env_remove("KEYCYCLE_PIN")
        .env("TMPDIR", &tmp)
        .env(
            "PCSCLITE_CSOCK_NAME",
            card.map(socket).unwrap_or_else(|| NO_PCSCD.into()),
        )
        .current_dir(env.dir.path());
    c
}

fn run_ok(mut c: assert_cmd::Command, args: &[&str]) -> String {
    let out = c.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "keycycle {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Run, require failure, return stderr's lines.
fn run_fails(mut c: assert_cmd::Command, args: &[&str]) -> Vec<String> {
    let out = c.args(args).output().unwrap();
    assert!(
        !out.status.success(),
        "keycycle {args:?} should have failed"
    );
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

fn write(env: &Env, name: &str, text: &str) -> PathBuf {
    let p = env.path(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn card_json(env: &Env, vault: &Path, card: &str) -> serde_json::Value {
    let text = run_ok(
        kc(env, vault, GEN, Some(card)),
        &["--json", "card", "status"],
    );
    serde_json::from_str::<serde_json::Value>(&text).unwrap()[0].clone()
}

/// `card load KEY` from `vault` onto card `card`, with the admin PIN.
fn card_load(env: &Env, vault: &Path, key: &str, ids: &[&Path], card: &str) {
    let admin = write(env, "admin-pin", &format!("{ADMIN_PIN}\n"));
    let mut c = kc(env, vault, GEN, Some(card));
    c.args(["card", "load", key, "--overwrite", "--admin-pin-file"])
        .arg(&admin);
    for id in ids {
        c.arg("--identity").arg(id);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "card load: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn key_file(vault: &Path, cycle: &str, name: &str) -> Vec<u8> {
    std::fs::read(key(&open_vault(vault), cycle).dir.join(name)).unwrap()
}

fn cert_of(vault: &Path, cycle: &str) -> Cert {
    key(&open_vault(vault), cycle).cert
}

/// [`cert_of`] as read on the machine whose trust store is `home`.
fn cert_on(vault: &Path, home: &Path, cycle: &str) -> Cert {
    let v = keycycle::vault::Vault::open(vault)
        .unwrap()
        .with_trust(keycycle::vault::trust::TrustStore::at(home));
    key(&v, cycle).cert
}

/// The card's vault and the escrow's copy, side by side. The copy is run
/// as from another machine (its own trust store, with the same pins): on
/// one machine, the copy would be a stale clone once the card's vault has a
/// revocation, and keycycle refuses a certificate that lost one it saw.
struct Twins<'a> {
    env: &'a Env,
    vault: PathBuf,
    copy: PathBuf,
    copy_home: PathBuf,
    ada: &'a Path,
    pin: PathBuf,
    ident: String,
}

impl Twins<'_> {
    /// keycycle on `v` without a card, from the machine that vault is on.
    fn kc(&self, v: &Path, at: &str) -> assert_cmd::Command {
        let home = if v == self.copy {
            &self.copy_home
        } else {
            trust_home()
        };
        kc_home(self.env, v, at, None, home)
    }

    /// `args` at `at`: with the card (no --identity) on the vault, with the
    /// escrow on the copy (no card reachable at all); then gpg's view of
    /// both vaults' certs, which must be the same. Returns the card
    /// vault's gpg home and its `--check-sigs` of 2027.1.
    fn step(&self, at: &str, args: &[&str]) -> (Gpg, String) {
        let mut with_card = vec!["--pin-file", self.pin.to_str().unwrap()];
        with_card.extend(args);
        let out = run_ok(kc(self.env, &self.vault, at, Some("A")), &with_card);
        assert!(
            out.contains(&format!("card {}", self.ident)),
            "{args:?}: {out}"
        );
        let mut with_escrow = args.to_vec();
        with_escrow.extend(["--identity", self.ada.to_str().unwrap()]);
        let out = run_ok(self.kc(&self.copy, at), &with_escrow);
        assert!(out.contains("escrow"), "{args:?}: {out}");
        let (hw_old, hw_new) = (
            cert_of(&self.vault, "2026.2"),
            cert_of(&self.vault, "2027.1"),
        );
        let (sw_old, sw_new) = (
            cert_on(&self.copy, &self.copy_home, "2026.2"),
            cert_on(&self.copy, &self.copy_home, "2027.1"),
        );
        let new_fpr = hw_new.fingerprint().to_hex();
        let (g_hw, list_hw, sigs_hw) = gpg_view(&[&hw_old, &hw_new], &new_fpr, at);
        let (_g_sw, list_sw, sigs_sw) = gpg_view(&[&sw_old, &sw_new], &new_fpr, at);
        // (Not byte for byte: sequoia salts every signature it builds.)
        assert_eq!(
            sigs_hw, sigs_sw,
            "{args:?}: the card and the escrow, as gpg sees them"
        );
        assert_eq!(list_hw, list_sw);
        (g_hw, sigs_hw)
    }

    /// The escrow drill on `v` (JSON).
    fn drill(&self, v: &Path) -> serde_json::Value {
        let text = run_ok(
            self.kc(v, "2026-08-03T12:00:00Z"),
            &[
                "--json",
                "escrow",
                "verify",
                "2026.2",
                "--identity",
                self.ada.to_str().unwrap(),
            ],
        );
        serde_json::from_str::<serde_json::Value>(&text).unwrap()[0].clone()
    }
}

/// The cycle of the brief, through the binary: the 2026.2 key on card A
/// signs the cross-signature, the extension (and its new ladder) and the
/// revocation; the escrow, on a copy of the vault made before the load,
/// does the same. gpg sees the same signatures, all good.
#[test]
fn a_cycle_through_the_binary_with_the_primary_on_card_a() {
    let _card = take("A");
    let start = std::time::Instant::now();
    let (env, roster) = two_cycles("ed25519");
    let copy = env.path("vault-escrow");
    copy_tree(&env.vault, &copy);
    let copy_home = env.path("home-escrow");
    std::fs::create_dir_all(&copy_home).unwrap();
    std::fs::copy(
        trust_home().join("trust.toml"),
        copy_home.join("trust.toml"),
    )
    .unwrap();
    let tw = Twins {
        env: &env,
        vault: env.vault.clone(),
        copy,
        copy_home,
        ada: roster.age_id.as_path(),
        pin: write(&env, "user-pin", &format!("{USER_PIN}\n")),
        ident: format!("0000:{:08X}", serial("A")),
    };
    let (vault, ident) = (&tw.vault, &tw.ident);

    card_load(&env, vault, "2026.2", &[tw.ada], "A");
    let status = run_ok(kc(&env, vault, GEN, None), &["status", "2026.2"]);
    let line = format!(
        "secret        escrow + card serial {} ({ident}",
        serial("A")
    );
    assert!(status.contains(&line), "{status}");
    let status = run_ok(tw.kc(&tw.copy, GEN), &["status", "2026.2"]);
    assert!(status.contains("secret        escrow only"), "{status}");
    let count = card_json(&env, vault, "A")["signature_count"]
        .as_u64()
        .unwrap();
    let escrow_files = ["primary.age", "revocation.age", "revocation-retired.age"]
        .map(|f| key_file(vault, "2026.2", f));

    let views = [
        tw.step(
            "2026-08-02T00:00:00Z",
            &["cross-sign", "--from", "2026.2", "--to", "2027.1"],
        ),
        tw.step(
            "2026-08-03T00:00:00Z",
            &["extend", "2026.2", "--until", "2027-06-01"],
        ),
        tw.step(
            "2026-08-04T00:00:00Z",
            &[
                "revoke",
                "2026.2",
                "--reason",
                "superseded",
                "--message",
                "next cycle",
                "--yes",
            ],
        ),
    ];
    let old_fpr = cert_of(vault, "2026.2").fingerprint().to_hex();
    // After the cross-sign and the extension gpg checks the card's
    // certification of 2027.1 as good ("!"); after the revocation it no
    // longer checks what the revoked key signed, for both alike.
    for (_, sigs) in &views[..2] {
        assert!(
            sigs.lines()
                .any(|l| l.starts_with("sig:!:") && l.contains(&old_fpr[24..])),
            "gpg accepts the card's cross-signature:\n{sigs}"
        );
    }
    let (_g, list, sigs) = gpg_view(
        &[&cert_of(vault, "2026.2")],
        &old_fpr,
        "2026-08-04T00:00:00Z",
    );
    assert!(
        list.lines().any(|l| l.starts_with("pub:r:")),
        "revoked:\n{list}"
    );
    let until = t("2027-06-01T00:00:00Z").timestamp().to_string();
    assert!(
        list.lines()
            .any(|l| l.starts_with("pub:") && l.split(':').nth(6) == Some(&until)),
        "extended:\n{list}"
    );
    for l in sigs
        .lines()
        .filter(|l| l.starts_with("sig:") || l.starts_with("rev:"))
    {
        assert!(
            l.starts_with("sig:!:") || l.starts_with("rev:!:"),
            "gpg: {l}\n{sigs}"
        );
    }
    eprintln!(
        "gpg --check-sigs of 2027.1 after the card's cross-sign:\n{}",
        views[0].1
    );

    let made = card_json(&env, vault, "A")["signature_count"]
        .as_u64()
        .unwrap()
        - count;
    // With the card, extend re-sealed only the ladder: the escrowed key and
    // hard revocation are the very same files; the drill still passes, with
    // as many rungs as the escrow's own re-made ladder.
    assert_eq!(key_file(vault, "2026.2", "primary.age"), escrow_files[0]);
    assert_eq!(key_file(vault, "2026.2", "revocation.age"), escrow_files[1]);
    assert_ne!(
        key_file(vault, "2026.2", "revocation-retired.age"),
        escrow_files[2]
    );
    let (d_hw, d_sw) = (tw.drill(vault), tw.drill(&tw.copy));
    assert_eq!(d_hw["secret_matches"], true);
    assert_eq!(d_hw["ladder_rungs"], d_sw["ladder_rungs"], "{d_hw} {d_sw}");
    // The card made them: one certification, the bindings, one revocation
    // and the whole ladder re-made from the new bindings to the new expiry.
    let rungs = d_hw["ladder_rungs"].as_u64().unwrap();
    assert!(rungs > 40, "{d_hw}");
    assert!(
        made > 3 + rungs,
        "the card counted {made} signatures, {rungs} rungs"
    );
    // The audit log says what signed.
    let log = std::fs::read_to_string(vault.join("audit.log")).unwrap();
    assert_eq!(
        log.matches(&format!("\"with\":\"card {ident}\"")).count(),
        3,
        "{log}"
    );

    // Nothing secret reached the disk: the test's directory (both vaults,
    // the PIN files, the binary's TMPDIR) and the gpg homes.
    let copy_vault = open_vault(&tw.copy);
    let ids = Identities::from_paths(&[tw.ada]).unwrap();
    let escrowed = custody_mod::open(&copy_vault, &key(&copy_vault, "2026.2"), &ids).unwrap();
    let secret = secret_bytes(escrowed.cert());
    nowhere_on_disk(env.dir.path(), &secret);
    for (g, _) in &views {
        nowhere_on_disk(g.home.path(), &secret);
    }
    eprintln!(
        "cycle through the binary: {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

/// Wrong PIN, no PIN, no card: one line each, naming what to do; the
/// retry counter is reported; nothing changes. The escrow still works
/// with --identity; rotate-subkey needs it anyway.
#[test]
fn wrong_pin_no_pin_no_card_and_rotate_through_the_binary() {
    let _card = take("A");
    let (env, roster) = two_cycles("ed25519");
    let vault = env.vault.clone();
    let ada = roster.age_id.to_str().unwrap();
    card_load(&env, &vault, "2026.2", &[roster.age_id.as_path()], "A");
    let ident = format!("0000:{:08X}", serial("A"));
    let wrong = write(&env, "wrong-pin", "654321\n");
    let cross = ["cross-sign", "--from", "2026.2", "--to", "2027.1"];
    let before = armored(&cert_of(&vault, "2027.1"));

    // A wrong user PIN: one line with the tries left, and the card agrees.
    let mut args = vec!["--pin-file", wrong.to_str().unwrap()];
    args.extend(cross);
    let err = run_fails(kc(&env, &vault, GEN, Some("A")), &args);
    assert_eq!(
        err,
        [
            format!(
                "error: wrong user PIN for OpenPGP card {ident}: 2 tries left before it blocks"
            ),
            "hint: check --pin-file (or KEYCYCLE_PIN); do not retry blindly".to_string(),
        ]
    );
    let st = run_ok(kc(&env, &vault, GEN, Some("A")), &["card", "status"]);
    assert!(st.contains("PIN tries left: user 2, admin 3"), "{st}");
    assert_eq!(
        armored(&cert_of(&vault, "2027.1")),
        before,
        "nothing changed"
    );

    // No PIN in --batch (no --pin-file, no KEYCYCLE_PIN), no --identity:
    // names both ways out, and uses no try.
    let err = run_fails(kc(&env, &vault, GEN, Some("A")), &cross);
    assert_eq!(err.len(), 2, "{err:?}");
    assert_eq!(
        err[0],
        format!(
            "error: the user PIN of OpenPGP card {ident} is needed to use the primary of 2026.2"
        )
    );
    assert!(
        err[1].contains("--pin-file") && err[1].contains("--identity"),
        "{err:?}"
    );
    // KEYCYCLE_PIN answers in --batch; the right PIN resets the counter.
    let mut c = kc(&env, &vault, GEN, Some("A"));
    c.env("KEYCYCLE_PIN", USER_PIN);
    assert!(run_ok(c, &cross).contains(&format!("card {ident}")));
    let st = run_ok(kc(&env, &vault, GEN, Some("A")), &["card", "status"]);
    assert!(st.contains("PIN tries left: user 3"), "{st}");

    // No card reachable: one line naming --identity as the fallback …
    let err = run_fails(kc(&env, &vault, GEN, None), &cross);
    assert_eq!(
        err,
        [
            format!("error: the primary of 2026.2 is on OpenPGP card {ident}, which cannot be used: no OpenPGP card found: the PC/SC daemon (pcscd) is not reachable"),
            format!("hint: {}", card::NO_CARD_HINT),
        ]
    );
    let err = run_fails(
        kc(&env, &vault, GEN, None),
        &["extend", "2026.2", "--until", "2027-06-01"],
    );
    assert!(
        err[0].contains("which cannot be used") && err[1].contains("--identity"),
        "{err:?}"
    );
    // … and with it, the escrow signs, and says why.
    let mut args = cross.to_vec();
    args.extend(["--identity", ada]);
    let out = run_ok(kc(&env, &vault, GEN, None), &args);
    assert!(
        out.contains(&format!(
            "signed with the escrow (card {ident} is not present)"
        )),
        "{out}"
    );

    // rotate-subkey needs the escrow even with the card: said so in one
    // line; with --identity it works (the escrow's primary signs).
    let rotate = [
        "rotate-subkey",
        "--reason",
        "superseded",
        "2026.2",
        "--message",
        "CI node exposed",
    ];
    let mut c = kc(&env, &vault, GEN, Some("A"));
    c.env("KEYCYCLE_PIN", USER_PIN);
    let err = run_fails(c, &rotate);
    assert_eq!(err.len(), 2, "{err:?}");
    assert!(
        err[0].starts_with(&format!("error: rotate-subkey needs the escrow even with the primary of 2026.2 on OpenPGP card {ident}")),
        "{err:?}"
    );
    assert!(err[1].contains("--identity"), "{err:?}");
    let mut args = rotate.to_vec();
    args.extend(["--identity", ada]);
    assert!(run_ok(kc(&env, &vault, GEN, None), &args).contains("New signing subkey"));
}

/// Threshold escrow: the revocations are sealed apart from the shares, so
/// the card extends alone: the ladder re-made and re-sealed, the shares
/// and the hard revocation untouched.
#[test]
fn extend_with_the_card_under_threshold_escrow_reseals_only_the_ladder() {
    let _card = take("A");
    let env = Env::new(GEN);
    let (ids, _) = env.two_of_three_roots();
    env.ok(&["generate", "--cycle", "next"]);
    let vault = env.vault.clone();
    card_load(&env, &vault, "2027.1", &[&ids[0], &ids[1]], "A");
    let pin = write(&env, "user-pin", &format!("{USER_PIN}\n"));
    let extend = [
        "--pin-file",
        pin.to_str().unwrap(),
        "extend",
        "2027.1",
        "--until",
        "2027-08-01",
    ];
    let shares_before = std::fs::read_dir(key(&open_vault(&vault), "2027.1").dir.join("shares"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect::<std::collections::BTreeSet<_>>();
    let hard = key_file(&vault, "2027.1", "revocation.age");
    let ladder = key_file(&vault, "2027.1", "revocation-retired.age");
    run_ok(kc(&env, &vault, "2027-04-01", Some("A")), &extend);
    let shares_after = std::fs::read_dir(key(&open_vault(&vault), "2027.1").dir.join("shares"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(shares_before, shares_after);
    assert_eq!(key_file(&vault, "2027.1", "revocation.age"), hard);
    assert_ne!(key_file(&vault, "2027.1", "revocation-retired.age"), ladder);
    // One root's drill: its share, and the re-made ladder valid.
    let drill = run_ok(
        kc(&env, &vault, "2027-04-02", None),
        &["escrow", "verify", "--identity", ids[1].to_str().unwrap()],
    );
    assert!(
        drill.contains("sealed apart, open and are valid"),
        "{drill}"
    );
}

/// A card's fingerprint is only a record: a card holding another key but
/// showing 2026.2's fingerprint (and the vault's `[[card]]` record) is
/// caught at its first signature; nothing is written.
#[test]
fn a_card_whose_fingerprint_lies_signs_nothing() {
    on_card(Some("A"), "cli::child_forged_fingerprint");
}

#[test]
#[ignore = "run by a_card_whose_fingerprint_lies_signs_nothing"]
fn child_forged_fingerprint() {
    child();
    let (env, roster) = two_cycles("ed25519");
    let vault = env.vault.clone();
    // The child is bound to card A already; so is every binary it runs.
    let kc_here = |time: &str| {
        let mut c = kc(&env, &vault, time, None);
        c.env(
            "PCSCLITE_CSOCK_NAME",
            std::env::var("PCSCLITE_CSOCK_NAME").unwrap(),
        );
        c
    };
    let admin = write(&env, "admin-pin", &format!("{ADMIN_PIN}\n"));
    let mut c = kc_here(GEN);
    c.args(["card", "load", "2026.2", "--overwrite", "--identity"])
        .arg(&roster.age_id)
        .arg("--admin-pin-file")
        .arg(&admin);
    c.assert().success();
    let old = key(&open_vault(&vault), "2026.2");
    // Another key into the slot, then the slot's fingerprint record set to
    // 2026.2's (what anyone with the admin PIN can write).
    let (other, _) = openpgp::cert::CertBuilder::general_purpose(Some("Other <o@example.org>"))
        .generate()
        .unwrap();
    card::load_primary(&other, None, pin(ADMIN_PIN).as_ref()).unwrap();
    forge_signature_fingerprint(&old.state.fingerprint);
    let shown = run_ok(kc_here(GEN), &["card", "status"]);
    assert!(
        shown.contains("2026.2 primary; matches the vault's record"),
        "{shown}"
    );

    let before = snapshot(&vault.join("keys"));
    let pin_file = write(&env, "user-pin", &format!("{USER_PIN}\n"));
    let err = run_fails(
        kc_here(GEN),
        &[
            "--pin-file",
            pin_file.to_str().unwrap(),
            "cross-sign",
            "--from",
            "2026.2",
            "--to",
            "2027.1",
        ],
    );
    let ident = format!("0000:{:08X}", serial("A"));
    assert_eq!(err.len(), 2, "{err:?}");
    assert_eq!(
        err[0],
        format!("error: OpenPGP card {ident} made a signature that key {} does not verify: its signature slot does not hold that key, whatever fingerprint it shows", old.state.fingerprint)
    );
    assert!(err[1].contains("nothing was signed or written"), "{err:?}");
    assert_eq!(snapshot(&vault.join("keys")), before, "nothing was written");
}

/// Set the fingerprint the card shows for its signature slot (PUT DATA,
/// admin PIN): the host writes it; the card does not check it.
fn forge_signature_fingerprint(hex_fpr: &str) {
    use openpgp_card::ocard::data::Fingerprint;
    use openpgp_card::ocard::KeyType;
    let mut backends = card_backend_pcsc::PcscBackend::card_backends(None).unwrap();
    let mut c = openpgp_card::Card::new(backends.next().unwrap().unwrap()).unwrap();
    let mut tx = c.transaction().unwrap();
    tx.verify_admin_pin(age::secrecy::SecretString::from(ADMIN_PIN.to_string()))
        .unwrap();
    let bytes: [u8; 20] = (0..20)
        .map(|i| u8::from_str_radix(&hex_fpr[2 * i..2 * i + 2], 16).unwrap())
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();
    tx.card()
        .set_fingerprint(Fingerprint::from(bytes), KeyType::Signing)
        .unwrap();
}
