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
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("warning: "))
        .collect();
    assert!(
        lines.len() == 2 && lines[0].starts_with("error: ") && lines[1].starts_with("hint: "),
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
