//! The fuzz targets' short form (docs/fuzzing.md): every file of every
//! committed corpus (`fuzz/corpus/<target>/`) and every past crash
//! (`fuzz/regressions/<target>/`) goes through the same entry function the
//! cargo-fuzz target calls, then a fixed-seed batch of cheap mutations
//! (bit flips, byte changes, truncations, deletions, duplications,
//! splices). No panic may escape. Runs on stable, without cargo-fuzz.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The entry functions, compiled from the fuzz crate's own source so the
/// targets and this smoke run call the same code.
#[path = "../../fuzz/src/lib.rs"]
mod fuzzing;

/// Mutated inputs per target. A debug build runs all targets in a few
/// seconds; the suite runs twice on CI.
const MUTATIONS: usize = 1000;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

fn mutate(rng: &mut XorShift, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = b.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                b[i] = [0x00, 0xff, 0x7f, 0x80, b'\n', b'=', b'"', b'-'][rng.below(8)];
            }
            2 => b.truncate(rng.below(len + 1)),
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                b.drain(start..end);
            }
            4 => {
                let i = rng.below(len + 1);
                b.insert(i, rng.next() as u8);
            }
            5 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(256)).min(len);
                let chunk = b[start..end].to_vec();
                let at = rng.below(len + 1);
                b.splice(at..at, chunk);
            }
            6 if !other.is_empty() => {
                let cut = rng.below(len + 1);
                let from = rng.below(other.len());
                b.truncate(cut);
                b.extend_from_slice(&other[from..]);
            }
            _ => {
                // A digit changed: lengths, dates, numbers.
                if let Some(i) = b
                    .iter()
                    .position(|c| c.is_ascii_digit())
                    .map(|first| first + rng.below(len - first))
                {
                    if b[i].is_ascii_digit() {
                        b[i] = b'0' + rng.below(10) as u8;
                    }
                }
            }
        }
    }
    b
}

fn run_one(target: &str, f: fn(&[u8]), what: &str, input: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| f(input))).is_err() {
        let keep = std::env::temp_dir().join(format!("keycycle-fuzz-smoke-{target}.bin"));
        let _ = std::fs::write(&keep, input);
        panic!(
            "fuzz target {target} panicked on {what}; the input is in {} \
             (reproduce: cargo +nightly fuzz run {target} {0})",
            keep.display()
        );
    }
}

fn smoke(target: &str) {
    let f = fuzzing::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .expect("a known target");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for dir in ["corpus", "regressions"] {
        for p in files(&root.join(dir).join(target)) {
            inputs.push((p.display().to_string(), std::fs::read(&p).expect("read")));
        }
    }
    assert!(
        inputs.len() >= 3,
        "fuzz/corpus/{target} holds too few files: {}",
        inputs.len()
    );
    let started = Instant::now();
    for (name, bytes) in &inputs {
        run_one(target, f, name, bytes);
    }
    // Edge cases every target must survive.
    for edge in [&b""[..], b"\0", b"\n", b"-----BEGIN PGP", &[0xff; 64]] {
        run_one(target, f, "an edge case", edge);
    }
    let seed = target.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, c| {
        (h ^ c as u64).wrapping_mul(0x100_0000_01b3)
    });
    let mut rng = XorShift(seed | 1);
    for n in 0..MUTATIONS {
        let (name, base) = &inputs[rng.below(inputs.len())];
        let other = &inputs[rng.below(inputs.len())].1;
        let m = mutate(&mut rng, base, other);
        run_one(target, f, &format!("mutation {n} of {name}"), &m);
    }
    eprintln!(
        "{target}: {} corpus files + {MUTATIONS} mutations in {:.1?}",
        inputs.len(),
        started.elapsed()
    );
}

#[test]
fn cert_import() {
    smoke("cert_import");
}

#[test]
fn attest_import() {
    smoke("attest_import");
}

#[test]
fn verify_signature() {
    smoke("verify_signature");
}

#[test]
fn config() {
    smoke("config");
}

#[test]
fn roster() {
    smoke("roster");
}

#[test]
fn schedule() {
    smoke("schedule");
}

#[test]
fn escrow() {
    smoke("escrow");
}

#[test]
fn audit_log() {
    smoke("audit_log");
}

#[test]
fn every_target_has_a_fuzz_target_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, _) in fuzzing::TARGETS {
        let src = root.join("fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&src).unwrap_or_default();
        assert!(
            text.contains(&format!("keycycle_fuzz::fuzz_{name}(")),
            "{} must call keycycle_fuzz::fuzz_{name}",
            src.display()
        );
    }
}
