//! `age-plugin-kctest`: keycycle's test age plugin, a software stand-in for
//! a hardware token (tests only — its "token" is the identity line itself).
//!
//! Recipients are `age1kctest1…` (an X25519 public key), identities
//! `AGE-PLUGIN-KCTEST-1…` (the X25519 secret). Wrapping is age's own
//! X25519 recipient under the stanza tag `kctest`. Unwrapping behaves like a
//! token: it shows a message ("insert the token"), asks for the PIN through
//! the client's request-secret callback, and refuses a wrong PIN with an
//! identity error — so every callback path of a real plugin runs.
//!
//!   age-plugin-kctest --generate      print a new identity (and its recipient)
//!   age-plugin-kctest --age-plugin=recipient-v1 | identity-v1   (run by age)
//!
//! The PIN is 123456 unless `KCTEST_PIN` overrides it in the plugin's
//! environment.

use std::collections::{HashMap, HashSet};
use std::io;
use std::str::FromStr;

use age_core::format::{FileKey, Stanza};
use age_core::secrecy::ExposeSecret;
use age_plugin::{
    identity::{self, IdentityPluginV1},
    print_new_identity,
    recipient::{self, RecipientPluginV1},
    run_state_machine, Callbacks, PluginHandler,
};
use bech32::{FromBase32, ToBase32, Variant};

const PLUGIN_NAME: &str = "kctest";
const TAG: &str = "kctest";
const DEFAULT_PIN: &str = "123456";

fn pin() -> String {
    std::env::var("KCTEST_PIN").unwrap_or_else(|_| DEFAULT_PIN.to_string())
}

fn x25519_recipient(bytes: &[u8]) -> Option<age::x25519::Recipient> {
    if bytes.len() != 32 {
        return None;
    }
    let s = bech32::encode("age", bytes.to_base32(), Variant::Bech32).ok()?;
    age::x25519::Recipient::from_str(&s).ok()
}

fn x25519_identity(bytes: &[u8]) -> Option<age::x25519::Identity> {
    if bytes.len() != 32 {
        return None;
    }
    let s = bech32::encode("age-secret-key-", bytes.to_base32(), Variant::Bech32).ok()?;
    age::x25519::Identity::from_str(&s.to_uppercase()).ok()
}

fn bech32_data(s: &str) -> Vec<u8> {
    let (_, data, _) = bech32::decode(s).expect("age writes valid bech32");
    Vec::<u8>::from_base32(&data).expect("age writes valid bech32")
}

struct Handler;

impl PluginHandler for Handler {
    type RecipientV1 = Wrap;
    type IdentityV1 = Unwrap;

    fn recipient_v1(self) -> io::Result<Wrap> {
        Ok(Wrap(Vec::new()))
    }

    fn identity_v1(self) -> io::Result<Unwrap> {
        Ok(Unwrap(Vec::new()))
    }
}

/// recipient-v1: the X25519 keys to wrap to.
struct Wrap(Vec<age::x25519::Recipient>);

impl RecipientPluginV1 for Wrap {
    fn add_recipient(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        match x25519_recipient(bytes) {
            Some(r) if plugin_name == PLUGIN_NAME => {
                self.0.push(r);
                Ok(())
            }
            _ => Err(recipient::Error::Recipient {
                index,
                message: "not a kctest recipient".into(),
            }),
        }
    }

    fn add_identity(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        match x25519_identity(bytes) {
            Some(i) if plugin_name == PLUGIN_NAME => {
                self.0.push(i.to_public());
                Ok(())
            }
            _ => Err(recipient::Error::Identity {
                index,
                message: "not a kctest identity".into(),
            }),
        }
    }

    fn labels(&mut self) -> HashSet<String> {
        HashSet::new()
    }

