//! The layout rules of issue 11 as tests: where secrets are touched,
//! where output is printed, how large a file may grow. Each reads the
//! source tree as text.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every `.rs` file under `src/`, as (path relative to the crate, text).
fn tree() -> Vec<(String, String)> {
    tree_of("src")
}

/// Every `.rs` file under `dir` (relative to the crate), as (path, text).
fn tree_of(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join(dir), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Files of `tree` outside `home` (a path prefix) whose code (comments
/// aside) contains `needle`.
fn offenders(tree: &[(String, String)], needle: &str, home: &str) -> Vec<String> {
    tree.iter()
        .filter(|(p, text)| {
            !p.starts_with(home)
                && text
                    .lines()
                    .any(|l| !l.trim_start().starts_with("//") && l.contains(needle))
        })
        .map(|(p, _)| p.clone())
        .collect()
}

/// What may appear only in one part of the tree: secrets are opened,
/// used and stored back only in `src/custody/` (cards in its `card/`);
/// terminal output, prompts and progress bars only in `src/bin/keycycle/ui/` — the
/// commands and the library never print.
const ONLY_IN: &[(&str, &str)] = &[
    ("age::Decryptor", "src/custody/"),
    ("age::Encryptor", "src/custody/"),
    ("blahaj", "src/custody/"),
    ("openpgp_card", "src/custody/card/"),
    ("card_backend_pcsc", "src/custody/card/"),
    ("println!", "src/bin/keycycle/ui/"),
    ("print!(", "src/bin/keycycle/ui/"),
    ("dialoguer", "src/bin/keycycle/ui/"),
    ("indicatif", "src/bin/keycycle/ui/"),
];

/// What opens, uses or seals a secret key, allowed outside `src/custody/`
/// only in unit tests (which make throwaway keys).
const SECRET_KEY_CALLS: &[&str] = &["into_keypair(", "decrypt_secret(", "encrypt_secret("];

/// `tree` without each file's unit tests (from `#[cfg(test)]` on).
fn without_unit_tests(tree: &[(String, String)]) -> Vec<(String, String)> {
    tree.iter()
        .map(|(p, text)| {
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            (p.clone(), code.to_string())
        })
        .collect()
}

/// Every secret is opened, used and sealed in `src/custody/` (issue 23),
/// in files small enough to review whole.
#[test]
fn secret_keys_are_opened_only_in_custody() {
    for (p, text) in tree_of("src/custody") {
        let n = text.lines().count();
        assert!(n <= 500, "{p}: {n} lines");
    }
    let code = without_unit_tests(&tree());
    for needle in SECRET_KEY_CALLS {
        assert_eq!(
            offenders(&code, needle, "src/custody/"),
            Vec::<String>::new(),
            "{needle}"
        );
    }
}

#[test]
fn secrets_only_in_custody_and_output_only_in_ui() {
    let tree = tree();
    for (needle, home) in ONLY_IN {
        assert_eq!(
            offenders(&tree, needle, home),
            Vec::<String>::new(),
            "{needle}"
        );
    }
}

#[test]
fn no_source_file_over_500_lines_and_every_cli_file_has_its_command_twin() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (p, text) in tree() {
        let n = text.lines().count();
        assert!(n <= 500, "{p}: {n} lines (issue 23: at most 500)");
        if let Some(name) = p.strip_prefix("src/bin/keycycle/cli/") {
            if ["mod.rs", "args.rs"].contains(&name) {
                continue;
            }
            assert!(
                root.join("src/bin/keycycle/commands").join(name).exists(),
                "{p} has no src/bin/keycycle/commands/{name}"
            );
        }
    }
}

/// The length in lines of each function in `text` that has a body, by
/// brace matching (string and char literals and `//` comments aside).
fn function_lengths(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let strip = |l: &str| {
        let mut out = String::new();
        let mut in_str = false;
        let mut chars = l.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if in_str => {
                    chars.next();
                }
                '"' => in_str = !in_str,
                '/' if !in_str && chars.peek() == Some(&'/') => break,
                '\'' if !in_str => {
                    // A char literal like '{' (not a lifetime).
                    let rest: String = chars.clone().take(3).collect();
                    if rest.chars().nth(1) == Some('\'') {
                        chars.next();
                        chars.next();
                    }
                }
                _ if !in_str => out.push(c),
                _ => {}
            }
        }
        out
    };
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        let t = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub(super) "))
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        let t = t.strip_prefix("const ").unwrap_or(t);
        let Some(rest) = t.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let (mut depth, mut started) = (0i32, false);
        for (j, l) in lines.iter().enumerate().skip(i) {
            let code = strip(l);
            if !started && code.trim_end().ends_with(';') && !code.contains('{') {
                break;
            }
            for c in code.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        started = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if started && depth <= 0 {
                out.push((name.clone(), j - i + 1));
                break;
            }
        }
    }
    out
}

/// Issue 23: no function in `src/` over 80 lines.
#[test]
fn no_function_over_80_lines() {
    let mut long = Vec::new();
    for (p, text) in tree() {
        for (name, n) in function_lengths(&text) {
            if n > 80 {
                long.push(format!("{p}: fn {name}: {n} lines"));
            }
        }
    }
    assert_eq!(long, Vec::<String>::new(), "split them along their seams");
    // The measure itself: a two-line function is two lines.
    assert_eq!(
        function_lengths("fn a() {\n}\nfn b(x: u8) -> u8 { x }\n"),
        vec![("a".to_string(), 2), ("b".to_string(), 1)]
    );
}

