//! Verification in the real world: signatures nobody in this project made.
//!
//! The corpus (upstream tarballs with their authors' detached signatures
//! and the keys Debian ships for them, the uploaders' cleartext-signed
//! `.dsc` files with the 27 MiB Debian keyring, the archive's Release
//! files) is fetched by scripts/fetch-corpus.sh, which scripts/test.sh runs
//! before cargo test. For each case the test runs gpgv and sqv (sq for
//! cleartext files), checks that they still say what the table records,
//! and that keycycle agrees — or, where keycycle is stricter on purpose,
//! the case says why (docs/verification.md lists the differences).
//!
//! Release, Release.gpg, InRelease and debian-archive-keyring.gpg are also
//! copied into tests/fixtures/debian/, so the signer-policy and cleartext
//! tests stand alone.

use crate::common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

/// The fixtures' signatures were made 2026-07-11.
const FIXTURE_TIME: &str = "2026-12-01T00:00:00Z";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/debian")
}

fn corpus() -> PathBuf {
    let dir = std::env::var_os("KEYCYCLE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache"));
            cache.join("keycycle/corpus")
        });
    assert!(
        dir.join(".complete-v2").exists(),
        "no real-world corpus in {}: run scripts/fetch-corpus.sh (scripts/test.sh runs it)",
        dir.display()
    );
    dir
}

/// The one file in `dir` whose name starts with `prefix` and ends with `suffix`.
fn find(dir: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let mut hits: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(prefix) && n.ends_with(suffix)
        })
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "{prefix}*{suffix} in {}: {hits:?}",
        dir.display()
    );
    hits.remove(0)
}

/// The instant keycycle, gpgv and sqv judge the corpus at: fixed, so the
/// verdicts written down below hold on any day. A corpus that is not the
/// pinned one (scripts/fetch-corpus.sh fell back to another version) is
/// judged at the real clock instead — by all three alike — since its
/// signatures may be newer than the fixed instant.
const CORPUS_TIME: &str = "2026-12-01T00:00:00Z";

fn corpus_time() -> String {
    if pinned_sources().iter().all(|p| as_pinned(p)) {
        CORPUS_TIME.to_string()
    } else {
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

/// `kind package` → its two hash columns, from a pins-shaped table
/// (tests/fixtures/corpus/pins.tsv, or the corpus's manifest.tsv).
type Hashes = BTreeMap<String, (String, String)>;

fn hashes(text: &str, cols: (usize, usize)) -> Hashes {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let col = |i: usize| f.get(i).unwrap_or(&"-").to_string();
            (format!("{} {}", f[0], f[1]), (col(cols.0), col(cols.1)))
        })
        .collect()
}

/// The pins and what the corpus holds, read once per test process.
fn pins_and_manifest() -> &'static (Hashes, Hashes) {
    static BOTH: std::sync::OnceLock<(Hashes, Hashes)> = std::sync::OnceLock::new();
    BOTH.get_or_init(|| {
        let pins = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/pins.tsv"),
        )
        .unwrap();
        let manifest = std::fs::read_to_string(corpus().join("manifest.tsv")).unwrap();
        (hashes(&pins, (3, 4)), hashes(&manifest, (4, 5)))
    })
}

/// The source packages pinned in tests/fixtures/corpus/pins.tsv.
fn pinned_sources() -> Vec<&'static str> {
    pins_and_manifest()
        .0
        .keys()
        .filter_map(|k| k.strip_prefix("source "))
        .collect()
}

/// Whether the corpus holds, for `package`, the very bytes (upstream
/// signature and key, or keyring file) that tests/fixtures/corpus/pins.tsv
/// pins: only then do the verdicts written down here apply to it; the
/// tests take gpgv's and sqv's on the spot otherwise.
fn as_pinned(package: &str) -> bool {
    let (pins, got) = pins_and_manifest();
    let kind = if package.ends_with("keyring") {
        "deb"
    } else {
        "source"
    };
    let key = format!("{kind} {package}");
    let want = pins
        .get(&key)
        .unwrap_or_else(|| panic!("{key} is not pinned"));
    let got = got
        .get(&key)
        .unwrap_or_else(|| panic!("{key} is not in the corpus manifest"));
    want.0 == got.0 && (kind == "deb" || want.1 == got.1)
}

