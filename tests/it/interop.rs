//! The interop matrix: what keycycle makes (certs, the exported signing
//! subkey, detached signatures, certifications, revocation certificates),
//! checked by GnuPG, sqv and sq; and what GnuPG and sq make (keys,
//! signatures, certifications), accepted by keycycle. One vault, one key
//! per algorithm keycycle generates that matters: rsa3072 (2026.2) and
//! ed25519 (2027.1). Every cell runs, the table goes to
//! docs/interop-matrix.md, then every cell must have passed.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command as Std, Output};

const T0: &str = "2026-03-01T00:00:00Z"; // init, roster, the rsa3072 key (2026.2)
const GEN: &str = "2026-08-01T12:00:00Z"; // the ed25519 key (2027.1), cross-sign
const CERTIFY: &str = "2026-09-01T00:00:00Z"; // `keycycle certify` by the roots
const IMPORT: &str = "2026-09-02T00:00:00Z"; // attestations import
const EXPORT: &str = "2026-10-10T00:00:00Z"; // export public, signing-subkey
const SIGN: &str = "2026-10-15T00:00:00Z"; // every signature
const CHECK: &str = "2026-10-20T00:00:00Z"; // every check

const G_ROOT: &str = "20260101T000000!";
const G_CERTIFY: &str = "20260901T000000!";
const G_SIGN: &str = "20261015T000000!";
const G_CHECK: &str = "20261020T000000!";

const COLUMNS: [&str; 4] = ["GnuPG", "sqv", "sq", "keycycle"];

type Check = Result<String, String>;

enum Cell {
    Na,
    Pass(String),
    Fail(String),
}

struct Row {
    artifact: String,
    cells: Vec<Cell>,
}

#[derive(Default)]
struct Matrix {
    rows: Vec<Row>,
}

impl Matrix {
    fn row(&mut self, artifact: impl Into<String>) -> usize {
        self.rows.push(Row {
            artifact: artifact.into(),
            cells: COLUMNS.iter().map(|_| Cell::Na).collect(),
        });
        self.rows.len() - 1
    }