    fn wrap_file_keys(
        &mut self,
        file_keys: Vec<FileKey>,
        _callbacks: impl Callbacks<recipient::Error>,
    ) -> io::Result<Result<Vec<Vec<Stanza>>, Vec<recipient::Error>>> {
        let mut out = Vec::new();
        for file_key in &file_keys {
            let mut stanzas = Vec::new();
            for r in &self.0 {
                let (wrapped, _) = age::Recipient::wrap_file_key(r, file_key)
                    .map_err(|e| io::Error::other(e.to_string()))?;
                stanzas.extend(wrapped.into_iter().map(|s| Stanza {
                    tag: TAG.into(),
                    args: s.args,
                    body: s.body,
                }));
            }
            out.push(stanzas);
        }
        Ok(Ok(out))
    }
}

/// identity-v1: the X25519 secrets this "token" holds.
struct Unwrap(Vec<age::x25519::Identity>);

impl IdentityPluginV1 for Unwrap {
    fn add_identity(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), identity::Error> {
        match x25519_identity(bytes) {
            Some(i) if plugin_name == PLUGIN_NAME => {
                self.0.push(i);
                Ok(())
            }
            _ => Err(identity::Error::Identity {
                index,
                message: "not a kctest identity".into(),
            }),
        }
    }

    fn unwrap_file_keys(
        &mut self,
        files: Vec<Vec<Stanza>>,
        mut callbacks: impl Callbacks<identity::Error>,
    ) -> io::Result<HashMap<usize, Result<FileKey, Vec<identity::Error>>>> {
        let mut out = HashMap::new();
        let ours = files.iter().any(|f| f.iter().any(|s| s.tag == TAG));
        if !ours {
            return Ok(out);
        }
        // Like a token: say what to do, then ask for the PIN once.
        let _ = callbacks.message("kctest: insert the test token")?;
        let unlocked = match callbacks.request_secret("Enter the PIN of the kctest token")? {
            Ok(given) => given.expose_secret() == pin(),
            Err(_) => {
                for (i, f) in files.iter().enumerate() {
                    if f.iter().any(|s| s.tag == TAG) {
                        out.insert(
                            i,
                            Err(vec![identity::Error::Identity {
                                index: 0,
                                message: "no PIN was given for the kctest token".into(),
                            }]),
                        );
                    }
                }
                return Ok(out);
            }
        };
        for (file_index, stanzas) in files.into_iter().enumerate() {
            if !stanzas.iter().any(|s| s.tag == TAG) {
                continue;
            }
            if !unlocked {
                out.insert(
                    file_index,
                    Err(vec![identity::Error::Identity {
                        index: 0,
                        message: "wrong PIN for the kctest token".into(),
                    }]),
                );
                continue;
            }
            for s in stanzas.iter().filter(|s| s.tag == TAG) {
                let x = Stanza {
                    tag: "X25519".into(),
                    args: s.args.clone(),
                    body: s.body.clone(),
                };
                let found = self
                    .0
                    .iter()
                    .find_map(|i| age::Identity::unwrap_stanza(i, &x).and_then(Result::ok));
                if let Some(k) = found {
                    out.insert(file_index, Ok(k));
                    break;
                }
            }
        }
        Ok(out)
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut machine = None;
    let mut i = 0;
    while i < args.len() {
        if let Some(m) = args[i].strip_prefix("--age-plugin=") {
            machine = Some(m.to_string());
        } else if args[i] == "--age-plugin" {
            machine = args.get(i + 1).cloned();
            i += 1;
        } else if args[i] == "--generate" {
            let id = age::x25519::Identity::generate();
            let secret = bech32_data(id.to_string().expose_secret());
            let public = bech32_data(&id.to_public().to_string());
            print_new_identity(PLUGIN_NAME, &secret, &public);
            return Ok(());
        } else {
            eprintln!("usage: age-plugin-kctest --generate | --age-plugin=STATE-MACHINE");
            std::process::exit(2);
        }
        i += 1;
    }
    match machine {
        Some(m) => run_state_machine(&m, Handler),
        None => {
            eprintln!("usage: age-plugin-kctest --generate | --age-plugin=STATE-MACHINE");
            std::process::exit(2);
        }
    }
}