/// `keycycle --json verify`: (exit ok, the file's verdict, stdout text).
fn keycycle(env: &Env, at: &str, args: &[&Path], extra: &[&str]) -> (bool, serde_json::Value) {
    let mut all = vec!["--json", "verify"];
    all.extend(extra);
    all.extend(args.iter().map(|p| p.to_str().unwrap()));
    let out = env.run_at(at, &all);
    assert_ne!(
        out.status.code(),
        Some(101),
        "panic: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), json["files"][0].clone())
}

/// `keycycle --json verify --cert CERT --output OUT FILE` at FIXTURE_TIME.
fn verify_to(env: &Env, cert: &Path, file: &Path, out: &Path) -> (bool, serde_json::Value) {
    let extra = [
        "--cert",
        cert.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    keycycle(env, FIXTURE_TIME, &[file], &extra)
}

fn text(env: &Env, at: &str, args: &[&str]) -> (bool, String) {
    let out = env.run_at(at, &[&["verify"], args].concat());
    assert_ne!(out.status.code(), Some(101));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn gpgv(env: &Env, keyring: &Path, sig: Option<&Path>, file: &Path) -> bool {
    require("gpgv");
    require("gpg");
    // gpgv reads binary keyrings only.
    let bin = env.path(&format!(
        "{}.gpgv.gpg",
        keyring.file_name().unwrap().to_string_lossy()
    ));
    if !bin.exists() {
        let bytes = std::fs::read(keyring).unwrap();
        if bytes[0] & 0x80 != 0 {
            std::fs::copy(keyring, &bin).unwrap();
        } else {
            let out = gpg_command(env.dir.path(), &env.time)
                .args(["--batch", "--dearmor", "-o"])
                .arg(&bin)
                .arg(keyring)
                .output()
                .unwrap();
            assert!(out.status.success());
        }
    }
    let mut c = gpgv_at(&env.time);
    c.env("GNUPGHOME", env.dir.path())
        .arg("--keyring")
        .arg(&bin);
    if let Some(s) = sig {
        c.arg(s);
    }
    c.arg(file).output().unwrap().status.success()
}

/// sqv for detached signatures; sq (which has the cleartext framework)
/// for cleartext-signed files.
fn sequoia_good(at: &str, keyring: &Path, sig: Option<&Path>, file: &Path) -> bool {
    match sig {
        Some(s) => sqv(at, keyring, s, file).status.success(),
        None => sq_at(at)
            .args(["verify", "--signer-cert"])
            .arg(keyring)
            .arg(file)
            .stdout(std::process::Stdio::null())
            .output()
            .unwrap()
            .status
            .success(),
    }
}

/// One case of the corpus.
struct Case {
    name: &'static str,
    key_type: &'static str,
    gpgv: bool,
    sqv: bool,
    keycycle: bool,
    /// Words keycycle's reason must hold when it says BAD.
    reason: &'static str,
    /// keycycle with `--policy-as-of` the signature's date (SHA-1 bindings).
    as_of_good: Option<bool>,
    /// Why keycycle differs from gpgv or sqv (empty when it agrees).
    why: &'static str,
}

const SHA1: &str = "the shipped key's self-signatures use SHA-1; sqv refuses them since 2023-02-01, gpgv accepts them; keycycle refuses them like sqv, says so, and passes with the --policy-as-of it prints";
const DSA1024: &str = "DSA-1024 keys are refused by the standard policy since 2014-02-01, at any --policy-as-of after that; gpgv accepts them";

/// A case where gpgv, sqv and keycycle all call the signature good.
const fn agrees(name: &'static str, key_type: &'static str) -> Case {
    Case {
        name,
        key_type,
        gpgv: true,
        sqv: true,
        keycycle: true,
        reason: "",
        as_of_good: None,
        why: "",
    }
}

/// A case gpgv calls good and sqv and keycycle refuse (keycycle saying
/// `reason`), `why` they differ.
const fn refused(
    name: &'static str,
    key_type: &'static str,
    reason: &'static str,
    as_of_good: Option<bool>,
    why: &'static str,
) -> Case {
    Case {
        name,
        key_type,
        gpgv: true,
        sqv: false,
        keycycle: false,
        reason,
        as_of_good,
        why,
    }
}

/// Upstream tarballs and their authors' signatures, checked against the
/// upstream key Debian ships (debian/upstream/signing-key.asc).
const UPSTREAM: &[Case] = &[
    agrees("gzip", "RSA 4096 (2010)"),
    agrees("m4", "RSA 2048 (2010)"),
    agrees("nano", "RSA 4096 (2022)"),
    agrees("screen", "RSA 3072 (2020), expired 2022-12 after signing"),
    agrees("xz-utils", "RSA 4096 (2010), expired 2024 after signing"),
    agrees("libgpg-error", "Ed25519 (2020)"),
    refused(
        "libidn2",
        "Ed25519 subkey (2019) of RSA 4096 (2014), expired 2021-08 before signing",
        "after its key expired on 2021-08-21",
        None,
        "the shipped copy of the key expired 2021-08-21, the tarball was signed 2022-07-11: gpgv says Good signature for a key that has expired since; sqv and keycycle refuse a signature made after expiry (the upstream key was extended later: use a current copy)",
    ),
    refused("acl", "RSA 4096 (2015), SHA-1 bindings, expired 2023-05 after signing", "uses SHA1", Some(true), SHA1),
    refused("attr", "RSA 4096 (2015), SHA-1 bindings, expired 2023-05 after signing", "uses SHA1", Some(true), SHA1),
    refused("nettle", "RSA 2560 (2013), SHA-1 bindings, expired 2023 after signing", "uses SHA1", Some(true), SHA1),
    refused(
        "hello",
        "RSA 4096 (2014), binding newer than the signature",
        "was not valid when the signature was made",
        None,
        "the signature (2014-11-16) is older than every binding signature in the shipped key: gpgv does not check that the key was bound when it signed, sqv and keycycle do",
    ),
    refused("less", "DSA 1024 (2004), SHA-1 bindings", "does not help: DSA1024", Some(false), DSA1024),
    refused("cflow", "DSA 1024 (2002), SHA-1 bindings", "does not help: DSA1024", Some(false), DSA1024),
    refused(
        "pv",
        "DSA 1024 (2001), v3 signature",
        "Signature Packet v3",
        None,
        "a version 3 signature packet by a DSA-1024 key: the standard policy refuses v3 signatures since 2021-02-01 and DSA-1024 since 2014; gpgv accepts both",
    ),
];

#[test]
fn upstream_tarballs_agree_with_gpgv_and_sqv_case_by_case() {
    let corpus = corpus();
    let src = corpus.join("src");
    let at = corpus_time();
    let env = Env::new(&at);
    let mut table = Vec::new();
    for c in UPSTREAM {
        let key = corpus.join("keys").join(format!("{}.asc", c.name));
        let sig = find(&src, &format!("{}_", c.name), ".asc");
        let file = PathBuf::from(sig.to_string_lossy().trim_end_matches(".asc").to_string());
        let g = gpgv(&env, &key, Some(&sig), &file);
        let s = sequoia_good(&at, &key, Some(&sig), &file);
        let (k, v) = keycycle(&env, &at, &[&file], &["--cert", key.to_str().unwrap()]);
        let pinned = as_pinned(c.name);
        table.push(format!(
            "{:14} {:60} gpgv {:5} sqv {:5} keycycle {:5} {}{}",
            c.name,
            c.key_type,
            g,
            s,
            k,
            v["reason"],
            if pinned {
                ""
            } else {
                " (not the pinned bytes: sqv's verdict is the expected one)"
            }
        ));
        assert_eq!(k, v["good"].as_bool().unwrap());
        if !pinned {
            // Another version than the one written down: sqv judges.
            assert_eq!(k, s, "{}: keycycle says {k}, sqv {s}: {v}", c.name);
            continue;
        }
        assert_eq!(
            g, c.gpgv,
            "{}: gpgv now says {g}: the corpus changed",
            c.name
        );
        assert_eq!(s, c.sqv, "{}: sqv now says {s}: the corpus changed", c.name);
        assert_eq!(k, c.keycycle, "{}: keycycle says {k}: {v}", c.name);
        if k != g || k != s {
            assert!(
                !c.why.is_empty(),
                "{}: keycycle differs from a peer without a reason",
                c.name
            );
        }
        if !k {
            let reason = v["reason"].as_str().unwrap();
            assert!(
                reason.contains(c.reason),
                "{}: want '{}' in '{reason}'",
                c.name,
                c.reason
            );
            assert_eq!(reason.lines().count(), 1, "{reason}");
            // The signer is named: key ID and time are in the report.
            let s0 = &v["signatures"][0];
            assert!(s0["key_id"].as_str().unwrap().starts_with("0x"), "{v}");
            assert!(s0["signed_at"].is_string(), "{v}");
        }
        let hinted = v["signatures"][0]["policy_as_of"]
            .as_str()
            .map(str::to_string);
        match c.as_of_good {
            Some(true) => {
                let day =
                    hinted.unwrap_or_else(|| panic!("{}: no --policy-as-of hint: {v}", c.name));
                let (ok, v2) = keycycle(
                    &env,
                    &at,
                    &[&file],
                    &["--cert", key.to_str().unwrap(), "--policy-as-of", &day],
                );
                assert!(
                    ok,
                    "{}: --policy-as-of {day} should pass (agreeing with gpgv): {v2}",
                    c.name
                );
            }
            Some(false) => {
                assert!(
                    hinted.is_none(),
                    "{}: a --policy-as-of hint that would not help: {v}",
                    c.name
                );
                let day = v["signatures"][0]["signed_at"].as_str().unwrap()[..10].to_string();
                let (ok, _) = keycycle(
                    &env,
                    &at,
                    &[&file],
                    &["--cert", key.to_str().unwrap(), "--policy-as-of", &day],
                );
                assert!(!ok, "{}: still refused at --policy-as-of {day}", c.name);
            }
            None => assert!(hinted.is_none(), "{}: {v}", c.name),
        }
    }
    eprintln!("{}", table.join("\n"));
}

#[test]
fn dsc_files_verify_in_place_against_the_27_mib_debian_keyring() {
    let corpus = corpus();
    let keyring = corpus.join("debian/debian-keyring.gpg");
    assert!(
        std::fs::metadata(&keyring).unwrap().len() > 16 << 20,
        "the real, large keyring"
    );
    let at = corpus_time();
    let env = Env::new(&at);
    // RSA 4096 (Santiago Vila), Ed25519 (Daniel Kahn Gillmor), RSA (Guillem Jover).
    for name in ["hello", "libgpg-error", "acl"] {
        let dsc = find(&corpus.join("src"), &format!("{name}_"), ".dsc");
        let g = gpgv(&env, &keyring, None, &dsc);
        let s = sequoia_good(&at, &keyring, None, &dsc);
        let (k, v) = keycycle(&env, &at, &[&dsc], &["--cert", keyring.to_str().unwrap()]);
        if as_pinned(name) && as_pinned("debian-keyring") {
            assert!(g && s, "{name}: gpgv {g}, sq {s}: the corpus changed");
            assert!(k, "{name}: {v}");
        } else {
            // Another .dsc or keyring than the pinned: sq judges.
            assert_eq!(k, s, "{name}: keycycle {k}, sq {s}: {v}");
            if !k {
                continue;
            }
        }
        assert_eq!(v["cleartext"], true);
        // One changed byte in the signed text: BAD, naming the file.
        let bytes = std::fs::read(&dsc).unwrap();
        let at_byte = bytes
            .windows(9)
            .position(|w| w == b"Binary: ")
            .or_else(|| bytes.windows(8).position(|w| w == b"Source: "))
            .unwrap()
            + 3;
        let mut t = bytes.clone();
        t[at_byte] ^= 0x20;
        let bad = env.path(&format!("{name}-tampered.dsc"));
        std::fs::write(&bad, t).unwrap();
        assert!(!gpgv(&env, &keyring, None, &bad));
        let (k, v) = keycycle(&env, &at, &[&bad], &["--cert", keyring.to_str().unwrap()]);
        assert!(!k, "{v}");
        assert!(
            v["reason"].as_str().unwrap().contains("does not match"),
            "{v}"
        );
        let (_, out) = text(
            &env,
            &at,
            &["--cert", keyring.to_str().unwrap(), bad.to_str().unwrap()],
        );
        assert!(
            out.starts_with(&format!("BAD   {}", bad.display())),
            "{out}"
        );
    }
}

#[test]
fn one_signature_against_the_27_mib_keyring_in_bounded_memory() {
    let corpus = corpus();
    let keyring = corpus.join("debian/debian-keyring.gpg");
    let dsc = find(&corpus.join("src"), "nano_", ".dsc");
    assert!(
        Path::new("/usr/bin/time").exists(),
        "/usr/bin/time is missing: scripts/test.sh installs package time"
    );
    let out = Std::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(BIN)
        .args([
            "--batch",
            "--time",
            &corpus_time(),
            "-v",
            "verify",
            "--cert",
        ])
        .arg(&keyring)
        .arg(&dsc)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{stderr}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let kib: u64 = stderr.lines().last().unwrap().trim().parse().unwrap();
    assert!(
        kib < 64 * 1024,
        "peak RSS {kib} KiB for one signature against a 27 MiB keyring"
    );
    // -v counts what the keyring held.
    assert!(stderr.contains("certificates indexed"), "{stderr}");
    assert!(
        stderr.contains("1 parsed"),
        "only the signer's certificate is parsed: {stderr}"
    );
}

#[test]
fn release_gpg_needs_n_of_the_archive_signers() {
    let f = fixtures();
    let env = Env::new(FIXTURE_TIME);
    let ring = f.join("debian-archive-keyring.gpg");
    let args = |n: &str| {
        vec![
            "--cert".to_string(),
            ring.display().to_string(),
            "--signature".into(),
            f.join("Release.gpg").display().to_string(),
            "--signers".into(),
            n.into(),
            f.join("Release").display().to_string(),
        ]
    };
    let run = |n: &str| {
        let a = args(n);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        text(&env, FIXTURE_TIME, &a)
    };
    // Three archive keys signed it (RSA 12/bookworm, RSA 13/trixie,
    // Ed25519 stable release key 12/bookworm): each is listed.
    let (ok, out) = run("2");
    assert!(ok, "{out}");
    assert!(
        out.contains("3 good signatures from 3 certificates"),
        "{out}"
    );
    assert_eq!(out.matches("      GOOD  signed").count(), 3, "{out}");
    assert!(
        out.contains("(12/bookworm)")
            && out.contains("(13/trixie)")
            && out.contains("Stable Release Key"),
        "{out}"
    );
    let (ok, out) = run("4");
    assert!(!ok, "{out}");
    assert!(
        out.contains("3 of 3 signatures good, from 3 distinct certificates; --signers 4 needs 4"),
        "{out}"
    );
    // gpgv agrees the three are good.
    assert!(gpgv(
        &env,
        &ring,
        Some(&f.join("Release.gpg")),
        &f.join("Release")
    ));
}

#[test]
fn unknown_signers_are_listed_and_a_signature_beside_the_file_is_found() {
    let f = fixtures();
    let env = Env::new(FIXTURE_TIME);
    let ring = f.join("debian-archive-keyring.gpg");
    // Only one of the archive keys given: the other two are listed as
    // unknown, not fatal with --signers 1, and name where to fetch them.
    let (ok, v) = keycycle(
        &env,
        FIXTURE_TIME,
        &[&f.join("Release")],
        &[
            "--cert",
            f.join("debian-archive-bookworm-stable.gpg")
                .to_str()
                .unwrap(),
            "--signature",
            f.join("Release.gpg").to_str().unwrap(),
        ],
    );
    assert!(ok, "{v}");
    let sigs = v["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 3);
    let unknown: Vec<_> = sigs.iter().filter(|s| s["good"] == false).collect();
    assert_eq!(unknown.len(), 2, "{v}");
    for u in unknown {
        assert!(
            u["reason"]
                .as_str()
                .unwrap()
                .contains("not among the given certificates"),
            "{u}"
        );
        let fpr = u["fingerprint"].as_str().unwrap();
        assert!(
            u["hint"]
                .as_str()
                .unwrap()
                .contains(&format!("gpg --recv-keys {fpr}")),
            "{u}"
        );
    }
    // Without --signature, FILE.gpg next to FILE is found (after .asc, .sig).
    let beside = env.path("beside");
    std::fs::create_dir_all(&beside).unwrap();
    std::fs::copy(f.join("Release"), beside.join("Release")).unwrap();
    std::fs::copy(f.join("Release.gpg"), beside.join("Release.gpg")).unwrap();
    let (ok, v) = keycycle(
        &env,
        FIXTURE_TIME,
        &[&beside.join("Release")],
        &["--cert", ring.to_str().unwrap(), "--signers", "3"],
    );
    assert!(ok, "{v}");
    assert!(
        v["signature"].as_str().unwrap().ends_with("Release.gpg"),
        "{v}"
    );
    // The tampered Release fails.
    let t = env.path("Release");
    let mut bytes = std::fs::read(f.join("Release")).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&t, bytes).unwrap();
    let (ok, v) = keycycle(
        &env,
        FIXTURE_TIME,
        &[&t],
        &[
            "--cert",
            ring.to_str().unwrap(),
            "--signature",
            f.join("Release.gpg").to_str().unwrap(),
        ],
    );
    assert!(!ok);
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .starts_with("none of its 3 signatures is good"),
        "{v}"
    );
}

#[test]
fn inrelease_verifies_in_place_and_one_changed_byte_fails() {
    let f = fixtures();
    let env = Env::new(FIXTURE_TIME);
    let ring = f.join("debian-archive-keyring.gpg");
    let inrelease = f.join("InRelease");
    let (ok, v) = keycycle(
        &env,
        FIXTURE_TIME,
        &[&inrelease],
        &["--cert", ring.to_str().unwrap(), "--signers", "3"],
    );
    assert!(ok, "{v}");
    assert_eq!(v["cleartext"], true);
    assert_eq!(v["good_signers"], 3);
    assert!(
        sequoia_good(FIXTURE_TIME, &ring, None, &inrelease),
        "sq agrees"
    );
    assert!(gpgv(&env, &ring, None, &inrelease), "gpgv agrees");
    // --output writes the verified text: the Release file itself.
    let out = env.path("Release.verified");
    let (ok, v) = verify_to(&env, &ring, &inrelease, &out);
    assert!(ok, "{v}");
    let verified = std::fs::read_to_string(&out).unwrap();
    assert!(
        verified.starts_with("Origin: Debian\n"),
        "{}",
        &verified[..80]
    );
    assert!(!verified.contains("BEGIN PGP"));
    // One changed byte: every signature fails, the file is named, and no
    // output is written.
    let bytes = std::fs::read(&inrelease).unwrap();
    let pos = bytes.windows(7).position(|w| w == b"Suite: ").unwrap() + 7;
    let mut t = bytes.clone();
    t[pos] ^= 0x01;
    let bad = env.path("InRelease");
    std::fs::write(&bad, t).unwrap();
    let out2 = env.path("tampered.verified");
    let (ok, v) = verify_to(&env, &ring, &bad, &out2);
    assert!(!ok, "{v}");
    assert!(!out2.exists(), "no verified text from a tampered file");
    let (ok, out) = text(
        &env,
        FIXTURE_TIME,
        &["--cert", ring.to_str().unwrap(), bad.to_str().unwrap()],
    );
    assert!(!ok);
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "BAD   {}  none of its 3 signatures is good: bad signature",
            bad.display()
        )),
        "{out}"
    );
    assert!(!gpgv(&env, &ring, None, &bad), "gpgv agrees");
}

