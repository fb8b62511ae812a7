//! Every field shown for review is shown as text (issue 20, part 2): a
//! value from a vault file, a file name or a key directory's name reaches
//! the terminal escaped, so it cannot move the cursor, erase or repaint a
//! line, or forge a new one. Each test is the attack as a committer (or
//! whoever names a release artifact) would make it; the output is checked
//! byte by byte.

use crate::common::*;
use std::path::Path;
use std::process::Output;

const T: &str = "2026-08-01T12:00:00Z";
const LATER: &str = "2026-08-20T12:00:00Z";

/// The characters that can repaint a terminal, in every class: escape,
/// carriage return, backspace, DEL, C1 (`CSI` as one character, `NEL`),
/// bidirectional overrides and marks.
const HOSTILE: &[char] = &[
    '\u{1b}', '\r', '\u{8}', '\u{7f}', '\u{9b}', '\u{85}', '\u{202e}', '\u{2066}', '\u{200f}',
    '\u{61c}',
];

/// stdout and stderr hold none of [`HOSTILE`] as raw bytes (UTF-8 C1 is
/// `c2 80`–`c2 9f`); returns stdout as text.
fn clean(what: &str, out: &Output) -> String {
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        let raw = bytes.contains(&0x1b)
            || bytes.contains(&0x0d)
            || bytes.contains(&0x08)
            || bytes.contains(&0x7f)
            || bytes
                .windows(2)
                .any(|w| w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1]))
            || text.chars().any(|c| HOSTILE.contains(&c));
        assert!(!raw, "{what}: raw control characters on {name}: {text:?}");
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A TOML basic string of `s` (JSON's escapes are TOML's; TOML wants
/// DEL escaped too).
fn toml_str(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap()
        .replace('\u{7f}', "\\u007f")
}

/// `policy show` is what a root reads before signing. A committer
/// hand-writes version 2: an added root whose fingerprint erases its own
/// lines and repaints the root count, a key whose cycle does the same.
/// What the root sees is every byte as text, and the added root in a diff
/// against the version in force.
#[test]
fn attack_policy_show_repainted_by_a_hand_written_proposal() {
    let (k, _ada, _bob) = vault_with_signed_key(T);
    let env = &k.env;
    let v1: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "policy", "show", "1"])).unwrap();
    let p = &v1["policy"];
    let (_, mallory_r) = env.age_identity("mallory");
    let erase = "\u{1b}[1A\u{1b}[2K".repeat(3);
    let mut text = format!(
        "format = 1\nversion = 2\nprevious = {}\npolicy_threshold = {}\nescrow_threshold = {}\n",
        toml_str(v1["digest"].as_str().unwrap()),
        p["policy_threshold"],
        p["escrow_threshold"],
    );
    let mut roots: Vec<serde_json::Value> = p["root"].as_array().unwrap().clone();
    roots.push(serde_json::json!({
        "name": "Mallory\u{202e}",
        "email": "m@example.org\u{9b}2K",
        "fingerprint": format!("{erase}\r  escrow: 1 of 3 roots\u{85}"),
        "escrow_recipient": mallory_r,
    }));
    for r in &roots {
        text.push_str("\n[[root]]\n");
        for f in ["name", "email", "fingerprint", "escrow_recipient"] {
            if let Some(v) = r[f].as_str() {
                text.push_str(&format!("{f} = {}\n", toml_str(v)));
            }
        }
    }
    for key in p["key"].as_array().unwrap() {
        let cycle = format!(
            "{}{erase}\r\u{8}\u{7f}\u{2066}",
            key["cycle"].as_str().unwrap()
        );
        text.push_str(&format!(
            "\n[[key]]\ncycle = {}\nfingerprint = {}\n",
            toml_str(&cycle),
            key["fingerprint"]
        ));
    }
    std::fs::write(env.vault.join("policy/v2.toml"), text).unwrap();

    let out = env.run_at(LATER, &["policy", "show"]);
    assert!(out.status.success(), "{out:?}");
    let shown = clean("policy show", &out);
    assert!(shown.contains("policy version 2"), "{shown}");
    assert!(shown.contains("1 of 3 roots"), "the real count: {shown}");
    assert!(
        shown.contains("OpenPGP \\u{1b}[1A\\u{1b}[2K") && shown.contains("\\r  escrow: 1 of 3"),
        "the fingerprint as text: {shown}"
    );
    assert!(
        shown.contains("\\u{202e}") && shown.contains("\\u{9b}2K"),
        "{shown}"
    );
    assert!(
        shown.contains("\\r\\u{8}\\u{7f}\\u{2066}"),
        "the cycle: {shown}"
    );
    // The diff: the added root in full, the key whose cycle changed.
    assert!(
        shown.contains("changes from version 1 (the version in force):"),
        "{shown}"
    );
    let added = shown
        .lines()
        .position(|l| l.starts_with("+ root  Mallory\\u{202e}"))
        .unwrap_or_else(|| panic!("the added root: {shown}"));
    let lines: Vec<&str> = shown.lines().collect();
    assert!(lines[added + 1].contains("OpenPGP \\u{1b}"), "{shown}");
    assert_eq!(lines[added + 2], format!("        escrow  {mallory_r}"));
    assert!(
        shown.lines().any(|l| l.starts_with("~ key   ")),
        "the changed cycle: {shown}"
    );
    let out = env.run_at(LATER, &["policy", "status"]);
    clean("policy status", &out);
    // The same for a program: JSON, the added root among the changes.
    let out = env.run_at(LATER, &["--json", "policy", "show"]);
    let json: serde_json::Value = serde_json::from_str(&clean("policy show --json", &out)).unwrap();
    let added = &json["changes"].as_array().unwrap()[0];
    assert_eq!(added["change"], "root_added", "{json}");
    assert_eq!(added["root"]["name"], "Mallory\u{202e}", "{json}");
}

