//! `keycycle export page`, rendered in a real headless browser (Debian's
//! chromium, installed by scripts/test.sh): no console errors, a
//! screenshot that is not blank, one bar per key, the chain of the real
//! keys drawn, a hostile user ID shown as text.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

/// Hibiscus is next, Gazpacho current (and rotated its signing subkey).
const T: &str = "2026-03-15T12:00:00Z";

fn real_keys() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".txt"))
        .collect();
    v.sort();
    assert_eq!(v.len(), 21);
    v
}

/// `export page --from-files FILES -o DIR`, with no vault.
fn page(env: &Env, files: &[String], dir: &Path) -> serde_json::Value {
    let mut args: Vec<&str> = vec![
        "--json",
        "export",
        "page",
        "-o",
        dir.to_str().unwrap(),
        "--from-files",
    ];
    args.extend(files.iter().map(String::as_str));
    serde_json::from_str(&env.ok(&args)).unwrap()
}

struct Rendered {
    dom: String,
    /// Console messages (errors, CSP violations): any is a failure, the
    /// page runs no script.
    console: Vec<String>,
}

fn chromium(extra: &[&str], url: &str) -> std::process::Output {
    require("chromium");
    let profile = tempfile::tempdir().unwrap();
    Std::new("timeout")
        .arg("120")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .output()
        .unwrap()
}

fn url(dir: &Path) -> String {
    format!("file://{}", dir.join("index.html").display())
}

fn render(dir: &Path) -> Rendered {
    let out = chromium(&["--window-size=1280,900", "--dump-dom"], &url(dir));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed: {stderr}");
    Rendered {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console: stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE") || l.contains("Content Security Policy"))
            .map(String::from)
            .collect(),
    }
}

/// A screenshot at `size`; returns (distinct colours, share of non-white
/// pixels, which of `colours` (hex RGB) occur), read by decoding the PNG.
fn screenshot(dir: &Path, size: &str, png: &Path, colours: &[&str]) -> (usize, f64, Vec<String>) {
    let out = chromium(
        &[
            &format!("--window-size={size}"),
            &format!("--screenshot={}", png.display()),
        ],
        &url(dir),
    );
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    require("python3");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pngstat.py");
    let out = Std::new("python3")
        .arg(script)
        .arg(png)
        .args(colours)
        .output()
        .unwrap();
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let f: Vec<&str> = text.split_whitespace().collect();
    (
        f[2].parse().unwrap(),
        f[3].parse().unwrap(),
        f[4..].iter().map(|s| s.to_string()).collect(),
    )
}

/// The timeline's SVG, without its legend.
fn chart(dom: &str) -> &str {
    let start = dom.find("<svg").expect("an inline SVG");
    let end = dom[start..]
        .find(r#"<g class="legend">"#)
        .expect("a legend")
        + start;
    &dom[start..end]
}

fn titles<'a>(svg: &'a str, class: &str) -> Vec<&'a str> {
    let open = format!(r#"<g class="{class}"><title>"#);
    svg.match_indices(&open)
        .map(|(i, _)| {
            let rest = &svg[i + open.len()..];
            &rest[..rest.find("</title>").unwrap()]
        })
        .collect()
}

