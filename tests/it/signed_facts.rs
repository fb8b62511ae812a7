//! Facts the vault states that only a signature (or this machine) can
//! vouch for, attacked by someone with commit access: escrowed revocations
//! swapped between their files, a ceremony record naming another key or
//! claiming steps only a person can attest, and root attestations counted
//! from the unsigned draft roster. Each attack is refused or ignored.

use crate::common::*;
use std::path::Path;

const GEN: &str = "2026-08-01T12:00:00Z";
/// After the first rungs of the ladder (weekly from GEN).
const LATER: &str = "2026-11-04T12:00:00Z";

/// Run `args` at `at`: it must fail with one error line and one hint
/// line (no panic), and leave the vault as it was. Returns stderr.
fn refused(env: &Env, at: &str, args: &[&str]) -> String {
    let before = snapshot(&env.vault);
    let out = env.cmd_at(at).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "{args:?} succeeded:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_ne!(out.status.code(), Some(101), "{args:?} panicked: {stderr}");
    // The error and its hint end the output (the ceremony says what it
    // does before).
    let lines: Vec<&str> = stderr.lines().collect();
    let n = lines.len();
    assert!(
        n >= 2
            && lines[n - 2].starts_with("error: ")
            && lines[n - 1].starts_with("hint: ")
            && stderr.matches("error: ").count() == 1,
        "{args:?}: want one error line and one hint line, got:\n{stderr}"
    );
    assert_eq!(before, snapshot(&env.vault), "{args:?} changed the vault");
    stderr
}

/// Swap two files by renaming, as a commit can.
fn swap(a: &Path, b: &Path) {
    let tmp = a.with_extension("swap");
    std::fs::rename(a, &tmp).unwrap();
    std::fs::rename(b, a).unwrap();
    std::fs::rename(&tmp, b).unwrap();
}

/// `revocation.age` (hard) and `revocation-retired.age` (the soft ladder)
/// are sealed to the same roots, so a committer swaps them without opening
/// either: `--reason compromised` would publish a soft rung (a thief's
/// backdated signatures stay good), `--reason retired` the hard one (every
/// honest release turns bad). Both are refused, naming the file and what
/// it holds; the drill refuses too; nothing is written.
#[test]
fn swapped_escrowed_revocations_are_refused() {
    let k = vault_with_key(GEN);
    let dir = k.env.key_dir();
    let (hard, soft) = (
        dir.join("revocation.age"),
        dir.join("revocation-retired.age"),
    );
    swap(&hard, &soft);
    let (id, fpr) = (k.id(), k.fpr.clone());
    for (reason, at, file, holds) in [
        ("compromised", GEN, &hard, "'retired'"),
        ("retired", LATER, &soft, "'compromised'"),
    ] {
        let e = refused(
            &k.env,
            at,
            &[
                "revoke",
                &fpr,
                "--yes",
                "--escrowed-certificate",
                "--reason",
                reason,
                "--message",
                "lost",
                "--identity",
                &id,
            ],
        );
        assert!(
            e.contains(&file.display().to_string()),
            "names the file: {e}"
        );
        assert!(e.contains(holds), "says what it holds: {e}");
    }
    for at in [GEN, LATER] {
        let e = refused(&k.env, at, &["escrow", "verify", &fpr, "--identity", &id]);
        assert!(e.contains("revocation"), "{e}");
    }
    // Put back, the same commands work: the checks refuse only the swap.
    swap(&hard, &soft);
    k.env.ok(&["escrow", "verify", &fpr, "--identity", &id]);
}

/// The ceremony of the tests' next cycle (2027.1), at `CER`.
const CER: &str = "2026-08-15T10:00:00Z";

/// A committed `ceremonies/2027.1.toml` naming another trusted key — last
/// cycle's, which the signed policy lists for 2026.2 — with its first
/// steps marked done: the ceremony would cross-sign that key with itself
/// and hand its signing subkey to CI. It refuses, naming the record;
/// nothing is written, in the vault or at `--subkey-out`.
#[test]
fn a_ceremony_record_naming_another_key_is_refused() {
    let env = Env::new(CER);
    let r = env.vault_with_roster();
    let prev: serde_json::Value = serde_json::from_str(
        &String::from_utf8(
            env.run_at("2026-03-01", &["--json", "generate", "--cycle", "2026.2"])
                .stdout,
        )
        .unwrap(),
    )
    .unwrap();
    let prev = prev["fingerprint"].as_str().unwrap();
    std::fs::create_dir_all(env.vault.join("ceremonies")).unwrap();
    std::fs::write(
        env.vault.join("ceremonies/2027.1.toml"),
        format!(
            "cycle = \"2027.1\"\nfingerprint = \"{prev}\"\n\n[done]\ngenerate = \"{prev}\"\nfingerprint = \"read aloud\"\ndrill = \"ok\"\n"
        ),
    )
    .unwrap();
    let sub = env.path("signing-subkey.asc");
    let id = r.age_id.display().to_string();
    let e = refused(
        &env,
        CER,
        &ceremony_no_publish_args(&id, sub.to_str().unwrap()),
    );
    assert!(
        e.contains("ceremonies/2027.1.toml") && e.contains(prev),
        "{e}"
    );
    assert!(!sub.exists(), "a subkey was handed out");
}