/// An error names the path it failed on, on one line: a file name that
/// erases the error line and prints a reassuring one is shown as text.
#[test]
fn attack_error_message_path_repaints_the_error() {
    let env = Env::new(T);
    let name = "release.asc\u{1b}[2K\u{1b}[1A\rGOOD  release.tar.gz\nhint: nothing to do\u{9b}";
    let out = env
        .cmd()
        .arg("inspect")
        .arg(env.path(name))
        .output()
        .unwrap();
    assert!(!out.status.success());
    clean("inspect", &out);
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "one error line, one hint: {err}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("\\u{1b}[2K\\u{1b}[1A\\rGOOD"),
        "{err}"
    );
    assert!(
        lines[1].starts_with("hint: ") && !lines[1].contains("nothing to do"),
        "{err}"
    );
}

/// An artifact named to repaint its BAD line as GOOD (and to forge a GOOD
/// line after it): the name is shown as text, the verdict stays BAD.
#[test]
fn attack_verify_artifact_name_repaints_bad_as_good() {
    let k = vault_with_key(T);
    let env = &k.env;
    let name = format!(
        "release.tar.gz\u{1b}[2K\r\u{1b}[32mGOOD  release.tar.gz  signed {T}\u{9b}0m\u{202e}\nGOOD  x"
    );
    let file = env.path(&name);
    std::fs::write(&file, b"backdoored release\n").unwrap();
    std::fs::write(env.path(&format!("{name}.asc")), b"not a signature\n").unwrap();
    let cert = env.key_dir().join("cert.asc");
    let out = env
        .cmd()
        .arg("verify")
        .arg("--cert")
        .arg(&cert)
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let shown = clean("verify", &out);
    let first = shown.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("BAD   ") && first.contains("\\u{1b}[2K\\r\\u{1b}[32mGOOD"),
        "{shown}"
    );
    assert!(
        !shown.lines().any(|l| l.starts_with("GOOD")),
        "no forged line: {shown}"
    );
    assert!(shown.contains("verify: 0 good, 1 bad"), "{shown}");
}

/// A key directory planted by commit under a name that erases the NOT
/// TRUSTED line and prints a reassuring one: `status` and `policy status`
/// show the name as text and the warning stays on its line.
#[test]
fn attack_key_directory_name_hides_not_trusted() {
    let (k, _ada, _bob) = vault_with_signed_key(T);
    let env = &k.env;
    // The attacker's key, made from a copy of the vault on their machine.
    let evil = env.path("attacker-home");
    std::fs::create_dir_all(&evil).unwrap();
    let copy = env.path("attacker-vault");
    copy_dir(&env.vault, &copy);
    let attacker = |args: &[&str]| {
        let out = assert_cmd::Command::new(BIN)
            .args(["--batch", "--time", T, "--vault"])
            .arg(&copy)
            .env("KEYCYCLE_HOME", &evil)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "attacker {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let v1: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "policy", "show", "1"])).unwrap();
    attacker(&["policy", "pin", v1["digest"].as_str().unwrap()]);
    let planted: serde_json::Value =
        serde_json::from_str(&attacker(&["--json", "generate", "--cycle", "2027.2"])).unwrap();
    let name = "2027.2\u{1b}[2K\u{1b}[1A\u{1b}[2K\rOK: every key is in the signed policy\u{9b}8m\u{202e}\n";
    copy_dir(
        Path::new(planted["directory"].as_str().unwrap()),
        &env.vault.join("keys").join(name),
    );

    let out = env.run_at(LATER, &["status", "--check"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let shown = clean("status", &out);
    assert!(
        shown.lines().any(|l| l.starts_with("CRITICAL: ")
            && l.contains("\\u{1b}[2K\\u{1b}[1A\\u{1b}[2K\\rOK: every key")
            && l.contains("\\u{202e}\\n appeared by commit")),
        "{shown}"
    );
    assert!(!shown.lines().any(|l| l.starts_with("OK: ")), "{shown}");

    let out = env.run_at(LATER, &["policy", "status"]);
    assert!(out.status.success(), "{out:?}");
    let shown = clean("policy status", &out);
    assert!(
        shown.lines().any(|l| l.starts_with("NOT TRUSTED: ")
            && l.contains("\\u{1b}[2K\\u{1b}[1A")
            && l.contains("\\u{202e}\\n appeared by commit")),
        "{shown}"
    );
    assert!(!shown.lines().any(|l| l.starts_with("OK: ")), "{shown}");
}

/// The one function every value goes through, from outside the library.
#[test]
fn shown_escapes_every_class_and_keeps_text() {
    use keycycle::base::text::shown;
    for &c in HOSTILE
        .iter()
        .chain(&['\n', '\t', '\u{0}', '\u{9f}', '\u{200e}'])
    {
        let s = shown(&format!("a{c}b"));
        assert!(
            s.starts_with("a\\") && !s.chars().any(|x| x.is_control() || HOSTILE.contains(&x)),
            "{c:?}: {s:?}"
        );
    }
    assert_eq!(
        shown("Zoë <zoe@example.org> 2027.1"),
        "Zoë <zoe@example.org> 2027.1"
    );
    assert_eq!(shown("\u{1b}[2K\r1 of 3"), "\\u{1b}[2K\\r1 of 3");
}