#[test]
fn the_page_of_the_21_real_keys_renders_in_chromium_with_the_chain_and_its_gaps() {
    let env = Env::new(T);
    let dir = env.path("site");
    let report = page(&env, &real_keys(), &dir);
    assert!(!env.vault.exists(), "no vault needed");
    assert_eq!(report["page"]["keys"].as_array().unwrap().len(), 21);
    // The key files it links, each the public key.
    let keys: Vec<PathBuf> = std::fs::read_dir(dir.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(keys.len(), 21);
    for k in &keys {
        let text = std::fs::read_to_string(k).unwrap();
        assert!(
            text.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"),
            "{}",
            k.display()
        );
    }
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    for k in &keys {
        let name = k.file_name().unwrap().to_string_lossy();
        assert!(
            html.contains(&format!(r#"href="keys/{name}""#)),
            "{name} not linked"
        );
    }
    // Nothing to fetch: no script, no external resource.
    assert!(!html.to_lowercase().contains("<script"));
    for external in ["src=", "href=\"http", "url(http", "@import", "@font-face"] {
        assert!(!html.contains(external), "external reference: {external}");
    }

    let r = render(&dir);
    assert!(r.console.is_empty(), "console: {:?}", r.console);
    let svg = chart(&r.dom);
    assert_eq!(
        svg.matches("data-fingerprint=").count(),
        21,
        "one bar per key"
    );
    // Newest first: Hibiscus on top, Newton at the bottom.
    let first = svg.find("2026.2/Hibiscus").unwrap();
    let last = svg.find(">Newton<").unwrap();
    assert!(first < last);
    // Statuses at 2026-03-15.
    assert_eq!(svg.matches(r#"class="bar next""#).count(), 1);
    assert_eq!(svg.matches(r#"class="bar current""#).count(), 1);
    assert_eq!(svg.matches(r#"class="bar expired""#).count(), 19);
    // The chain Xena → Hibiscus as links, the gaps before it.
    let links = titles(svg, "link");
    assert_eq!(links.len(), 10, "{links:#?}");
    assert!(
        links.iter().any(|l| l.starts_with(
            "2026.1/Gazpacho (0xE69D97DA9EFB5AFF) certified 2026.2/Hibiscus (0x231F942F608DDEFF)"
        )),
        "{links:#?}"
    );
    let short = |s: &str| s.split(" (").next().unwrap().to_string();
    let pairs: Vec<(String, String)> = links
        .iter()
        .map(|l| {
            let (a, b) = l.split_once(" certified ").unwrap();
            (short(a), short(b))
        })
        .collect();
    for (a, b) in [
        ("Xena", "Yoga"),
        ("Yoga", "Zed"),
        ("Zed", "2023.1/Antelope"),
        ("Epoxy", "2025.2/Flamingo"), // its user ID lacks the release id
        ("2026.1/Gazpacho", "2026.2/Hibiscus"),
    ] {
        assert!(
            pairs.contains(&(a.to_string(), b.to_string())),
            "{a} → {b}: {pairs:?}"
        );
    }
    let gaps = titles(svg, "gap");
    assert_eq!(gaps.len(), 10, "{gaps:#?}");
    assert!(
        gaps.iter()
            .any(|g| g.starts_with("gap: Wallaby") && g.contains("did not certify Xena")),
        "{gaps:#?}"
    );
    assert!(
        gaps.iter()
            .any(|g| g.starts_with("gap: Newton") && g.contains("did not certify Ocata")),
        "{gaps:#?}"
    );
    assert!(
        r.dom
            .contains("runs from Xena to 2026.2/Hibiscus (11 keys)"),
        "summary"
    );
    // Gazpacho's rotation (old subkey revoked superseded, new one bound),
    // "now", the overlaps, the text alternative.
    assert!(
        svg.contains("signing subkey rotated: 0x90364272486FD056 replaces 0x85E1426370940CEB"),
        "rotation"
    );
    assert!(svg.contains("subkey 0x85E1426370940CEB revoked (superseded)"));
    assert!(svg.contains(r#"class="now""#) && svg.contains("now 2026-03-15"));
    assert!(svg.matches(r#"class="overlap""#).count() >= 20);
    assert!(r.dom.contains(r#"aria-labelledby="tl-title tl-desc""#));
    assert_eq!(
        r.dom.matches("<li>").count(),
        21,
        "the text alternative lists every key"
    );
    // How to verify, for one file and a directory, with every tool.
    for cmd in [
        "gpg --verify FILE.asc FILE",
        "for sig in dist/*.asc",
        "sqv --keyring keys/0x",
        "keycycle verify --cert keys/0x",
        "keycycle verify --cert keys/ dist/*.tar.gz dist/*.whl",
    ] {
        assert!(r.dom.contains(cmd), "{cmd}");
    }

    // At 1280×900 the screenshot shows the timeline: many colours, ink,
    // and the bars' own colours (current, next, expired).
    let (colours, ink, found) = screenshot(
        &dir,
        "1280,900",
        &env.path("page.png"),
        &["2e7d32", "1565c0", "9aa4ad"],
    );
    assert!(colours > 200, "{colours} colours");
    assert!(ink > 0.03, "{ink} of the pixels are not white");
    assert_eq!(
        found,
        ["2e7d32", "1565c0", "9aa4ad"],
        "bar colours in the screenshot"
    );
    // On a phone, too.
    let (colours, ink, found) = screenshot(
        &dir,
        "390,844",
        &env.path("phone.png"),
        &["2e7d32", "1565c0"],
    );
    assert!(
        colours > 100 && ink > 0.03,
        "phone: {colours} colours, {ink} ink"
    );
    assert_eq!(found, ["2e7d32", "1565c0"], "the recent bars on a phone");
}

/// A certificate with a hostile user ID, made with sequoia.
fn hostile_cert(path: &Path) -> String {
    use openpgp::cert::CertBuilder;
    use openpgp::serialize::Serialize;
    use sequoia_openpgp as openpgp;
    let (cert, _) = CertBuilder::new()
        .add_userid("<script>document.title='pwned'</script> (Zed Cycle) <x\"@example.org>")
        .add_signing_subkey()
        .set_creation_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_772_323_200)) // 2026-03-01: the newest
        .set_validity_period(None)
        .generate()
        .unwrap();
    let mut f = std::fs::File::create(path).unwrap();
    cert.armored().serialize(&mut f).unwrap();
    cert.fingerprint().to_hex()
}

#[test]
fn a_hostile_user_id_is_shown_as_text_and_runs_nothing() {
    let env = Env::new(T);
    let evil = env.path("evil.asc");
    hostile_cert(&evil);
    let dir = env.path("site");
    let mut files = real_keys();
    files.push(evil.display().to_string());
    page(&env, &files, &dir);
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(!html.contains("<script>"), "unescaped");
    assert!(html.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;"));
    let r = render(&dir);
    assert!(r.console.is_empty(), "console: {:?}", r.console);
    assert!(
        !r.dom.to_lowercase().contains("<script"),
        "a script element in the DOM"
    );
    // The newest key names the page: its title is the escaped text, not
    // what the script would have set.
    let title = &r.dom[r.dom.find("<title>").unwrap() + 7..r.dom.find("</title>").unwrap()];
    assert_ne!(title, "pwned");
    assert!(title.starts_with("&lt;script&gt;"), "{title}");
    assert!(r
        .dom
        .contains("&lt;script&gt;document.title='pwned'&lt;/script&gt; (Zed Cycle)"));
    assert_eq!(chart(&r.dom).matches("data-fingerprint=").count(), 22);
}

#[test]
fn the_vault_page_shows_the_roots_attestations_and_refuses_to_overwrite() {
    let env = Env::new("2026-08-20T09:00:00Z");
    env.ok(&["init"]);
    let (id, r) = env.age_identity("ada");
    env.ok(&strs(&roster_add_args("Ada", "ada@example.org", &r, None)));
    env.cmd_at("2026-03-01")
        .args(["generate", "--cycle", "2026.2"])
        .assert()
        .success();
    env.cmd_at("2026-08-15")
        .args(["generate", "--cycle", "2027.1"])
        .assert()
        .success();
    env.ok(&cross_sign_args(id.to_str().unwrap()));
    let dir = env.path("site");
    let out = env.ok(&["export", "page", "-o", dir.to_str().unwrap()]);
    assert!(
        out.contains("2 keys, 1 of them certified by their predecessor, 0 gaps"),
        "{out}"
    );
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains("<title>OpenStack Infra release signing keys</title>"));
    assert!(html.contains(r#"class="bar next""#) && html.contains(r#"class="bar current""#));
    assert!(html.contains("no root has an OpenPGP certificate on the roster"));
    assert!(html.contains("certified by 2026.2/Hibiscus"));
    // Again: refused, the page kept; with --overwrite: replaced.
    let before = std::fs::read(dir.join("index.html")).unwrap();
    let e = env.fails(&["export", "page", "-o", dir.to_str().unwrap()]);
    let e = String::from_utf8_lossy(&e.stderr);
    assert!(
        e.contains("index.html exists") && e.contains("pass --overwrite"),
        "{e}"
    );
    assert_eq!(std::fs::read(dir.join("index.html")).unwrap(), before);
    env.ok(&["export", "page", "-o", dir.to_str().unwrap(), "--overwrite"]);
    let r = render(&dir);
    assert!(r.console.is_empty(), "console: {:?}", r.console);
    assert_eq!(chart(&r.dom).matches("data-fingerprint=").count(), 2);
    // A revocation: the status says why, the bar is marked where.
    env.ok(&revoke_args(
        "2026.2",
        "compromised",
        "laptop stolen",
        id.to_str().unwrap(),
    ));
    env.ok(&["export", "page", "-o", dir.to_str().unwrap(), "--overwrite"]);
    let r = render(&dir);
    assert!(r.console.is_empty(), "console: {:?}", r.console);
    let svg = chart(&r.dom);
    assert!(svg.contains(r#"class="bar revoked""#), "{svg}");
    assert!(svg.contains(r#"class="rev""#) && svg.contains(r#"class="void""#));
    assert!(
        r.dom.contains(
            "revoked 2026-08-20 (compromised: every signature it made is void) — laptop stolen"
        ),
        "the reason"
    );
}