#[test]
fn cleartext_dash_escaping_round_trips_through_gpg_clearsign() {
    let env = Env::new(FIXTURE_TIME);
    // Dash-escaping: a cleartext file whose text has lines starting with
    // '-' round-trips through gpg --clearsign and keycycle.
    let gpg = Gpg::at(&env.time);
    gpg.ok(
        &[
            "--faked-system-time",
            "20261101T000000!",
            "--quick-gen-key",
            "Announcer <a@example.org>",
            "ed25519",
            "sign",
            "2030-01-01",
        ],
        None,
    );
    let key = env.path("announcer.asc");
    std::fs::write(&key, gpg.ok(&["--armor", "--export"], None)).unwrap();
    let msg = env.path("announce.txt");
    std::fs::write(
        &msg,
        "Release 1.0\n- first item\n-----BEGIN not armor\nFrom the mailing list   \n",
    )
    .unwrap();
    gpg.ok(
        &[
            "--faked-system-time",
            "20261101T000000!",
            "--clearsign",
            msg.to_str().unwrap(),
        ],
        None,
    );
    let signed = env.path("announce.txt.asc");
    assert!(std::fs::read_to_string(&signed)
        .unwrap()
        .contains("\n- - first item\n"));
    let out3 = env.path("announce.verified");
    let (ok, v) = verify_to(&env, &key, &signed, &out3);
    assert!(ok, "{v}");
    assert!(std::fs::read_to_string(&out3)
        .unwrap()
        .contains("\n- first item\n-----BEGIN not armor\n"));
}