    /// Run one cell's check; a panic inside counts as a failure.
    fn cell(&mut self, row: usize, col: &str, f: impl FnOnce() -> Check) {
        let i = COLUMNS.iter().position(|c| *c == col).expect("a column");
        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
            Err(p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panicked".into()))
        });
        self.rows[row].cells[i] = match got {
            Ok(how) => Cell::Pass(how),
            Err(why) => Cell::Fail(why),
        };
    }
}

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn out(o: Output) -> Out {
    Out {
        ok: o.status.success(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn run(c: &mut Std) -> Out {
    out(c.output().unwrap())
}

/// Ok(stdout) on success, Err(what it said) otherwise.
fn need(what: &str, o: Out) -> Result<String, String> {
    if o.ok {
        Ok(o.stdout)
    } else {
        Err(format!(
            "{what} failed: {}{}",
            o.stderr.trim(),
            o.stdout.trim()
        ))
    }
}

fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

/// sq and sqv check at CHECK, like gpg and keycycle.
fn sq(args: &[&str]) -> Out {
    run(sq_at(CHECK).args(args))
}

fn sqv_check(keyring: &Path, sig: &Path, data: &Path) -> Out {
    out(sqv(CHECK, keyring, sig, data))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn keyid(fpr: &str) -> &str {
    &fpr[24..]
}

/// gpg at a fixed instant.
fn gpg_at(g: &Gpg, at: &str, args: &[&str]) -> Out {
    let mut v = vec!["--faked-system-time", at];
    v.extend_from_slice(args);
    out(g.run(&v, None))
}

fn version(tool: &str) -> String {
    let o = run(Std::new(tool).arg("--version"));
    o.stdout.lines().next().unwrap_or("?").trim().to_string()
}

/// One cycle key and everything made from it.
struct Key {
    alg: &'static str,
    cycle: &'static str,
    fpr: String,
    sub_fpr: String,
    cert: PathBuf,
    subkey: PathBuf,
    data: PathBuf,
    kc_sig: PathBuf,
}

/// sq's cell that `sq inspect FILE` succeeds and shows each of `all`.
fn sq_inspect_shows(file: &Path, all: &[&str], said: &str) -> Check {
    let o = need("sq inspect", sq(&["inspect", s(file)]))?;
    ensure(all.iter().all(|w| o.contains(w)), || o.clone())?;
    Ok(said.into())
}

/// keycycle's cell for a root's key made by another tool: `roster add
/// --cert` (at T0, with a fresh age identity named after the root) takes
/// it, `inspect` shows its fingerprint.
fn root_added_and_inspected(env: &Env, name: &str, email: &str, cert: &Path, fpr: &str) -> Check {
    let (_, recipient) = env.age_identity(&name.to_lowercase());
    need(
        "roster add",
        out(env.run_at(
            T0,
            &strs(&roster_add_args(name, email, &recipient, Some(cert))),
        )),
    )?;
    let j = json(&need(
        "inspect",
        out(env.run_at(T0, &["--json", "inspect", s(cert)])),
    )?);
    ensure(j["certificates"][0]["fingerprint"] == fpr, || j.to_string())?;
    Ok("`roster add --cert`, `inspect`".into())
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

#[test]
fn interop_matrix() {
    let started = std::time::Instant::now();
    for t in ["gpg", "sqv", "sq", "age"] {
        require(t);
    }
    let env = Env::new(T0);
    let mut m = Matrix::default();

    // ---- The roots: one key made by GnuPG, one by sq. -------------------
    let gina = Gpg::at(CHECK);
    assert!(
        gpg_at(
            &gina,
            G_ROOT,
            &[
                "--quick-gen-key",
                "Gina <gina@example.org>",
                "ed25519",
                "cert",
                "5y"
            ]
        )
        .ok
    );
    let colons = gina.ok(&["--list-keys", "--with-colons"], None);
    let gina_fpr = colons
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .unwrap()
        .split(':')
        .nth(9)
        .unwrap()
        .to_string();
    let gina_pub = env.path("gina.pub.asc");
    std::fs::write(
        &gina_pub,
        gina.ok(&["--armor", "--export", &gina_fpr], None),
    )
    .unwrap();
    let gina_sec = env.path("gina.sec.asc");
    std::fs::write(
        &gina_sec,
        gina.ok(&["--armor", "--export-secret-keys", &gina_fpr], None),
    )
    .unwrap();

    let sam_key = env.path("sam.key");
    let sam_pub = env.path("sam.pub.asc");
    let o = sq(&[
        "key",
        "generate",
        "--cipher-suite",
        "rsa3k",
        "--creation-time",
        "20260101",
        "--expires-in",
        "5y",
        "--userid",
        "Sam <sam@example.org>",
        "--export",
        s(&sam_key),
    ]);
    assert!(o.ok, "sq key generate: {}", o.stderr);
    let o = sq(&["key", "extract-cert", s(&sam_key), "-o", s(&sam_pub)]);
    assert!(o.ok, "sq key extract-cert: {}", o.stderr);
    let sam_fpr = sq(&["inspect", s(&sam_pub)])
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Fingerprint: ").map(str::to_string))
        .unwrap();

    // (env's own time is T0)
    let (ada_id, _) = env.vault_with_ada();

    let r = m.row("GnuPG-made key (root Gina, ed25519)");
    m.cell(r, "sq", || {
        sq_inspect_shows(
            &gina_pub,
            &["OpenPGP Certificate", "EdDSA"],
            "`sq inspect`: certificate, EdDSA",
        )
    });
    m.cell(r, "keycycle", || {
        root_added_and_inspected(&env, "Gina", "gina@example.org", &gina_pub, &gina_fpr)
    });

    let r = m.row("sq-made key (root Sam, rsa3072)");
    m.cell(r, "GnuPG", || {
        let g = Gpg::at(CHECK);
        need(
            "gpg --import",
            gpg_at(&g, G_CHECK, &["--import", s(&sam_pub)]),
        )?;
        let c = need(
            "gpg --list-keys",
            gpg_at(&g, G_CHECK, &["--list-keys", "--with-colons", &sam_fpr]),
        )?;
        let pubk = c.lines().find(|l| l.starts_with("pub:")).unwrap_or("");
        let f: Vec<&str> = pubk.split(':').collect();
        ensure(f.len() > 3 && f[2] == "3072" && f[3] == "1", || c.clone())?;
        Ok("`--import`: pub rsa3072".into())
    });
    m.cell(r, "keycycle", || {
        root_added_and_inspected(&env, "Sam", "sam@example.org", &sam_pub, &sam_fpr)
    });

    // ---- The cycle keys. -------------------------------------------------
    let mut keys: Vec<Key> = Vec::new();
    for (alg, cycle, at) in [("rsa3072", "2026.2", T0), ("ed25519", "2027.1", GEN)] {
        let j = json(&env.ok_at(
            at,
            &[
                "--json",
                "generate",
                "--cycle",
                cycle,
                "--cipher-suite",
                alg,
            ],
        ));
        keys.push(Key {
            alg,
            cycle,
            fpr: j["fingerprint"].as_str().unwrap().into(),
            sub_fpr: j["signing_subkey"].as_str().unwrap().into(),
            cert: env.path(&format!("{alg}.pub.asc")),
            subkey: env.path(&format!("{alg}.subkey.asc")),
            data: env.path(&format!("release-{alg}.tar.gz")),
            kc_sig: env.path(&format!("release-{alg}.tar.gz.asc")),
        });
    }
    let (rsa, ed) = (&keys[0], &keys[1]);
    env.ok_at(
        GEN,
        &[
            "cross-sign",
            "--from",
            rsa.cycle,
            "--to",
            ed.cycle,
            "--identity",
            s(&ada_id),
        ],
    );

    // `keycycle certify` by each root with their own key, on the cert as
    // it stands: Gina (ed25519) on the rsa3072 key, Sam (rsa3072) on the
    // ed25519 key.
    let pre = |k: &Key| {
        let p = env.path(&format!("{}.pre.asc", k.alg));
        env.ok_at(
            CERTIFY,
            &["export", "public", k.cycle, "--overwrite", "-o", s(&p)],
        );
        p
    };
    let kc_certified = [
        (rsa, "Gina", &gina_sec, &gina_fpr, &gina_pub),
        (ed, "Sam", &sam_key, &sam_fpr, &sam_pub),
    ]
    .map(|(k, who, secret, by_fpr, by_pub)| {
        let target = pre(k);
        let o = env.path(&format!("{}-kc-certified-by-{who}.asc", k.alg));
        env.ok_at(
            CERTIFY,
            &[
                "certify",
                s(&target),
                "--with-key",
                s(secret),
                "--fingerprint",
                &k.fpr,
                "-o",
                s(&o),
            ],
        );
        (k, who, o, by_fpr.clone(), by_pub.clone())
    });

    // Certifications made by GnuPG (Gina, --quick-sign-key) and by sq
    // (Sam, sq certify) on both cycle keys.
    let mut gpg_certified = Vec::new();
    let mut sq_certified = Vec::new();
    for k in &keys {
        let target = pre(k);
        gina.ok(&["--import", s(&target)], None);
        assert!(gpg_at(&gina, G_CERTIFY, &["--quick-sign-key", &k.fpr]).ok);
        let g = env.path(&format!("{}-gpg-certified.asc", k.alg));
        std::fs::write(&g, gina.ok(&["--armor", "--export", &k.fpr], None)).unwrap();
        gpg_certified.push(g);
        let q = env.path(&format!("{}-sq-certified.asc", k.alg));
        let uid = format!(
            "OpenStack Infra ({}/{} Cycle) <infra-root@openstack.org>",
            k.cycle,
            if k.cycle == "2026.2" {
                "Hibiscus"
            } else {
                "Indri"
            }
        );
        let o = sq(&[
            "certify",
            "--time",
            "20260901",
            s(&sam_key),
            s(&target),
            &uid,
            "-o",
            s(&q),
        ]);
        assert!(o.ok, "sq certify: {}", o.stderr);
        sq_certified.push(q);
    }

    // keycycle accepts both kinds of certification.
    for (k, (g, q)) in keys.iter().zip(gpg_certified.iter().zip(&sq_certified)) {
        for (maker, file, by) in [("GnuPG", g, &gina_fpr), ("sq", q, &sam_fpr)] {
            let r = m.row(format!(
                "{maker}-made certification (`{}`) on the {} key",
                if maker == "GnuPG" {
                    "gpg --quick-sign-key"
                } else {
                    "sq certify"
                },
                k.alg
            ));
            m.cell(r, "keycycle", || {
                let j = json(&need(
                    "attestations import",
                    out(env.run_at(IMPORT, &["--json", "attestations", "import", s(file)])),
                )?);
                let hit = j["certifications"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["issuer_key_id"] == format!("0x{}", keyid(by)))
                    .cloned()
                    .unwrap_or_default();
                ensure(hit["outcome"] == "accepted", || j.to_string())?;
                Ok("`attestations import`: accepted".into())
            });
            if maker == "GnuPG" {
                m.cell(r, "sq", || {
                    let o = need("sq inspect", sq(&["inspect", "--certifications", s(file)]))?;
                    ensure(o.contains(&format!("Alleged certifier: {by}")), || {
                        o.clone()
                    })?;
                    Ok("`sq inspect --certifications`: listed¹".into())
                });
            } else {
                m.cell(r, "GnuPG", || {
                    let g = Gpg::at(CHECK);
                    need(
                        "gpg --import",
                        gpg_at(&g, G_CHECK, &["--import", s(&sam_pub), s(file)]),
                    )?;
                    let c = need(
                        "gpg --check-sigs",
                        gpg_at(&g, G_CHECK, &["--check-sigs", "--with-colons", &k.fpr]),
                    )?;
                    ensure(
                        c.lines().any(|l| {
                            l.starts_with("sig:!:") && l.contains(keyid(by)) && l.contains(":10x:")
                        }),
                        || c.clone(),
                    )?;
                    Ok("`--check-sigs`: `sig!` 10x".into())
                });
            }
        }
    }

    // The public certs and the signing subkeys, as exported.
    for k in &keys {
        env.ok_at(EXPORT, &["export", "public", k.cycle, "-o", s(&k.cert)]);
        env.ok_at(
            EXPORT,
            &[
                "export",
                "signing-subkey",
                k.cycle,
                "--identity",
                s(&ada_id),
                "-o",
                s(&k.subkey),
            ],
        );
        std::fs::write(&k.data, format!("release built for {}\n", k.alg)).unwrap();
    }

    // One GnuPG home that knows every public cert, for the checks.
    let checker = Gpg::at(CHECK);
    for k in &keys {
        assert!(gpg_at(&checker, G_CHECK, &["--import", s(&k.cert)]).ok);
    }
    assert!(gpg_at(&checker, G_CHECK, &["--import", s(&gina_pub), s(&sam_pub)]).ok);

    let gpg_verify = |sig: &Path, data: &Path, sub: &str| -> Check {
        let o = need(
            "gpg --verify",
            gpg_at(
                &checker,
                G_CHECK,
                &["--status-fd", "1", "--verify", s(sig), s(data)],
            ),
        )?;
        ensure(
            o.contains("[GNUPG:] GOODSIG") && o.contains(&format!("VALIDSIG {sub}")),
            || o.clone(),
        )?;
        Ok("`--verify`: GOODSIG, VALIDSIG subkey".into())
    };
    let sqv_verify = |cert: &Path, sig: &Path, data: &Path, fpr: &str| -> Check {
        let o = need("sqv", sqv_check(cert, sig, data))?;
        ensure(o.contains(fpr), || o.clone())?;
        Ok("exit 0, names the key".into())
    };
    let sq_verify = |cert: &Path, sig: &Path, data: &Path, sub: &str| -> Check {
        let o = sq(&[
            "verify",
            "--signer-cert",
            s(cert),
            "--detached",
            s(sig),
            s(data),
        ]);
        let said = format!("{}{}", o.stdout, o.stderr);
        ensure(o.ok, || format!("sq verify: {said}"))?;
        ensure(
            said.contains(&format!("Good signature from {}", keyid(sub)))
                && said.contains("1 good signature"),
            || said.clone(),
        )?;
        Ok("`sq verify --detached`: 1 good signature".into())
    };
    let kc_verify = |k: &Key, sig: &Path, data: &Path| -> Check {
        let j = json(&need(
            "keycycle verify",
            out(env.run_at(
                CHECK,
                &[
                    "--json",
                    "verify",
                    "--cert",
                    s(&k.cert),
                    "--signature",
                    s(sig),
                    s(data),
                ],
            )),
        )?);
        ensure(
            j["good"] == 1 && j["files"][0]["subkey"] == k.sub_fpr.as_str(),
            || j.to_string(),
        )?;
        Ok("`verify`: good, names the subkey".into())
    };

    for k in &keys {
        let a = k.alg;
        // The public cert.
        let r = m.row(format!("keycycle public cert ({a})"));
        m.cell(r, "GnuPG", || {
            let c = need(
                "gpg --list-keys",
                gpg_at(&checker, G_CHECK, &["--list-keys", "--with-colons", &k.fpr]),
            )?;
            let p: Vec<&str> = c
                .lines()
                .find(|l| l.starts_with("pub:"))
                .unwrap_or("")
                .split(':')
                .collect();
            let sb: Vec<&str> = c
                .lines()
                .find(|l| l.starts_with("sub:"))
                .unwrap_or("")
                .split(':')
                .collect();
            let algo = if a == "ed25519" { "22" } else { "1" };
            ensure(
                p.len() > 11
                    && sb.len() > 11
                    && !["r", "e", "i", "d"].contains(&p[1])
                    && p[3] == algo
                    && p[11].starts_with('c')
                    && p[11].contains('S')
                    && sb[11] == "s",
                || c.clone(),
            )?;
            Ok(format!("`--import`: pub `c` (algo {algo}), sub `s`"))
        });
        m.cell(r, "sq", || {
            let o = need("sq inspect", sq(&["inspect", s(&k.cert)]))?;
            let algo = if a == "ed25519" { "EdDSA" } else { "RSA" };
            ensure(
                o.contains("OpenPGP Certificate")
                    && o.contains(&format!("Public-key algo: {algo}"))
                    && o.contains("Key flags: signing")
                    && !o.contains("Revoked")
                    && !o.contains("Invalid"),
                || o.clone(),
            )?;
            Ok("`sq inspect`: valid, signing subkey".into())
        });
        m.cell(r, "keycycle", || {
            let j = json(&need(
                "inspect",
                out(env.run_at(CHECK, &["--json", "inspect", s(&k.cert)])),
            )?);
            let c = &j["certificates"][0];
            ensure(c["algorithm"] == a && c["cycle_id"] == k.cycle, || {
                j.to_string()
            })?;
            Ok("`inspect`: cycle, algorithm".into())
        });

        // The exported signing subkey.
        let r = m.row(format!("keycycle signing-subkey export ({a})"));
        let ci = Gpg::at(CHECK);
        m.cell(r, "GnuPG", || {
            need(
                "gpg --import",
                gpg_at(&ci, G_SIGN, &["--import", s(&k.subkey)]),
            )?;
            let c = need(
                "gpg --list-secret-keys",
                gpg_at(&ci, G_SIGN, &["--list-secret-keys", "--with-colons"]),
            )?;
            let sec = c.lines().find(|l| l.starts_with("sec:")).unwrap_or("");
            let ssb = c.lines().find(|l| l.starts_with("ssb:")).unwrap_or("");
            ensure(
                sec.split(':').nth(14) == Some("#") && ssb.split(':').nth(14) == Some("+"),
                || c.clone(),
            )?;
            Ok("`--import`: `sec#` stub + `ssb`; signs (below)".into())
        });
        m.cell(r, "sq", || {
            let o = need("sq inspect", sq(&["inspect", s(&k.subkey)]))?;
            ensure(
                o.contains("Transferable Secret Key")
                    && o.matches("Secret key: Unencrypted").count() == 1,
                || o.clone(),
            )?;
            Ok("`sq inspect`: one usable secret (the subkey); signs (below)".into())
        });
        m.cell(r, "keycycle", || {
            need(
                "keycycle sign",
                out(env.run_at(SIGN, &["sign", "--key", s(&k.subkey), s(&k.data)])),
            )?;
            Ok("`sign --key`".into())
        });

        // keycycle's detached signature.
        let r = m.row(format!("keycycle detached signature ({a})"));
        m.cell(r, "GnuPG", || gpg_verify(&k.kc_sig, &k.data, &k.sub_fpr));
        m.cell(r, "sqv", || sqv_verify(&k.cert, &k.kc_sig, &k.data, &k.fpr));
        m.cell(r, "sq", || {
            sq_verify(&k.cert, &k.kc_sig, &k.data, &k.sub_fpr)
        });
        m.cell(r, "keycycle", || kc_verify(k, &k.kc_sig, &k.data));

        // The openstack/releases listing (0x<fpr>.txt): text, then the armor.
        let r = m.row(format!("keycycle releases listing `0x<fpr>.txt` ({a})"));
        let rel = env.path(&format!("0x{}.txt", k.fpr.to_lowercase()));
        let made = need(
            "export --format releases",
            out(env.run_at(
                EXPORT,
                &[
                    "export",
                    "public",
                    k.cycle,
                    "--format",
                    "releases",
                    "-o",
                    s(&rel),
                ],
            )),
        )
        .map(|_| ());
        let gate = |f: &dyn Fn() -> Check| -> Check {
            made.clone()?;
            f()
        };
        m.cell(r, "GnuPG", || {
            gate(&|| {
                let g = Gpg::at(CHECK);
                let o = gpg_at(&g, G_CHECK, &["--status-fd", "1", "--import", s(&rel)]);
                let o = need("gpg --import", o)?;
                ensure(o.contains(&format!("IMPORT_OK 1 {}", k.fpr)), || o.clone())?;
                Ok("`--import`: IMPORT_OK".into())
            })
        });
        m.cell(r, "sqv", || {
            gate(&|| {
                sqv_verify(&rel, &k.kc_sig, &k.data, &k.fpr)
                    .map(|_| "as `--keyring`: verifies keycycle's signature".into())
            })
        });
        m.cell(r, "sq", || {
            gate(&|| {
                sq_inspect_shows(
                    &rel,
                    &["OpenPGP Certificate", &k.fpr],
                    "`sq inspect`: certificate",
                )
            })
        });
        m.cell(r, "keycycle", || {
            gate(&|| {
                let j = json(&need(
                    "inspect",
                    out(env.run_at(CHECK, &["--json", "inspect", s(&rel)])),
                )?);
                ensure(
                    j["certificates"][0]["fingerprint"] == k.fpr.as_str(),
                    || j.to_string(),
                )?;
                Ok("`inspect`".into())
            })
        });

        // GnuPG's signature with the exported stub.
        let r = m.row(format!(
            "GnuPG-made detached signature (`sec#` export, {a})"
        ));
        let gsig = env.path(&format!("release-{a}.gpg.asc"));
        let made = gpg_at(
            &ci,
            G_SIGN,
            &[
                "--pinentry-mode",
                "error",
                "--armor",
                "--detach-sign",
                "-o",
                s(&gsig),
                s(&k.data),
            ],
        );
        let made = need("gpg --detach-sign", made).map(|_| ());
        let gate = |f: &dyn Fn() -> Check| -> Check {
            made.clone()?;
            f()
        };
        m.cell(r, "sqv", || {
            gate(&|| sqv_verify(&k.cert, &gsig, &k.data, &k.fpr))
        });
        m.cell(r, "sq", || {
            gate(&|| sq_verify(&k.cert, &gsig, &k.data, &k.sub_fpr))
        });
        m.cell(r, "keycycle", || gate(&|| kc_verify(k, &gsig, &k.data)));

        // sq's signature with the exported subkey.
        let r = m.row(format!("sq-made detached signature (subkey export, {a})"));
        let qsig = env.path(&format!("release-{a}.sq.asc"));
        let made = need(
            "sq sign",
            sq(&[
                "sign",
                "--detached",
                "--signer-key",
                s(&k.subkey),
                "--time",
                "20261015",
                "-o",
                s(&qsig),
                s(&k.data),
            ]),
        )
        .map(|_| ());
        let gate = |f: &dyn Fn() -> Check| -> Check {
            made.clone()?;
            f()
        };
        m.cell(r, "GnuPG", || {
            gate(&|| gpg_verify(&qsig, &k.data, &k.sub_fpr))
        });
        m.cell(r, "sqv", || {
            gate(&|| sqv_verify(&k.cert, &qsig, &k.data, &k.fpr))
        });
        m.cell(r, "keycycle", || gate(&|| kc_verify(k, &qsig, &k.data)));
    }

    // Certifications keycycle makes: the cross-signature and `certify`.
    let check_sigs = |certs: &[&PathBuf], target: &str, by: &str| -> Check {
        let g = Gpg::at(CHECK);
        let mut args = vec!["--import"];
        args.extend(certs.iter().map(|p| s(p)));
        need("gpg --import", gpg_at(&g, G_CHECK, &args))?;
        let c = need(
            "gpg --check-sigs",
            gpg_at(&g, G_CHECK, &["--check-sigs", "--with-colons", target]),
        )?;
        ensure(
            c.lines()
                .any(|l| l.starts_with("sig:!:") && l.contains(keyid(by)) && l.contains(":10x:")),
            || c.clone(),
        )?;
        ensure(
            c.lines()
                .filter(|l| l.starts_with("sig:"))
                .all(|l| l.starts_with("sig:!:") || l.starts_with("sig:?:")),
            || format!("a bad signature: {c}"),
        )?;
        Ok("`--check-sigs`: `sig!` 10x".into())
    };
    let sq_lists = |file: &Path, by: &str| -> Check {
        let o = need("sq inspect", sq(&["inspect", "--certifications", s(file)]))?;
        ensure(o.contains(&format!("Alleged certifier: {by}")), || {
            o.clone()
        })?;
        Ok("`sq inspect --certifications`: listed¹".into())
    };

    let r = m.row("keycycle cross-signature (rsa3072 2026.2 certifies ed25519 2027.1)");
    m.cell(r, "GnuPG", || {
        check_sigs(&[&rsa.cert, &ed.cert], &ed.fpr, &rsa.fpr)
    });
    m.cell(r, "sq", || sq_lists(&ed.cert, &rsa.fpr));
    m.cell(r, "keycycle", || {
        let j = json(&need(
            "inspect",
            out(env.run_at(CHECK, &["--json", "inspect", s(&ed.cert)])),
        )?);
        ensure(
            j["certificates"][0]["certifications"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["issuer_fingerprint"] == rsa.fpr.as_str() && c["check"] == "valid"),
            || j.to_string(),
        )?;
        Ok("`inspect`: valid, by the 2026.2 key".into())
    });

    for (k, who, file, by_fpr, by_pub) in &kc_certified {
        let by_alg = if *who == "Gina" { "ed25519" } else { "rsa3072" };
        let r = m.row(format!(
            "keycycle `certify` with a root's own key ({who}, {by_alg}) on the {} key",
            k.alg
        ));
        m.cell(r, "GnuPG", || check_sigs(&[by_pub, file], &k.fpr, by_fpr));
        m.cell(r, "sq", || sq_lists(file, by_fpr));
        m.cell(r, "keycycle", || {
            let j = json(&need(
                "inspect",
                out(env.run_at(CHECK, &["--json", "inspect", s(file)])),
            )?);
            ensure(
                j["certificates"][0]["certifications"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| {
                        c["issuer_key_id"] == format!("0x{}", keyid(by_fpr))
                            && c["check"] == "valid"
                    }),
                || j.to_string(),
            )?;
            Ok("`inspect`: valid (issuer on the roster)".into())
        });
    }

    // The escrowed hard revocation certificate, opened with age.
    for k in &keys {
        let a = k.alg;
        let dir = std::fs::read_dir(env.vault.join("keys"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains(&format!("{}-", k.cycle)))
            .unwrap();
        let rev = env.path(&format!("{a}.revocation.asc"));
        std::fs::write(&rev, age_decrypt(&ada_id, &dir.join("revocation.age"))).unwrap();
        // The cert with the revocation appended (binary), as sq and sqv take it.
        let merged = env.path(&format!("{a}.revoked.pgp"));
        let mut bytes = Vec::new();
        for f in [&k.cert, &rev] {
            let o = sq_at(CHECK).args(["dearmor", s(f)]).output().unwrap();
            assert!(o.status.success(), "sq dearmor {}", f.display());
            bytes.extend(o.stdout);
        }
        std::fs::write(&merged, bytes).unwrap();

        let r = m.row(format!(
            "keycycle hard revocation certificate (escrowed, {a})"
        ));
        m.cell(r, "GnuPG", || {
            let g = Gpg::at(CHECK);
            need(
                "gpg --import",
                gpg_at(&g, G_CHECK, &["--import", s(&k.cert), s(&rev)]),
            )?;
            let c = need(
                "gpg --list-keys",
                gpg_at(&g, G_CHECK, &["--list-keys", "--with-colons", &k.fpr]),
            )?;
            ensure(c.lines().any(|l| l.starts_with("pub:r:")), || c.clone())?;
            Ok("`--import`: `pub:r:` revoked".into())
        });
        m.cell(r, "sqv", || {
            let o = sqv_check(&merged, &k.kc_sig, &k.data);
            ensure(!o.ok, || format!("sqv still accepts: {}", o.stdout))?;
            ensure(o.stderr.contains("revoked"), || o.stderr.clone())?;
            Ok("rejects the earlier signature: revoked".into())
        });
        m.cell(r, "sq", || {
            sq_inspect_shows(
                &merged,
                &["Revoked", "Key material has been compromised"],
                "`sq inspect`: Revoked, key compromised",
            )
        });
        m.cell(r, "keycycle", || {
            let o = out(env.run_at(
                CHECK,
                &[
                    "--json",
                    "verify",
                    "--cert",
                    s(&merged),
                    "--signature",
                    s(&k.kc_sig),
                    s(&k.data),
                ],
            ));
            ensure(!o.ok && o.stdout.contains("\"good\": 0"), || {
                format!("{}{}", o.stdout, o.stderr)
            })?;
            ensure(o.stdout.to_lowercase().contains("revoked"), || {
                o.stdout.clone()
            })?;
            let o = out(env.run_at(CHECK, &["inspect", s(&rev)]));
            ensure(
                o.ok && o.stdout.contains("key revocation")
                    && o.stdout.contains("hard: voids every signature")
                    && o.stdout.contains("check        valid"),
                || format!("{}{}", o.stdout, o.stderr),
            )?;
            Ok("`verify`: rejects the earlier signature, revoked; `inspect`: hard, valid".into())
        });
    }

    // ---- The table. -------------------------------------------------------
    let (mut pass, mut fail, mut na) = (0, 0, 0);
    let mut md = String::new();
    md.push_str("# Interop matrix\n\n");
    md.push_str(
        "Generated by `tests/it/interop.rs` (`cargo test --test it interop::`); do not edit\n\
         by hand. Rows: an artifact and who made it; columns: the tool that checked\n\
         it. One vault with one key per algorithm: rsa3072 (2026.2) and ed25519\n\
         (2027.1); roots Gina (key made by GnuPG, ed25519) and Sam (key made by sq,\n\
         rsa3072) on the roster. Every check runs at fixed instants. GnuPG's\n\
         `--verify` exits 0 even for a revoked key, so its revocation cell checks\n\
         the key's state (`pub:r:`); sqv and keycycle must reject a signature made\n\
         before a hard revocation.\n\n",
    );
    md.push_str(&format!(
        "Tools: {} · {} · {} · keycycle {} ({})\n\n",
        version("gpg"),
        version("sqv"),
        version("sq"),
        env!("CARGO_PKG_VERSION"),
        if cfg!(feature = "crypto-openssl") {
            "crypto-openssl"
        } else {
            "crypto-rust"
        }
    ));
    md.push_str("| artifact (made by) | ");
    md.push_str(&COLUMNS.join(" | "));
    md.push_str(" |\n|---|");
    md.push_str(&"---|".repeat(COLUMNS.len()));
    md.push('\n');
    let mut failures = Vec::new();
    for row in &m.rows {
        md.push_str(&format!("| {} |", row.artifact));
        for (i, c) in row.cells.iter().enumerate() {
            let text = match c {
                Cell::Na => {
                    na += 1;
                    "—".to_string()
                }
                Cell::Pass(how) => {
                    pass += 1;
                    format!("pass: {how}")
                }
                Cell::Fail(why) => {
                    fail += 1;
                    failures.push(format!("{} / {}: {why}", row.artifact, COLUMNS[i]));
                    let line = why.lines().next().unwrap_or("").replace('|', "\\|");
                    format!("**FAIL**: {}", line.chars().take(80).collect::<String>())
                }
            };
            md.push_str(&format!(" {text} |"));
        }
        md.push('\n');
    }
    md.push_str(&format!(
        "\n{pass} cells pass, {fail} fail, {na} not applicable (—: the maker itself, or \
         a tool that has no such check: sqv only verifies signatures). {:.0} s.\n\n\
         ¹ sq 0.27 lists third-party certifications but does not verify them \
         (\"Certifications have NOT been verified!\"); GnuPG and keycycle do.\n",
        started.elapsed().as_secs_f64()
    ));
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("interop-matrix.md"), &md).unwrap();
    assert!(
        failures.is_empty(),
        "{} cells failed:\n{}",
        fail,
        failures.join("\n\n")
    );
    assert!(pass >= 40, "{pass} cells");
}