/// `fingerprint` and `drill` marked done by editing the vault's record:
/// only this machine's own record counts for steps a person attests, so
/// the ceremony asks again — in --batch it refuses naming the flag — and
/// runs the drill.
#[test]
fn ceremony_steps_marked_done_in_the_vault_are_done_again() {
    let env = Env::new(CER);
    let r = env.vault_with_roster();
    // The generate step runs; the fingerprint was not read yet.
    env.fails(&["ceremony", "--cycle", "next", "--confirm-roster"]);
    let record = env.vault.join("ceremonies/2027.1.toml");
    let text = std::fs::read_to_string(&record).unwrap();
    assert!(text.contains("[done]") && !text.contains("drill"), "{text}");
    std::fs::write(
        &record,
        text.replace(
            "[done]\n",
            "[done]\nfingerprint = \"read aloud\"\ndrill = \"ok\"\n",
        ),
    )
    .unwrap();
    let id = r.age_id.display().to_string();
    let e = refused(&env, CER, &["ceremony", "--cycle", "next", "--no-publish"]);
    assert!(e.contains("--fingerprint-read"), "{e}");
    let out = env.run(&[
        "ceremony",
        "--cycle",
        "next",
        "--no-publish",
        "--fingerprint-read",
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("--identity FILE"),
        "{e}"
    );
    let out = env.run(&[
        "ceremony",
        "--cycle",
        "next",
        "--no-publish",
        "--identity",
        &id,
    ]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("Escrow drill passed"), "{said}");
}

/// After the roots' certifications (`GpgRoot::certify` dates them
/// 2026-09-01).
const ATTESTED: &str = "2026-09-02T00:00:00Z";

/// Two keys of the attacker's written into `roster/` and named Ada and Bob
/// in the draft `roster/roster.toml`, in place of the fingerprints the
/// signed policy gives Ada and Bob; they certify the key and the
/// certifications are imported. `attestations import` does not accept
/// them, and `status`, the signed `announce`ment and `export page` count
/// only the policy's roots: 0 of 2, no majority.
#[test]
fn attestations_count_only_the_roots_of_the_signed_policy() {
    let (k, ada, bob) = vault_with_signed_key(GEN);
    let env = &k.env;
    let roster = env.vault.join("roster/roster.toml");
    let mut text = std::fs::read_to_string(&roster).unwrap();
    let mut files = Vec::new();
    for (real, name) in [(&ada, "Eve"), (&bob, "Mal")] {
        let fake = gpg_root(env, name);
        assert!(text.contains(&real.fpr), "{text}");
        text = text.replace(&real.fpr, &fake.fpr);
        std::fs::copy(
            &fake.public,
            env.vault.join(format!("roster/{}.asc", fake.fpr)),
        )
        .unwrap();
        files.push(fake.certify(env, &env.key_dir().join("cert.asc"), &k.fpr));
    }
    std::fs::write(&roster, text).unwrap();

    let mut import = env.cmd_at(ATTESTED);
    import
        .args(["--json", "attestations", "import"])
        .args(&files);
    let out = import.output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(!report.contains("\"accepted\""), "{report}");
    // Nor does committing the certifications straight into the key's cert.
    commit_certifications(&env.key_dir().join("cert.asc"), &files);

    let out = env.run_at(ATTESTED, &["--json", "status", "2027.1"]);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &s["keys"][0]["attestations"];
    assert_eq!(a["of"], 2, "{a}");
    assert_eq!(a["by"], serde_json::json!([]), "{a}");
    assert_eq!(a["majority"], false, "{a}");

    // The announcement, signed by the new key: gpg checks the signature,
    // and what it signs counts no root.
    let ann = env.path("announcement.txt");
    let out = env
        .cmd_at(ATTESTED)
        .args(["announce", "2027.1", "--identity", &k.id(), "-o"])
        .arg(&ann)
        .output()
        .unwrap();
    assert_ok(&out);
    let public = env.path("new.asc");
    env.ok(&["export", "public", &k.fpr, "-o", public.to_str().unwrap()]);
    let gpg = Gpg::at(ATTESTED);
    gpg.ok(&["--import", public.to_str().unwrap()], None);
    let v = gpg.run(&["--verify", ann.to_str().unwrap()], None);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let signed = std::fs::read_to_string(&ann).unwrap();
    assert!(!signed.contains("It is certified by"), "{signed}");
    assert!(
        signed.contains("No infra root has certified it yet"),
        "{signed}"
    );

    let site = env.path("site");
    let out = env.run_at(ATTESTED, &["export", "page", "-o", site.to_str().unwrap()]);
    assert_ok(&out);
    let html = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(
        !html.contains("majority reached"),
        "the page counts the attacker's keys"
    );
    assert!(html.contains("0 of 2 roots, majority not reached"));
}

/// Merge the certifications in `files` into the vault's `cert`, as a
/// commit can.
fn commit_certifications(cert: &Path, files: &[std::path::PathBuf]) {
    use openpgp::parse::Parse;
    use openpgp::serialize::Serialize;
    use sequoia_openpgp as openpgp;
    let mut merged = openpgp::Cert::from_file(cert).unwrap();
    for f in files {
        let c = openpgp::Cert::from_file(f).unwrap();
        merged = merged.merge_public(c).unwrap();
    }
    let mut out = Vec::new();
    merged.armored().serialize(&mut out).unwrap();
    std::fs::write(cert, out).unwrap();
}
