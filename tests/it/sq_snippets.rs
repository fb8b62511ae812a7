//! The `sq` commands keycycle prints (the announcement) and ships
//! (runbooks) work with the sq Debian ships (0.x: `--signer-cert`) and
//! with sq 1.x (`--signer-file`): each is printed in both forms, labelled,
//! and every form the installed sq speaks is run here as written.

use crate::common::*;
use std::path::Path;

const T: &str = "2026-08-15T10:00:00Z";
const CHECK: &str = "2026-08-16T12:00:00Z";

/// The installed sq's major version (0 for Debian's 0.27).
fn sq_major() -> u32 {
    let out = sq_at(CHECK).arg("--version").output().unwrap();
    let v = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = v.split_whitespace().nth(1).unwrap_or("0").to_string();
    v.split('.').next().unwrap().parse().unwrap()
}

/// The sq command lines in `text` (trimmed, `sq ` first).
fn sq_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .map(|l| l.trim_start_matches("# "))
        .filter(|l| l.starts_with("sq "))
        .map(String::from)
        .collect()
}

/// Which sq a line is for: 0 (`--signer-cert`), 1 (`--signer-file`).
fn form(line: &str) -> u32 {
    match (
        line.contains("--signer-cert"),
        line.contains("--signer-file"),
    ) {
        (true, false) => 0,
        (false, true) => 1,
        _ => panic!("an sq line with neither or both forms: {line}"),
    }
}

/// Run `line` with `sh` in `dir` at CHECK (through faketime, as sq_at).
fn run(dir: &Path, line: &str) -> std::process::Output {
    require("faketime");
    std::process::Command::new("faketime")
        .env("TZ", "UTC")
        .args(["-f", "@2026-08-16 12:00:00", "sh", "-c", line])
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn every_sq_line_of_the_announcement_comes_in_both_forms_and_the_installed_sq_runs_its_own() {
    let env = Env::new(T);
    let (id, _) = env.vault_with_ada();
    let json = env.generate("2027.1");
    let fpr = json["fingerprint"].as_str().unwrap().to_lowercase();
    let dir = env.path("check");
    std::fs::create_dir_all(&dir).unwrap();
    let ann = dir.join("announcement.txt");
    env.ok(&[
        "announce",
        "--identity",
        id.to_str().unwrap(),
        "-o",
        ann.to_str().unwrap(),
    ]);
    let cert = dir.join(format!("0x{fpr}.txt"));
    env.ok(&["export", "public", &fpr, "-o", cert.to_str().unwrap()]);
    let lines = sq_lines(&std::fs::read_to_string(&ann).unwrap());
    let forms: Vec<u32> = lines.iter().map(|l| form(l)).collect();
    assert!(forms.contains(&0) && forms.contains(&1), "{lines:?}");
    let installed = sq_major();
    for line in &lines {
        let out = run(&dir, line);
        let err = String::from_utf8_lossy(&out.stderr);
        if form(line) == installed.min(1) {
            assert!(out.status.success(), "{line}: {err}");
            assert!(err.contains("1 good signature"), "{line}: {err}");
        } else {
            // The other sq's form is not this one's: why both are printed.
            assert!(!out.status.success(), "{line} ran with sq {installed}.x");
        }
    }
}

#[test]
fn every_sq_line_of_the_template_runbooks_and_readme_comes_in_both_forms() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md"), root.join("templates/announce.txt")];
    for e in std::fs::read_dir(root.join("runbooks")).unwrap() {
        files.push(e.unwrap().path());
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let lines = sq_lines(&text);
        let n0 = lines.iter().filter(|l| form(l) == 0).count();
        let n1 = lines.iter().filter(|l| form(l) == 1).count();
        assert_eq!(
            n0,
            n1,
            "{}: each sq 0.x line has its sq 1.x form: {lines:?}",
            f.display()
        );
    }
}