#[test]
fn a_keyring_with_broken_certificates_is_read_and_the_skips_counted() {
    let f = fixtures();
    let env = Env::new(FIXTURE_TIME);
    // Junk, a good keyring, a corrupt packet and a truncated copy of the
    // keyring: the whole of it is read (every copy of a signer's key
    // counts), the junk, the corrupt packet and the truncated copy are
    // skipped and counted with -v, and the signature is good.
    let good = std::fs::read(f.join("debian-archive-keyring.gpg")).unwrap();
    let mut ring = b"junk that is no packet at all".to_vec();
    ring.extend_from_slice(&good);
    ring.extend_from_slice(&[0x99, 0x01, 0x0d, 0x04, 0x00, 0x00]);
    ring.extend_from_slice(&good[..good.len() / 3]);
    let path = env.path("mixed.gpg");
    std::fs::write(&path, &ring).unwrap();
    let out = env
        .cmd()
        .args(["-v", "verify", "--cert"])
        .arg(&path)
        .arg("--signature")
        .arg(f.join("Release.gpg"))
        .arg(f.join("Release"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{stderr}{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains("skipped"), "{stderr}");
    let skipped: usize = stderr
        .split(" skipped")
        .next()
        .unwrap()
        .rsplit(", ")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(skipped >= 2, "{stderr}");
    assert!(
        !stderr.contains("read up to the last key needed"),
        "{stderr}"
    );
    // A signer that is not in the keyring: the same.
    let gpg = Gpg::at(&env.time);
    gpg.ok(
        &[
            "--quick-gen-key",
            "Stranger <s@example.org>",
            "ed25519",
            "sign",
            "2030-01-01",
        ],
        None,
    );
    let data = env.path("data.txt");
    std::fs::write(&data, b"x").unwrap();
    gpg.ok(&["--detach-sign", data.to_str().unwrap()], None);
    let out = env
        .cmd()
        .args(["-v", "verify", "--cert"])
        .arg(&path)
        .arg(&data)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("not among the given certificates"));
    let all: usize = stderr
        .split(" skipped")
        .next()
        .unwrap()
        .rsplit(", ")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(all >= 2, "{stderr}");
}

#[test]
fn armored_keyrings_and_the_single_certificate_limit() {
    let f = fixtures();
    let env = Env::new(FIXTURE_TIME);
    let good = std::fs::read(f.join("debian-archive-keyring.gpg")).unwrap();
    // Armored, several blocks with text around them.
    let armored = env.path("ring.asc");
    let a = gpg_command(env.dir.path(), &env.time)
        .args(["--batch", "--enarmor", "-o"])
        .arg(&armored)
        .arg(f.join("debian-archive-keyring.gpg"))
        .output()
        .unwrap();
    assert!(a.status.success());
    let mut text2 = b"Some listing before the keys\n\n".to_vec();
    text2.extend(std::fs::read(&armored).unwrap());
    text2.extend_from_slice(b"\nand text between blocks\n");
    text2.extend(std::fs::read(&armored).unwrap());
    std::fs::write(&armored, text2).unwrap();
    let (ok, v) = keycycle(
        &env,
        FIXTURE_TIME,
        &[&f.join("Release")],
        &[
            "--cert",
            armored.to_str().unwrap(),
            "--signature",
            f.join("Release.gpg").to_str().unwrap(),
            "--signers",
            "3",
        ],
    );
    assert!(ok, "{v}");
    // The single-certificate limit stays where one certificate is expected.
    let big = env.path("big.gpg");
    let mut b = Vec::new();
    while b.len() <= 17 << 20 {
        b.extend_from_slice(&good);
    }
    std::fs::write(&big, &b).unwrap();
    let out = env.run(&["init"]);
    assert!(out.status.success());
    let (_, recipient) = env.age_identity("x");
    let out = env
        .cmd()
        .args([
            "roster",
            "add",
            "--name",
            "X",
            "--email",
            "x@example.org",
            "--escrow-recipient",
            &recipient,
            "--cert",
        ])
        .arg(&big)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("too large"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ... and the same file is a fine keyring for verify.
    let (ok, v) = keycycle(
        &env,
        FIXTURE_TIME,
        &[&f.join("Release")],
        &[
            "--cert",
            big.to_str().unwrap(),
            "--signature",
            f.join("Release.gpg").to_str().unwrap(),
        ],
    );
    assert!(ok, "{v}");
}

#[test]
fn errors_say_how_to_proceed_in_one_line_each() {
    let corpus = corpus();
    // The lines below name dates and key holders of these exact files.
    for p in ["acl", "libidn2", "gzip"] {
        assert!(
            as_pinned(p),
            "{p}: the corpus does not hold the pinned bytes (tests/fixtures/corpus/pins.tsv); \
             this test's written-down details are for those"
        );
    }
    let src = corpus.join("src");
    let at = corpus_time();
    let env = Env::new(&at);
    let tarball = |name: &str| {
        let sig = find(&src, &format!("{name}_"), ".asc");
        PathBuf::from(sig.to_string_lossy().trim_end_matches(".asc").to_string())
    };
    // SHA-1 bindings: one BAD line saying so, the exact command, the risk.
    let acl = tarball("acl");
    let key = corpus.join("keys/acl.asc");
    let (ok, out) = text(
        &env,
        &at,
        &["--cert", key.to_str().unwrap(), acl.to_str().unwrap()],
    );
    assert!(!ok);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with(&format!("BAD   {}  made 2021-03-16 by ", acl.display())),
        "{out}"
    );
    assert!(
        lines[0].contains("uses SHA1, rejected since 2023-02-01"),
        "{out}"
    );
    let cmd = lines[1].trim().strip_prefix("hint: ").unwrap();
    assert_eq!(
        cmd,
        format!(
            "keycycle verify --cert {} --policy-as-of 2021-03-16 {}",
            key.display(),
            acl.display()
        )
    );
    assert!(lines[2].trim().starts_with("risk: "), "{out}");
    // The printed command passes.
    let words: Vec<&str> = cmd.split(' ').skip(2).collect();
    let (ok, out) = text(&env, &at, &words);
    assert!(ok, "{out}");
    // Expired at signing time: both dates.
    let idn = tarball("libidn2");
    let (ok, out) = text(
        &env,
        &at,
        &[
            "--cert",
            corpus.join("keys/libidn2.asc").to_str().unwrap(),
            idn.to_str().unwrap(),
        ],
    );
    assert!(!ok);
    let first = out.lines().next().unwrap();
    assert!(
        first.contains("made 2022-07-11 by Simon Josefsson")
            && first.contains("after its key expired on 2021-08-21"),
        "{out}"
    );
    assert!(
        out.lines().nth(1).unwrap().trim().starts_with("hint: "),
        "{out}"
    );
    // No matching certificate: the issuer's key ID and fingerprint, and
    // where to fetch it.
    let (ok, out) = text(
        &env,
        &at,
        &[
            "--cert",
            corpus.join("keys/gzip.asc").to_str().unwrap(),
            "--signature",
            &format!("{}.asc", idn.display()),
            idn.to_str().unwrap(),
        ],
    );
    assert!(!ok);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("not among the given certificates: 0x51722B08FE4745A2 (fingerprint A3CC9C870B9D310ABAD4CF2F51722B08FE4745A2)"), "{out}");
    assert!(
        lines[1].contains("gpg --recv-keys A3CC9C870B9D310ABAD4CF2F51722B08FE4745A2"),
        "{out}"
    );
    assert!(lines[1].contains("https://keys.openpgp.org/vks/v1/by-fingerprint/A3CC9C870B9D310ABAD4CF2F51722B08FE4745A2"), "{out}");
    // -v adds the detail under the BAD line.
    let out = env
        .cmd_at(&at)
        .args(["-v", "verify", "--cert"])
        .arg(&key)
        .arg(&acl)
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.lines().nth(1).unwrap().trim().starts_with("detail: "),
        "{s}"
    );
}

