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
