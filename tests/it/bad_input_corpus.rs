//! The bad-input corpus: every case must end in one `error:` line and one
//! `hint:` line, a non-zero exit, no panic, and a vault byte-for-byte
//! unchanged. `verify` reports per file instead (one line per failing file,
//! exit 1); its cases are checked for that shape.

use crate::common::*;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use openpgp::cert::prelude::*;
use openpgp::packet::prelude::*;
use openpgp::serialize::{Serialize, SerializeInto};
use openpgp::types::{HashAlgorithm, SignatureType};
use sequoia_openpgp as openpgp;

const T: &str = "2026-08-01T12:00:00Z";

fn t(s: &str) -> std::time::SystemTime {
    let d = chrono::DateTime::parse_from_rfc3339(s).unwrap();
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(d.timestamp() as u64)
}

fn armored(c: &Cert) -> Vec<u8> {
    c.armored().to_vec().unwrap()
}

fn tsk(c: &Cert) -> Vec<u8> {
    c.as_tsk().armored().to_vec().unwrap()
}

struct Corpus {
    env: Env,
    key_fpr: String,
    age_id: PathBuf,
    count: usize,
}

impl Corpus {
    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.env.path(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    }

    /// One error line, one hint line, non-zero, no panic, vault unchanged.
    fn refused(&mut self, args: &[&OsStr], want: &str) {
        self.count += 1;
        let before = snapshot(&self.env.vault);
        let out = self.env.cmd().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_ne!(out.status.code(), Some(101), "{args:?} panicked: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert!(
            lines.len() == 2 && lines[0].starts_with("error: ") && lines[1].starts_with("hint: "),
            "{args:?}: want one error line and one hint line, got:\n{err}"
        );
        assert!(
            err.to_lowercase().contains(&want.to_lowercase()),
            "{args:?}: expected {want:?} in:\n{err}"
        );
        assert!(
            before == snapshot(&self.env.vault),
            "{args:?} changed the vault"
        );
    }

    fn no(&mut self, args: &[&str], want: &str) {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        self.refused(&args, want);
    }

    /// `verify`: exit 1, one report line naming the file, the reason.
    fn unverified(&mut self, cert: &str, file: &str, want: &str) {
        self.count += 1;
        let before = snapshot(&self.env.vault);
        let out = self
            .env
            .cmd()
            .args(["verify", "--cert", cert, file])
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "verify {file}: {all}");
        assert!(!all.contains("panicked"), "{all}");
        assert!(
            all.to_lowercase().contains(&want.to_lowercase()),
            "verify {file}: expected {want:?} in:\n{all}"
        );
        assert!(before == snapshot(&self.env.vault));
    }
}

fn root_cert(uid: &str, created: &str) -> CertBuilder<'static> {
    CertBuilder::general_purpose(Some(uid.to_string())).set_creation_time(t(created))
}

fn signature(key: &Cert, data: &[u8], hash: HashAlgorithm) -> Vec<u8> {
    let mut signer = key
        .keys()
        .unencrypted_secret()
        .with_policy(
            &openpgp::policy::StandardPolicy::new(),
            t("2026-07-01T00:00:00Z"),
        )
        .for_signing()
        .next()
        .unwrap()
        .key()
        .clone()
        .into_keypair()
        .unwrap();
    let sig = SignatureBuilder::new(SignatureType::Binary)
        .set_signature_creation_time(t("2026-07-01T00:00:00Z"))
        .unwrap()
        .set_hash_algo(hash)
        .sign_message(&mut signer, data)
        .unwrap();
    let mut out = Vec::new();
    let mut w = openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::Signature).unwrap();
    Packet::from(sig).serialize(&mut w).unwrap();
    w.finalize().unwrap();
    out
}

