//! Help, completions and man pages come from the binary itself.


use crate::common::*;

#[test]
fn every_subcommand_has_help_with_an_example() {
    let env = Env::new("2026-08-01");
    let top = env.ok(&["--help"]);
    let subs: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .filter(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .filter(|s| s != "help")
        .collect();
    assert!(subs.len() >= 20, "{subs:?}");
    for s in subs {
        let help = env.ok(&[&s, "--help"]);
        assert!(
            help.contains("Example"),
            "{s} --help has no example:\n{help}"
        );
    }
}

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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("keycycle"));
    let man = env.ok(&["man"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(man.contains("keycycle"));
}