/// Issue 19: the outside verifiers run at the instant keycycle runs at.
/// A test starts gpg, gpgv, sq or sqv only through tests/it/common.rs
/// (`Gpg::at`, `gpg_command`, `gpgv_at`, `sq_at`, `sqv_at`), which set
/// the time; a bare `Command::new("gpg")` would run at the real clock.
#[test]
fn outside_verifiers_start_only_through_the_timed_helpers() {
    let tree = tree_of("tests/it");
    for tool in ["gpg", "gpgv", "sq", "sqv"] {
        let needle = format!("new(\"{tool}\")");
        assert_eq!(
            offenders(&tree, &needle, "tests/it/common.rs"),
            Vec::<String>::new(),
            "{needle}: use the helpers of tests/it/common.rs"
        );
    }
}

/// The binary (`src/bin/keycycle/`: `main.rs`, `cli/`, `commands/`,
/// `ui/`): it imports the library as `keycycle::`, and its own `crate::`
/// is another crate.
const BINARY: &[&str] = &["bin"];

/// The top-level module a file under `src/` belongs to: `src/vault/keys.rs`
/// → `vault`, `src/base/clock.rs` → `base`.
fn top_module(path: &str) -> String {
    let rest = path.strip_prefix("src/").unwrap();
    let first = rest.split('/').next().unwrap();
    first.strip_suffix(".rs").unwrap_or(first).to_string()
}

/// The library's import graph between top-level modules of `src/`, from
/// every `crate::X` path in code (comments aside).
fn import_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let tree = tree();
    let modules: std::collections::BTreeSet<String> =
        tree.iter().map(|(p, _)| top_module(p)).collect();
    let mut graph = std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
    for (p, text) in &tree {
        let from = top_module(p);
        if BINARY.contains(&from.as_str()) || from == "lib" {
            continue;
        }
        let edges = graph.entry(from.clone()).or_default();
        // Unit tests may reach up (a custody test signs with `sign`): the
        // graph is the library's own code, before `#[cfg(test)] mod tests`.
        if p.ends_with("/tests.rs") {
            continue;
        }
        let code = text
            .split("\n#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or(text);
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let name: String = line[i + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if name != from && modules.contains(&name) {
                    edges.insert(name);
                }
            }
        }
    }
    graph
}

/// A cycle of `graph` reached from `node` (depth first), as the modules
/// along it.
fn cycle_from(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    node: &str,
    path: &mut Vec<String>,
    done: &mut std::collections::BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(i) = path.iter().position(|m| m == node) {
        let mut cycle = path[i..].to_vec();
        cycle.push(node.to_string());
        return Some(cycle);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node.to_string());
    for next in graph.get(node).into_iter().flatten() {
        if let Some(c) = cycle_from(graph, next, path, done) {
            return Some(c);
        }
    }
    path.pop();
    done.insert(node.to_string());
    None
}

/// Issue 23: the library's top-level modules form layers, never a cycle
/// (`base/` — files, text, clock, errors, OpenPGP policy — at the bottom,
/// `vault/` below `custody/`, `custody/` below `roster.rs` and `policy/`).
#[test]
fn no_import_cycle_between_top_level_modules() {
    let graph = import_graph();
    let mut done = std::collections::BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, node, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
}

/// Issue 23: a short root — the library's entry, the binary's folder and
/// the domain's folders, at most 12 entries directly in `src/`, no loose
/// module files beside `lib.rs`.
#[test]
fn the_source_root_is_short() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut entries: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert!(entries.len() <= 12, "src/ holds {entries:?}");
    let loose: Vec<&String> = entries
        .iter()
        .filter(|e| e.ends_with(".rs") && *e != "lib.rs")
        .collect();
    assert!(loose.is_empty(), "module files beside lib.rs: {loose:?}");
}

/// Issue 23: the ground floor, `src/base/`, imports nothing of the domain.
#[test]
fn the_ground_floor_imports_nothing_of_the_domain() {
    let graph = import_graph();
    assert!(
        graph["base"].is_empty(),
        "src/base/ imports {:?}",
        graph["base"]
    );
}

/// Issue 23: one OpenPGP policy for the whole crate — every
/// `StandardPolicy` is built in `src/base/openpgp_policy.rs`.
#[test]
fn the_openpgp_policy_is_built_in_one_place() {
    assert_eq!(
        offenders(&tree(), "StandardPolicy", "src/base/openpgp_policy.rs"),
        Vec::<String>::new(),
        "use keycycle::base::openpgp_policy::{{standard, as_of, lenient}}"
    );
}

/// Time is explicit: only the binary's `main.rs` reads the clock.
#[test]
fn only_main_reads_the_clock() {
    let tree = tree();
    for needle in ["Utc::now", "SystemTime::now", "Local::now"] {
        assert_eq!(
            offenders(&tree, needle, "src/bin/keycycle/main.rs"),
            Vec::<String>::new(),
            "{needle}: take the time as an argument (main.rs resolves --time)"
        );
    }
}

/// One printer (issue 23): a command hands its result to `ctx.show`, and
/// `ui` writes the JSON or the text. Only `announce` reads `--json`
/// itself: there it prints the facts instead of signing them.
#[test]
fn commands_do_not_choose_between_json_and_text() {
    let exempt = [
        "src/bin/keycycle/commands/mod.rs",
        "src/bin/keycycle/commands/announce.rs",
    ];
    for needle in ["ctx.json", "emit_json("] {
        let found: Vec<String> = offenders(
            &tree_of("src/bin/keycycle/commands"),
            needle,
            "src/bin/keycycle/ui/",
        )
            .into_iter()
            .filter(|p| !exempt.contains(&p.as_str()))
            .collect();
        assert_eq!(found, Vec::<String>::new(), "{needle}: use ctx.show");
    }
}
