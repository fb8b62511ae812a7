//! Every repository path the prose names exists. README.md, docs/ and
//! runbooks/ name files (`tests/it/signing.rs`, `docs/verification.md`), and
//! so do the comments of Cargo.toml, src/ and tests/; when a file moves, the
//! sentence that sends a reader there must move with it.
//!
//! A path is a word that starts at one of the repository's top-level
//! directories (`src/`, `tests/`, `docs/`, …) and ends with a file
//! extension or a slash: `dist/x.tar.gz` or `vault/keys/…` in a command
//! line are the user's paths, not the repository's, and are not read. A
//! glob or a placeholder ends the path where it starts
//! (`tests/fixtures/keys/*.txt` names `tests/fixtures/keys/`). Markdown
//! links (`[text](../docs/x.md)`) are read relative to their file. A path
//! git ignores is an output a tool writes there, and may be absent.

use crate::common::files_under;
use std::path::{Path, PathBuf};

/// The top-level directories of the repository a path may start at.
const TOP: &[&str] = &[
    ".ci",
    "benches",
    "data",
    "docs",
    "examples",
    "fuzz",
    "runbooks",
    "scripts",
    "src",
    "templates",
    "tests",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir` (relative to the crate) whose name ends in `ext`.
fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let dir = root().join(dir);
    assert!(dir.is_dir(), "{}", dir.display());
    files_under(&dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect()
}

/// The comment text of a source file: what follows `marker` on each line
/// (`//` in Rust, `#` in TOML), one line per line so numbers stay right.
fn comments(text: &str, marker: &str) -> String {
    text.lines()
        .map(|l| l.find(marker).map_or("", |i| &l[i..]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The repository paths a text names, with their line numbers.
fn repo_paths(text: &str) -> Vec<(usize, String)> {
    let top = TOP.iter().map(|t| regex::escape(t)).collect::<Vec<_>>();
    let re = regex::Regex::new(&format!(
        r"(?:^|[^A-Za-z0-9_./~$@-])((?:{})/[A-Za-z0-9_./-]*)",
        top.join("|")
    ))
    .unwrap();
    let named = regex::Regex::new(r"(/|\.[A-Za-z0-9]+)$").unwrap();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for c in re.captures_iter(line) {
            let p = c[1].trim_end_matches('.');
            if named.is_match(p) {
                out.push((n + 1, p.to_string()));
            }
        }
    }
    out
}

/// The relative targets of the Markdown links in a text, with line numbers.
fn md_links(text: &str) -> Vec<(usize, String)> {
    let re = regex::Regex::new(r"\]\(([^)\s#]+)(#[^)]*)?\)").unwrap();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for c in re.captures_iter(line) {
            let t = &c[1];
            if !t.contains("://") && !t.starts_with("mailto:") {
                out.push((n + 1, t.to_string()));
            }
        }
    }
    out
}

/// Whether git ignores `path`: then it is what a tool writes (`fuzz/logs/`,
/// `fuzz/artifacts/`), not a file of the repository.
fn ignored(path: &str) -> bool {
    std::process::Command::new("git")
        .args(["check-ignore", "-q", path])
        .current_dir(root())
        .status()
        .is_ok_and(|s| s.success())
}

/// `file:line: path` for every named path that does not exist.
fn stale() -> Vec<String> {
    let mut texts: Vec<(PathBuf, String)> = Vec::new();
    let mut read = |p: PathBuf, marker: Option<&str>| {
        let text = std::fs::read_to_string(&p).unwrap();
        let text = marker.map_or(text.clone(), |m| comments(&text, m));
        texts.push((p, text));
    };
    read(root().join("README.md"), None);
    for p in files("docs", ".md")
        .into_iter()
        .chain(files("runbooks", ".md"))
    {
        read(p, None);
    }
    read(root().join("Cargo.toml"), Some("#"));
    for p in files("src", ".rs").into_iter().chain(files("tests", ".rs")) {
        read(p, Some("//"));
    }
    let mut missing = Vec::new();
    for (file, text) in &texts {
        let name = file.strip_prefix(root()).unwrap().display().to_string();
        for (line, p) in repo_paths(text) {
            if !root().join(&p).exists() && !ignored(&p) {
                missing.push(format!("{name}:{line}: {p}"));
            }
        }
        if name.ends_with(".md") {
            let dir = file.parent().unwrap();
            for (line, p) in md_links(text) {
                if !dir.join(&p).exists() {
                    missing.push(format!("{name}:{line}: link {p}"));
                }
            }
        }
    }
    missing
}

#[test]
fn every_repository_path_named_in_the_prose_and_comments_exists() {
    let missing = stale();
    assert!(
        missing.is_empty(),
        "{} stale path(s):\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn the_scanner_reads_repository_paths_and_leaves_the_users_alone() {
    let text = "see `src/card.rs` and tests/it/common.rs.\n\
                keycycle sign dist/x.tar.gz vault/keys/a/cert.asc\n\
                tests/fixtures/keys/*.txt, src/cli/<command>.rs, runbooks/, .ci/run\n\
                $here/../docs/x.md ./docs/y.md";
    let got: Vec<String> = repo_paths(text).into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        got,
        [
            "src/card.rs",
            "tests/it/common.rs",
            "tests/fixtures/keys/",
            "src/cli/",
            "runbooks/"
        ]
    );
    let links = md_links("[a](../docs/x.md#s) [b](https://x.org/y) [c](#top) [d](a.md)");
    let got: Vec<String> = links.into_iter().map(|(_, p)| p).collect();
    assert_eq!(got, ["../docs/x.md", "a.md"]);
}
