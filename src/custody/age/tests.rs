//! Unit tests of the age layer.

use super::*;
use age::secrecy::ExposeSecret;

#[test]
fn round_trip_and_header_check() {
    let id = age::x25519::Identity::generate();
    let r = Recipient::parse(&id.to_public().to_string()).unwrap();
    let ssh = Recipient::parse("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN alice@example").unwrap();
    let sealed = seal(&[r.clone(), ssh.clone()], b"secret").unwrap();
    assert!(sealed.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
    check_recipients(&sealed, &[ssh.clone(), r.clone()]).unwrap();
    assert!(check_recipients(&sealed, std::slice::from_ref(&r)).is_err());
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), id.to_string().expose_secret()).unwrap();
    let mut ids = Identities::default();
    ids.load(tmp.path()).unwrap();
    assert_eq!(&ids.open(&sealed).unwrap()[..], b"secret");
}

#[test]
fn malformed_recipients_are_refused() {
    for bad in [
        "age1nope",
        "ssh-ed25519 AAAA",
        "ssh-dss AAAAB3",
        "hello",
        "",
    ] {
        let e = Recipient::parse(bad).unwrap_err();
        assert!(
            e.to_string().contains("malformed escrow recipient"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn recipient_errors_never_show_the_value() {
    let id = age::x25519::Identity::generate();
    let secret = id.to_string().expose_secret().to_string();
    for bad in [
        secret.clone(),
        secret.to_lowercase(),
        format!("age1{}", &secret[16..]),
        format!("ssh-ed25519 {}", &secret[16..]),
        format!("x{}", &secret[16..]),
    ] {
        let e = Recipient::parse_stored(&bad).unwrap_err().to_string();
        assert!(e.contains("malformed escrow recipient"), "{e}");
        assert!(!e.contains(&secret[16..24]), "{e}");
        assert!(!e.to_uppercase().contains(&secret[16..24]), "{e}");
    }
    let tmp = identity_file(&id);
    let at = format!("@{}", tmp.path().display());
    let e = Recipient::parse_stored(&at).unwrap_err().to_string();
    assert!(
        e.contains("names a file") && !e.contains("AGE-SECRET"),
        "{e}"
    );
    let e = Recipient::parse(&at).unwrap_err().to_string();
    assert!(
        e.contains("age identity") && !e.contains("AGE-SECRET"),
        "{e}"
    );
    let ok = id.to_public().to_string();
    assert_eq!(Recipient::parse_stored(&ok).unwrap().to_string(), ok);
}

fn identity_file(id: &age::x25519::Identity) -> tempfile::NamedTempFile {
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), id.to_string().expose_secret()).unwrap();
    tmp
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    /// Whatever is sealed to several roots opens with each root's
    /// identity alone, byte for byte; a stranger's identity opens
    /// nothing.
    #[test]
    fn sealed_escrow_opens_for_every_recipient(
        plain in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
        roots in 1usize..4,
    ) {
        let ids: Vec<_> = (0..roots).map(|_| age::x25519::Identity::generate()).collect();
        let recipients: Vec<Recipient> = ids
            .iter()
            .map(|i| Recipient::parse(&i.to_public().to_string()).unwrap())
            .collect();
        let sealed = seal(&recipients, &plain).unwrap();
        check_recipients(&sealed, &recipients).unwrap();
        for id in &ids {
            let file = identity_file(id);
            let opened = Identities::from_paths(&[file.path()]).unwrap().open(&sealed).unwrap();
            proptest::prop_assert_eq!(&opened[..], &plain[..]);
        }
        let stranger = identity_file(&age::x25519::Identity::generate());
        let other = Identities::from_paths(&[stranger.path()]).unwrap();
        proptest::prop_assert!(other.try_open(&sealed).unwrap().is_none());
    }
}

/// What a person gives `--identity` by mistake is named for what it is:
/// the public half (an SSH `.pub` line, an `age1…` recipient), an OpenPGP
/// key or keyring (binary or armored) — never "check the disk".
#[test]
fn mistaken_identity_files_are_named_for_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 5] = [
        ("id.pub", b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN alice@example\n", "public half"),
        ("ada.age.pub", b"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n", "public half"),
        ("pubring.gpg", &[0x99, 0x00, 0x33, 0x04, 0xff, 0xfe, 0x80, 0x81], "not an age identity"),
        ("key.asc", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n-----END PGP PUBLIC KEY BLOCK-----\n", "not an age identity"),
        ("secret.asc", b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx\n-----END PGP PRIVATE KEY BLOCK-----\n", "not an age identity"),
    ];
    for (name, bytes, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let e = Identities::default().load(&p).expect_err(name);
        let (Error::Input { msg, hint } | Error::Vault { msg, hint }) = &e else {
            panic!("{name}: {e:?}");
        };
        let all = format!("{msg} {}", hint.as_deref().unwrap_or(""));
        assert!(all.contains(want), "{name}: {all}");
        assert!(!all.contains("disk"), "{name}: {all}");
    }
}