/// scripts/corpus-pick.py on `showsrc` (apt-cache showsrc output) for the
/// `packages`: (exit ok, stdout, stderr).
fn pick(showsrc: &str, packages: &[&str]) -> (bool, String, String) {
    use std::io::Write;
    require("python3");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = Std::new("python3")
        .arg(root.join("scripts/corpus-pick.py"))
        .arg(root.join("tests/fixtures/corpus/pins.tsv"))
        .args(packages)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(showsrc.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Issue 19: bookworm-security's xz-utils 5.4.1-1+deb12u2 ships the
/// tarball without its upstream signature; with security sources in the
/// index (as on many machines, and always in fetch-corpus's own list) the
/// pick must still be the signed, pinned upload. The fixture is the real
/// `apt-cache showsrc xz-utils` of bookworm + bookworm-security.
#[test]
fn the_corpus_pick_passes_over_a_security_upload_without_the_upstream_signature() {
    let showsrc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/showsrc-xz-utils.txt"),
    )
    .unwrap();
    assert!(
        showsrc.contains("Version: 5.4.1-1+deb12u2"),
        "the security upload is in the fixture"
    );
    let (ok, out, err) = pick(&showsrc, &["xz-utils"]);
    assert!(ok, "{err}");
    assert_eq!(out, "xz-utils\t5.4.1-1+deb12u1\tpinned\n");
    // A point release that drops the pinned upload but keeps the same
    // upstream signature in another revision: that one, same bytes.
    let renamed = showsrc.replace("5.4.1-1+deb12u1", "5.4.1-1+deb12u3");
    let (ok, out, err) = pick(&renamed, &["xz-utils"]);
    assert!(ok, "{err}");
    assert_eq!(out, "xz-utils\t5.4.1-1+deb12u3\tsame-sig\n");
    // Only the unsigned security upload left: no pick, the package named.
    let stanzas: Vec<&str> = showsrc
        .split("\n\n")
        .filter(|s| !s.contains("Version: 5.4.1-1+deb12u1"))
        .collect();
    let (ok, out, err) = pick(&stanzas.join("\n\n"), &["xz-utils"]);
    assert!(!ok && out.is_empty(), "{out}");
    assert!(
        err.contains("no version with an upstream signature in the index: xz-utils"),
        "{err}"
    );
}

/// The corpus the suite runs on was fetched through fetch-corpus's own
/// source list, security suite included, and holds what its manifest says.
#[test]
fn the_corpus_was_fetched_with_security_sources_and_matches_its_manifest() {
    let corpus = corpus();
    let sources = std::fs::read_to_string(corpus.join("sources.list")).unwrap();
    assert!(
        sources
            .lines()
            .any(|l| l.starts_with("deb-src ") && l.contains("-security")),
        "{sources}"
    );
    let manifest = std::fs::read_to_string(corpus.join("manifest.tsv")).unwrap();
    for p in pinned_sources() {
        let line = manifest
            .lines()
            .find(|l| l.starts_with(&format!("source\t{p}\t")))
            .unwrap_or_else(|| panic!("{p} not in the manifest:\n{manifest}"));
        let f: Vec<&str> = line.split('\t').collect();
        let sig = find(&corpus.join("src"), &format!("{p}_"), ".asc");
        use sha2::Digest;
        let got = hex::encode(sha2::Sha256::digest(std::fs::read(&sig).unwrap()));
        assert_eq!(got, f[4], "{p}: the signature on disk is the one recorded");
    }
}
