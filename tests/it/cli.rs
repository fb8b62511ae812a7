//! Completions and man pages come from the binary itself. (Every
//! subcommand's help: `tests/cmd/help/`, checked in `cmd.rs`.)

use crate::common::*;

#[test]
fn bash_completions_load_and_man_renders() {
    let env = Env::new("2026-08-01");
    let script = env.path("keycycle.bash");
    std::fs::write(&script, env.ok(&["completions", "bash"])).unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p keycycle",
            script.display()
        ))
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("keycycle"));
    let man = env.ok(&["man"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(man.contains("keycycle"));
}

/// `keycycle man --output DIR`: keycycle.1 and a page per command at every
/// depth (as many as there are help cases), each with the sections
/// clap_mangen has no source for; written again, the pages are replaced
/// and no temporary is left.
#[test]
fn man_output_writes_a_page_per_command_with_its_sections() {
    let env = Env::new("2026-08-01");
    let dir = env.path("man");
    let d = dir.to_str().unwrap();
    let said = env.ok(&["man", "--output", d]);
    assert!(said.starts_with("Wrote "), "{said}");
    env.ok(&["man", "--output", d]);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.iter().all(|n| n.ends_with(".1")), "{names:?}");
    // One page per help case (`help/a-b.toml`: keycycle a b --help).
    let help = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cmd/help");
    let mut want = vec!["keycycle.1".to_string()];
    for e in std::fs::read_dir(help).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".toml") else {
            continue;
        };
        if stem != "top-level" && (cfg!(feature = "card") || !stem.starts_with("card")) {
            want.push(format!("keycycle-{stem}.1"));
        }
    }
    want.sort();
    assert_eq!(names, want);
    for name in ["keycycle.1", "keycycle-ceremony.1", "keycycle-roster-add.1"] {
        let page = std::fs::read_to_string(dir.join(name)).unwrap();
        for part in [
            ".SH EXAMPLES",
            ".SH ENVIRONMENT",
            ".SH \"EXIT STATUS\"",
            ".SH FILES",
            "KEYCYCLE_VAULT",
            "KEYCYCLE_HOME",
            "KEYCYCLE_PIN",
            "keycycle.toml",
        ] {
            assert!(page.contains(part), "{name}: no {part}");
        }
        // The examples have their section, not the description's end.
        assert!(!page.contains("Example: "), "{name}");
    }
    let ceremony = std::fs::read_to_string(dir.join("keycycle-ceremony.1")).unwrap();
    assert!(ceremony.contains(".SH \"GLOBAL OPTIONS\""));
    assert!(ceremony.contains(".RS 4\nkeycycle ceremony"), "{ceremony}");
    let status = std::fs::read_to_string(dir.join("keycycle-status.1")).unwrap();
    assert!(status.contains("status \\-\\-check, for monitoring"));
    // groff reads every page without a warning (-k: UTF-8 through preconv).
    let groff = std::process::Command::new("sh")
        .args(["-c", "command -v groff"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !groff {
        eprintln!("groff not installed: the pages were not rendered");
        return;
    }
    for name in &names {
        let out = std::process::Command::new("groff")
            .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
            .arg(dir.join(name))
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Subcommand help lists the global options under their own heading; a
/// build without the `card` feature hides `card` and, when it is called
/// anyway, says how to build with it.
#[test]
fn global_options_have_their_heading_and_card_needs_its_feature() {
    let env = Env::new("2026-08-01");
    let help = env.ok(&["status", "--help"]);
    let global = help.split("Global options:\n").nth(1).expect(&help);
    assert!(global.starts_with("      --vault <DIR>"), "{help}");
    assert!(!help
        .split("Global options:")
        .next()
        .unwrap()
        .contains("--batch"));
    let top = env.ok(&["--help"]);
    let lists_card = top.lines().any(|l| l.starts_with("  card "));
    assert_eq!(lists_card, cfg!(feature = "card"), "{top}");
    if !cfg!(feature = "card") {
        let out = env.fails(&["card", "status"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("built without OpenPGP card support"), "{err}");
        assert!(err.contains("--features card"), "{err}");
    }
}
