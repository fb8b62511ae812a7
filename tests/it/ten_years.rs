//! Ten years of cycles in one test, with `--time`: every ceremony, an
//! extension, a subkey rotation, a superseded and a compromised revocation,
//! and for every day: the current cycle's key can sign (outside the
//! deliberate revocation gaps), no key signs past its expiry, and
//! `status --check` gives the documented code. Weekly artifacts are then
//! verified in one call against the hard/soft revocation rules.

use crate::common::*;
use std::collections::HashMap;
use std::path::PathBuf;

use chrono::Duration;
use keycycle::base::clock::{self, Time};
use keycycle::vault::schedule::Schedule;

use openpgp::serialize::Serialize;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

const DAYS: i64 = 3650;

struct World {
    env: Env,
    age_id: PathBuf,
    root_secret: PathBuf,
    /// Commands run so far: the vault changes only through them, so what
    /// the daily checks read from it is reloaded only when this moved.
    commands: std::cell::Cell<u64>,
}

impl World {
    fn at(&self, t: Time, args: &[&str]) -> String {
        self.commands.set(self.commands.get() + 1);
        let out = self.env.cmd_at(&clock::iso(t)).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{} {args:?}: {}",
            clock::iso(t),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
    fn id(&self) -> String {
        self.age_id.display().to_string()
    }
    /// Generate (or replace) the key for `cycle`, cross-sign from `prev`,
    /// have the root attest it. Returns the fingerprint.
    fn ceremony(&self, t: Time, cycle: &str, prev: Option<&str>, force: bool) -> String {
        let mut args = vec!["--json", "generate", "--cycle", cycle];
        if force {
            args.push("--force");
        }
        let j: serde_json::Value = serde_json::from_str(&self.at(t, &args)).unwrap();
        let fpr = j["fingerprint"].as_str().unwrap().to_string();
        if let Some(p) = prev {
            self.at(
                t,
                &[
                    "cross-sign",
                    "--from",
                    p,
                    "--to",
                    &fpr,
                    "--identity",
                    &self.id(),
                ],
            );
        }
        let certified = self.env.path("certified.asc");
        self.at(
            t,
            &[
                "certify",
                &fpr,
                "--with-key",
                self.root_secret.to_str().unwrap(),
                "--fingerprint",
                &fpr,
                "--overwrite",
                "-o",
                certified.to_str().unwrap(),
            ],
        );
        self.at(t, &["attestations", "import", certified.to_str().unwrap()]);
        // The root authorises the key in the signed vault policy (what
        // `verify` without --cert trusts).
        // (The vault's first key is in its first policy already.)
        let status: serde_json::Value =
            serde_json::from_str(&self.at(t, &["--json", "policy", "status"])).unwrap();
        if status["generated_here_unlisted"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            self.at(t, &["policy", "propose"]);
            self.at(
                t,
                &[
                    "policy",
                    "sign",
                    "--with-key",
                    self.root_secret.to_str().unwrap(),
                ],
            );
        }
        fpr
    }
    /// Export the signing subkey of `fpr` at `t` (the CI hand-off).
    fn export(&self, t: Time, fpr: &str) -> Cert {
        let out = self.env.path("subkey.asc");
        self.at(
            t,
            &[
                "export",
                "signing-subkey",
                fpr,
                "--overwrite",
                "--identity",
                &self.id(),
                "-o",
                out.to_str().unwrap(),
            ],
        );
        Cert::from_bytes(&std::fs::read(&out).unwrap()).unwrap()
    }
}

use openpgp::parse::Parse;

/// When the exported subkey file `sub` (its primary) expires, as seen on
/// `day`.
fn expiry(sub: &Cert, day: Time) -> Time {
    clock::from_system(
        sub.with_policy(
            &openpgp::policy::StandardPolicy::new(),
            clock::to_system(day),
        )
        .unwrap()
        .primary_key()
        .key_expiration_time()
        .unwrap(),
    )
}

#[test]
fn ten_years_of_cycles() {
    let started = std::time::Instant::now();
    let start = clock::parse_time("2026-08-01T12:00:00Z").unwrap();
    let env = Env::new(&clock::iso(start));
    env.ok(&["init"]);
    env.edit_config("projected = 4", "projected = 24");
    let (age_id, age_r) = env.age_identity("root");
    // The root's own OpenPGP key, to attest with.
    let (root, _) = openpgp::cert::CertBuilder::general_purpose(Some("Root <root@example.org>"))
        .set_creation_time(clock::to_system(clock::parse_time("2026-01-01").unwrap()))
        // A root's own key that lasts the ten years (it signs policies).
        .set_validity_period(None)
        .generate()
        .unwrap();
    let root_secret = env.path("root-secret.asc");
    root.as_tsk()
        .armored()
        .serialize(&mut std::fs::File::create(&root_secret).unwrap())
        .unwrap();
    let root_public = env.path("root.asc");
    root.armored()
        .serialize(&mut std::fs::File::create(&root_public).unwrap())
        .unwrap();
    env.roster_add_root("Root", "root@example.org", &root_public, &age_r);
    let w = World {
        env,
        age_id,
        root_secret,
        commands: std::cell::Cell::new(0),
    };

    let vault = open_vault(&w.env.vault);
    let schedule = Schedule::from_config(&vault.config().unwrap()).unwrap();
    let first = schedule.resolve("next", start).unwrap().clone();

    // cycle id -> (fingerprint of its current key, its export: an index
    // into `exported`; the export merged with the vault's public cert is
    // checked daily).
    let mut active: HashMap<String, (String, usize)> = HashMap::new();
    let mut exported: Vec<(String, Cert, Time)> = Vec::new(); // (fpr, subkey cert, expiry)
                                                              // The vault's keys and each export merged with its public cert, as of
                                                              // `loaded` commands (the same values the daily checks would read and
                                                              // merge anew each day).
    let mut loaded = u64::MAX;
    let mut keys = Vec::new();
    let mut merged: Vec<Option<Cert>> = Vec::new();
    let mut made: HashMap<String, String> = HashMap::new(); // cycle -> fpr
    let mut gap: Option<(Time, Time)> = None;
    let mut gaps = Vec::new();
    let mut compromised: Option<String> = None;
    let mut artifacts: Vec<(PathBuf, String)> = Vec::new(); // (file, key fpr)
    let mut cycle_no = 0;
    let mut codes = [0usize; 3];
    let art_dir = w.env.path("artifacts");
    std::fs::create_dir_all(&art_dir).unwrap();

    for d in 0..DAYS {
        let day = start + Duration::days(d);
        let cur = schedule.resolve("current", day).unwrap().clone();
        let next = schedule.successor(&cur).unwrap().clone();

        // Ceremonies: the next cycle's key a week into its window (the
        // first one at once).
        for c in [&cur, &next] {
            if made.contains_key(&c.id) || c.release < first.release {
                continue;
            }
            let plan = schedule.plan(c).unwrap();
            let due = if c.id == first.id {
                start
            } else {
                clock::start_of_day(plan.create_from + Duration::days(7)) + Duration::hours(12)
            };
            if day >= due {
                let prev = schedule
                    .predecessor(c)
                    .and_then(|p| made.get(&p.id))
                    .cloned();
                let fpr = w.ceremony(day, &c.id, prev.as_deref(), false);
                made.insert(c.id.clone(), fpr);
            }
        }
        // Hand-off: the current cycle's key goes to CI when the cycle starts.
        if let Some(fpr) = made.get(&cur.id) {
            if active.get(&cur.id).map(|a| &a.0) != Some(fpr) && gap.is_none() {
                let sub = w.export(day, fpr);
                let exp = expiry(&sub, day);
                exported.push((fpr.clone(), sub, exp));
                active.insert(cur.id.clone(), (fpr.clone(), exported.len() - 1));
                cycle_no += 1;
            }
        }
        let since_start = (day.date_naive() - cur.start).num_days();
        if let Some((fpr, _)) = active.get(&cur.id).cloned() {
            match (cycle_no, since_start) {
                // Cycle 3 runs long: extend its key by 30 days.
                (3, 30) => {
                    let exp = exported.iter().rev().find(|e| e.0 == fpr).unwrap().2;
                    w.at(
                        day,
                        &[
                            "extend",
                            &fpr,
                            "--until",
                            &clock::iso(exp + Duration::days(30)),
                            "--identity",
                            &w.id(),
                        ],
                    );
                    let sub = w.export(day, &fpr);
                    // Every copy of the key now lives 30 days longer.
                    for e in exported.iter_mut().filter(|e| e.0 == fpr) {
                        e.2 = exp + Duration::days(30);
                    }
                    exported.push((fpr.clone(), sub, exp + Duration::days(30)));
                    active.insert(cur.id.clone(), (fpr.clone(), exported.len() - 1));
                }
                // Cycle 6: a CI node may have been exposed.
                (6, 40) => {
                    w.at(
                        day,
                        &rotate_subkey_args(&fpr, "superseded", "rotation drill", &w.id()),
                    );
                    let sub = w.export(day, &fpr);
                    let exp = exported.iter().rev().find(|e| e.0 == fpr).unwrap().2;
                    exported.push((fpr.clone(), sub, exp));
                    active.insert(cur.id.clone(), (fpr.clone(), exported.len() - 1));
                }
                // Cycle 9 superseded, cycle 12 compromised: a two-day gap
                // until the replacement key closes it.
                (9, 50) | (12, 50) => {
                    let reason = if cycle_no == 9 {
                        "superseded"
                    } else {
                        "compromised"
                    };
                    if reason == "compromised" {
                        compromised = Some(fpr.clone());
                    }
                    w.at(
                        day,
                        &[
                            "revoke",
                            &fpr,
                            "--yes",
                            "--reason",
                            reason,
                            "--message",
                            "drill",
                            "--identity",
                            &w.id(),
                        ],
                    );
                    gap = Some((day, day + Duration::days(2)));
                    gaps.push(reason);
                }
                _ => {}
            }
        }
        if let Some((from, to)) = gap {
            if day >= to {
                let prev = schedule
                    .predecessor(&cur)
                    .and_then(|p| made.get(&p.id))
                    .cloned();
                let fpr = w.ceremony(day, &cur.id, prev.as_deref(), true);
                made.insert(cur.id.clone(), fpr.clone());
                let sub = w.export(day, &fpr);
                let exp = expiry(&sub, day);
                exported.push((fpr.clone(), sub, exp));
                active.insert(cur.id.clone(), (fpr, exported.len() - 1));
                gap = None;
            } else {
                assert!(day >= from);
            }
        }

        // Daily: the current cycle's key can sign, unless in a gap.
        if loaded != w.commands.get() {
            loaded = w.commands.get();
            keys = vault.keys().unwrap();
            merged.clear();
        }
        merged.resize(exported.len(), None);
        let mut merged_export = |i: usize| -> Cert {
            merged[i]
                .get_or_insert_with(|| {
                    let (fpr, sub, _) = &exported[i];
                    keys.iter()
                        .find(|k| k.state.fingerprint == *fpr)
                        .unwrap()
                        .cert
                        .clone()
                        .merge_public_and_secret(sub.clone())
                        .unwrap()
                })
                .clone()
        };
        let in_gap = gap.is_some();
        if day >= clock::start_of_day(first.start) {
            let (fpr, i) = active
                .get(&cur.id)
                .unwrap_or_else(|| panic!("{}: no active key for {}", clock::iso(day), cur.id));
            let merged = merged_export(*i);
            let can = keycycle::sign::signing_key(&merged, day, None);
            assert_eq!(
                can.is_ok(),
                !in_gap,
                "{}: {} can sign: {:?}",
                clock::iso(day),
                cur.id,
                can.err()
            );
            // A weekly artifact.
            if d % 7 == 0 && !in_gap {
                let mut key = can.unwrap();
                let data = format!("artifact of {} on day {d}", cur.id);
                let f = art_dir.join(format!("a{d}.tar.gz"));
                std::fs::write(&f, &data).unwrap();
                let sig =
                    keycycle::sign::sign_reader(&mut key, data.as_bytes(), day, &|_| {}).unwrap();
                std::fs::write(art_dir.join(format!("a{d}.tar.gz.asc")), sig).unwrap();
                artifacts.push((f, fpr.clone()));
            }
        }
        // No key signs past its expiry.
        for (i, (fpr, _, exp)) in exported.iter().enumerate() {
            if day >= *exp {
                let merged = merged_export(i);
                assert!(
                    keycycle::sign::signing_key(&merged, day, None).is_err(),
                    "{}: {fpr} signs past {}",
                    clock::iso(day),
                    clock::iso(*exp)
                );
            }
        }
        // status --check: 2 in a gap, 1 while the next key is due, else 0.
        let plan = schedule.plan(&next).unwrap();
        let want = if in_gap {
            2
        } else if day.date_naive() >= plan.create_from && !made.contains_key(&next.id) {
            1
        } else {
            0
        };
        if day >= clock::start_of_day(first.start) {
            let report = keycycle::status::report(&vault, &schedule, None, day).unwrap();
            let got = report.level.exit_code() as usize;
            assert_eq!(
                got,
                want,
                "{}: status --check {:?}",
                clock::iso(day),
                report.findings
            );
            codes[got] += 1;
        }
    }
    // The binary agrees with the library on a few days.
    for (t, code) in [
        (start + Duration::days(400), None),
        (start + Duration::days(3000), None),
    ] {
        let out = w.env.run_at(&clock::iso(t), &["status", "--check"]);
        let lib = keycycle::status::report(&vault, &schedule, None, t)
            .unwrap()
            .level
            .exit_code() as i32;
        assert_eq!(out.status.code(), Some(code.unwrap_or(lib)));
    }

    // Every artifact, verified in one call at the end: only the compromised
    // key's signatures fail (all of them); the superseded key's, made before
    // its revocation, stay good.
    let end = start + Duration::days(DAYS);
    let mut c = w.env.cmd_at(&clock::iso(end));
    c.args(["--json", "verify"])
        .args(artifacts.iter().map(|a| &a.0));
    let out = c.output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let compromised = compromised.expect("one key was compromised");
    let mut bad = 0;
    for (v, (_, fpr)) in report["files"].as_array().unwrap().iter().zip(&artifacts) {
        let expect_good = *fpr != compromised;
        assert_eq!(v["good"].as_bool().unwrap(), expect_good, "{v}");
        if !expect_good {
            bad += 1;
        }
    }
    assert!(bad > 0);
    assert_eq!(gaps, ["superseded", "compromised"]);
    assert!(made.len() >= 20, "{} cycles", made.len());
    eprintln!(
        "ten years: {} cycles, {} artifacts ({} void by the compromise), status codes ok/warning/critical = {:?}, run time {:.1} s",
        made.len(),
        artifacts.len(),
        bad,
        codes,
        started.elapsed().as_secs_f64()
    );
}