#[test]
fn sixty_plus_bad_inputs_are_refused_cleanly() {
    let env = Env::new(T);
    let (age_id, r) = env.vault_with_ada();
    let j = env.generate("next");
    let key_fpr = j["fingerprint"].as_str().unwrap().to_string();
    let mut c = Corpus {
        env,
        key_fpr,
        age_id,
        count: 0,
    };

    let (good, rev) = root_cert("Root <root@example.org>", "2026-01-01T00:00:00Z")
        .generate()
        .unwrap();
    let good_pub = c.file("good.asc", &armored(&good));
    let good_sec = c.file("good-secret.asc", &tsk(&good));
    let id = c.age_id.display().to_string();
    let fpr = c.key_fpr.clone();

    // --- Certificates: malformed, truncated, oversized, wrong kind.
    let malformed = c.file(
        "malformed.asc",
        b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nThis is not base64 at all!!!\n-----END PGP PUBLIC KEY BLOCK-----\n",
    );
    let text = armored(&good);
    let truncated = c.file("truncated.asc", &text[..text.len() / 2]);
    let mut big = b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n".to_vec();
    big.resize(20 << 20, b'A');
    let oversized = c.file("oversized.asc", &big);
    let empty = c.file("empty.asc", b"");
    let garbage = c.file("garbage.bin", &[0xffu8; 4096]);
    let reg = |name: &str| -> Vec<String> {
        vec![
            "roster".into(),
            "add".into(),
            "--name".into(),
            name.into(),
            "--email".into(),
            "x@example.org".into(),
            "--escrow-recipient".into(),
            r.clone(),
            "--cert".into(),
        ]
    };
    for (file, want) in [
        (&malformed, "not an OpenPGP certificate"),
        (&truncated, "not an OpenPGP certificate"),
        (&oversized, "too large"),
        (&empty, "empty"),
        (&garbage, "certificate"),
    ] {
        c.no(&["inspect", file], want);
        let mut a = reg("Eve");
        a.push(file.clone());
        c.no(&a.iter().map(String::as_str).collect::<Vec<_>>(), want);
        c.no(&["attestations", "import", file], want);
    }
    // A secret key where a certificate is expected, and the reverse.
    let mut a = reg("Eve");
    a.push(good_sec.clone());
    c.no(
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
        "secret key",
    );
    c.no(&["attestations", "import", &good_sec], "secret key");
    c.no(
        &[
            "certify",
            &fpr,
            "--with-key",
            &good_pub,
            "--fingerprint",
            &fpr,
            "-o",
            "out.asc",
        ],
        "secret",
    );
    c.no(&["sign", "--key", &good_pub, &good_pub], "secret");
    // No self-signature.
    let primary = good.primary_key().key().clone();
    let mut bare = Vec::new();
    Packet::from(primary).serialize(&mut bare).unwrap();
    Packet::from(UserID::from("Bare <bare@example.org>"))
        .serialize(&mut bare)
        .unwrap();
    let bare = c.file("bare.pgp", &bare);
    let mut a = reg("Eve");
    a.push(bare.clone());
    c.no(
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
        "self-signature",
    );
    // Expired and revoked root certificates.
    let (expired, _) = root_cert("Old <old@example.org>", "2025-01-01T00:00:00Z")
        .set_validity_period(std::time::Duration::from_secs(86400 * 30))
        .generate()
        .unwrap();
    let expired = c.file("expired.asc", &armored(&expired));
    let mut a = reg("Old");
    a.push(expired);
    c.no(&a.iter().map(String::as_str).collect::<Vec<_>>(), "expired");
    let revoked = good.clone().insert_packets(rev).unwrap().0;
    let revoked = c.file("revoked.asc", &armored(&revoked));
    let mut a = reg("Rev");
    a.push(revoked);
    c.no(&a.iter().map(String::as_str).collect::<Vec<_>>(), "revoked");
    // A v6 key.
    let (v6, _) = root_cert("Six <six@example.org>", "2026-01-01T00:00:00Z")
        .set_profile(openpgp::Profile::RFC9580)
        .unwrap()
        .generate()
        .unwrap();
    let v6 = c.file("v6.asc", &armored(&v6));
    c.no(&["inspect", &v6], "v4 keys only");
    let mut a = reg("Six");
    a.push(v6.clone());
    c.no(
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
        "v4 keys only",
    );
    c.no(&["attestations", "import", &v6], "v4 keys only");
    // An unknown public-key algorithm (99).
    let mut unknown = vec![0xc6, 15, 4, 0x69, 0x55, 0x00, 0x00, 99];
    unknown.extend_from_slice(&[0, 8, 0xff, 0, 8, 0xee, 0, 8, 0xdd]);
    unknown.extend_from_slice(&[0xcd, 4, b'U', b'n', b'k', b'n']);
    let unknown = c.file("unknown-algo.pgp", &unknown);
    let mut a = reg("Unk");
    a.push(unknown.clone());
    c.no(&a.iter().map(String::as_str).collect::<Vec<_>>(), "");

    // --- Signatures (verify reports per file).
    let data = c.file("release.tar.gz", b"release bytes\n");
    let sig_for = |c: &Corpus, name: &str, bytes: &[u8]| c.file(name, bytes);
    sig_for(
        &c,
        "release.tar.gz.asc",
        &signature(&good, b"release bytes\n", HashAlgorithm::SHA1),
    );
    c.unverified(&good_pub, &data, "SHA1");
    let md5 = c.file("md5.tar.gz", b"md5 bytes\n");
    sig_for(
        &c,
        "md5.tar.gz.asc",
        &signature(&good, b"md5 bytes\n", HashAlgorithm::MD5),
    );
    c.unverified(&good_pub, &md5, "MD5");
    let absurd = c.file("absurd.tar.gz", b"x");
    sig_for(
        &c,
        "absurd.tar.gz.asc",
        &[0xc2, 0xff, 0xff, 0xff, 0xff, 0xff, 4, 0, 1, 8],
    );
    c.unverified(&good_pub, &absurd, "");
    let empty_sig = c.file("emptysig.tar.gz", b"x");
    sig_for(&c, "emptysig.tar.gz.asc", b"");
    c.unverified(&good_pub, &empty_sig, "");
    let nosig = c.file("nosig.tar.gz", b"x");
    c.unverified(&good_pub, &nosig, "");
    let tampered = c.file("tampered.tar.gz", b"release bytes, changed\n");
    sig_for(
        &c,
        "tampered.tar.gz.asc",
        &signature(&good, b"release bytes\n", HashAlgorithm::SHA512),
    );
    c.unverified(&good_pub, &tampered, "");
    c.no(&["verify", "--cert", &empty, &data], "empty");
    c.no(&["verify", "--cert", &malformed, &data], "certificate");

    // --- Escrow: wrong identity, empty identity, directory, missing.
    let (other, _) = c.env.age_identity("mallory");
    let other = other.display().to_string();
    c.no(
        &["escrow", "verify", "--identity", &other],
        "none of the given identities",
    );
    c.no(
        &[
            "export",
            "signing-subkey",
            &fpr,
            "--identity",
            &other,
            "-o",
            "sub.asc",
        ],
        "none of the given identities",
    );
    c.no(
        &[
            "extend",
            &fpr,
            "--until",
            "2027-09-01",
            "--identity",
            &other,
        ],
        "none of the given identities",
    );
    c.no(&["escrow", "verify", "--identity", &empty], "");
    let dir = c.env.path("a-directory");
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.display().to_string();
    c.no(&["escrow", "verify", "--identity", &dir], "directory");
    c.no(&["inspect", &dir], "");
    c.no(&["sign", "--key", &dir, &data], "directory");
    let mut a = reg("Dir");
    a.push(dir.clone());
    c.no(
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
        "directory",
    );
    c.no(
        &[
            "roster",
            "add",
            "--name",
            "D",
            "--email",
            "d@example.org",
            "--escrow-recipient",
            &format!("@{dir}"),
        ],
        "",
    );
    // Unreadable: as root every file is readable, so a dangling symlink and
    // a path through a regular file stand in.
    let dangling = c.env.path("dangling.asc");
    std::os::unix::fs::symlink("/nonexistent/target.asc", &dangling).unwrap();
    let dangling = dangling.display().to_string();
    c.no(&["inspect", &dangling], "No such file");
    c.no(
        &["inspect", &format!("{good_pub}/child.asc")],
        "Not a directory",
    );
    c.no(&["escrow", "verify", "--identity", &dangling], "");
    // Paths with spaces and non-UTF-8 bytes.
    let spaced = c.file("my keys.asc", b"not a key");
    c.no(&["inspect", &spaced], "my keys.asc");
    let mut raw = c.env.dir.path().as_os_str().as_bytes().to_vec();
    raw.extend_from_slice(b"/bad-\xff\xfe.asc");
    let raw = PathBuf::from(OsString::from(std::ffi::OsStr::from_bytes(&raw)));
    std::fs::write(&raw, b"garbage").unwrap();
    c.refused(&[OsStr::new("inspect"), raw.as_os_str()], "bad-");
    c.refused(
        &[
            OsStr::new("sign"),
            OsStr::new("--key"),
            raw.as_os_str(),
            OsStr::new(&data),
        ],
        "bad-",
    );

    // --- Flags: conflicting, missing in batch, bad values.
    c.no(
        &["extend", &fpr, "--cycle", "2027.2", "--until", "2027-09-01"],
        "cannot be used with",
    );
    c.no(&["extend", &fpr, "--identity", &id], "--until");
    c.no(&["revoke", &fpr, "--identity", &id], "--reason");
    c.no(&["generate"], "--cycle");
    c.no(&["bogus-command"], "unrecognized subcommand");
    c.no(&["status", "--bogus-flag"], "unexpected argument");
    c.no(
        &["generate", "--cycle", "next", "--cipher-suite", "rsa1024"],
        "rsa1024",
    );
    c.no(
        &[
            "sign", "--output", "x.asc", &data, &good_pub, "--key", &good_sec,
        ],
        "",
    );
    // Bad dates.
    for bad in [
        "2026-13-01",
        "yesterday",
        "2026-02-30",
        "",
        "99999-01-01T00:00:00Z",
    ] {
        c.no(&["--time", bad, "status"], "time");
    }
    c.no(
        &["extend", &fpr, "--until", "not-a-date", "--identity", &id],
        "not-a-date",
    );
    c.no(
        &["extend", &fpr, "--until", "2020-01-01", "--identity", &id],
        "not later",
    );
    // Unknown cycles and keys.
    c.no(&["generate", "--cycle", "1999.1"], "1999.1");
    c.no(&["generate", "--cycle", "zed"], "zed");
    c.no(&["status", "0xDEADBEEFDEADBEEF"], "DEADBEEF");
    c.no(&["export", "public", "Nonesuch"], "Nonesuch");
    // Duplicates on the roster; removing nobody.
    c.no(
        &[
            "roster",
            "add",
            "--name",
            "Ada",
            "--email",
            "ada2@example.org",
            "--escrow-recipient",
            &r,
        ],
        "Ada",
    );
    c.no(&["roster", "remove", "Nobody"], "Nobody");
    // Generating twice without --force.
    c.no(&["generate", "--cycle", "next"], "already holds a key");

    // --- Config type errors and a newer vault: each in a copy.
    let config = c.env.vault.join("keycycle.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    for (bad, want) in [
        (
            original.replace("overlap_days = 60", "overlap_days = \"sixty\""),
            "keycycle.toml:",
        ),
        (
            original.replace("threshold = 1", "threshold = -1"),
            "keycycle.toml:",
        ),
        (
            original.replace("cipher_suite = \"ed25519\"", "cipher_suite = \"rot13\""),
            "keycycle.toml:",
        ),
        (
            original.replace("organisation = ", "organisation = [1, 2]\nx = "),
            "keycycle.toml:",
        ),
        (
            format!("{original}\n[unknown_table]\nx = 1\n"),
            "keycycle.toml:",
        ),
        (original.replace("[expiry]", "[expiry"), "keycycle.toml:"),
        (
            original.replace("format = 1", "format = 7"),
            "newer keycycle",
        ),
    ] {
        assert_ne!(bad, original, "{want}: the replacement did not apply");
        std::fs::write(&config, &bad).unwrap();
        c.no(&["status"], want);
        c.no(&["generate", "--cycle", "2027.2"], want);
        std::fs::write(&config, &original).unwrap();
    }

    let n = c.count;
    eprintln!("bad-input corpus: {n} cases, 0 panics, 0 vault changes");
    assert!(n >= 60, "only {n} cases");
}
