//! `revoke` at a terminal: without KEY it asks which key (never a
//! default), the prompt states the consequence, and a wrong answer says
//! nothing changed — and changes nothing.

use crate::common::*;
use expectrl::Expect;

const T: &str = "2026-08-01T12:00:00Z";

#[test]
fn revoke_asks_which_key_states_the_consequence_and_a_wrong_answer_changes_nothing() {
    let k = vault_with_key(T);
    let before = snapshot(&k.env.vault);
    let id = k.id();
    let mut p = k.env.pty(&[
        "revoke",
        "--reason",
        "compromised",
        "--message",
        "test",
        "--identity",
        &id,
    ]);
    p.expect("Which key do you want to revoke?").unwrap();
    p.expect("2027.1/Indri").unwrap();
    settle();
    p.send("\r").unwrap();
    p.expect("Revoking 2027.1/Indri").unwrap();
    p.expect("every signature it ever made stops verifying")
        .unwrap();
    p.expect(format!("({})", &k.fpr[32..])).unwrap();
    settle();
    p.send("0000000\r").unwrap();
    p.expect("not confirmed: nothing was changed").unwrap();
    p.expect(expectrl::Eof).unwrap();
    assert_eq!(snapshot(&k.env.vault), before, "the vault changed");
}

#[test]
fn batch_revoke_without_key_names_the_argument() {
    let k = vault_with_key(T);
    let out = k.env.fails(&[
        "revoke",
        "--reason",
        "retired",
        "--message",
        "test",
        "--yes",
        "--identity",
        &k.id(),
    ]);
    assert_eq!(
        one_refusal(&out),
        "error: cannot ask \"Which key do you want to revoke?\": --batch, or no terminal\nhint: pass KEY (the fingerprint, key id or cycle of the key to revoke)\n"
    );
    let text = k.env.ok(&["status"]);
    assert!(text.contains("revocation    not revoked"), "{text}");
}
