//! What changed in a key since it was last published: its self-signatures
//! (a revocation, a new or revoked subkey, a new expiry) newer than the
//! last `publish` to each target the vault records in `state.toml`.
//!
//! Offline by design: the vault keeps no copy of what a keyserver holds,
//! but every change keycycle makes is a self-signature dated at the
//! command's `--time`, and every publish is recorded with its time. A
//! change made in the same second as the publish is not seen.

use serde::Serialize;

use openpgp::packet::Signature;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::vault::StoredKey;

/// Changes not yet on some publish targets.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Unpublished {
    /// The targets (keyservers, `wkd:DIR`) last published to before the
    /// newest change.
    pub targets: Vec<String>,
    /// The changes since the oldest of those publishes, oldest first.
    pub changes: Vec<String>,
}

impl Unpublished {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// A self-signature's creation time.
fn made(sig: &Signature) -> Option<Time> {
    sig.signature_creation_time().map(clock::from_system)
}

/// Every self-signature of `cert`, each with what it says.
fn self_signatures(cert: &Cert) -> Vec<(Time, String)> {
    let mut out = Vec::new();
    let mut push = |sig: &Signature, what: String| {
        if let Some(t) = made(sig) {
            out.push((t, what));
        }
    };
    let primary = cert.primary_key();
    for s in primary.self_revocations() {
        push(s, "a revocation of the key".into());
    }
    for s in primary.self_signatures() {
        push(s, "a new expiry of the key".into());
    }
    for u in cert.userids() {
        for s in u.self_signatures() {
            push(s, "a new expiry of the key".into());
        }
        for s in u.self_revocations() {
            push(s, "a revoked user ID".into());
        }
    }
    for k in cert.keys().subkeys() {
        let fpr = k.key().fingerprint().to_hex();
        let created = clock::from_system(k.key().creation_time());
        for s in k.self_signatures() {
            let new = made(s).is_some_and(|t| t <= created + chrono::Duration::seconds(1));
            push(
                s,
                if new {
                    format!("a new subkey {fpr}")
                } else {
                    format!("a new expiry of subkey {fpr}")
                },
            );
        }
        for s in k.self_revocations() {
            push(s, format!("a revocation of subkey {fpr}"));
        }
    }
    out
}

/// What `key` holds that its last publish to each recorded target did not.
/// A key never published has nothing "not yet" on a keyserver.
pub fn of(key: &StoredKey) -> Unpublished {
    let mut last: Vec<(String, Time)> = Vec::new();
    for p in &key.state.publish {
        match last.iter_mut().find(|(t, _)| *t == p.target) {
            Some((_, at)) => *at = (*at).max(p.time),
            None => last.push((p.target.clone(), p.time)),
        }
    }
    let sigs = self_signatures(&key.cert);
    let Some(newest) = sigs.iter().map(|(t, _)| *t).max() else {
        return Unpublished::default();
    };
    let stale: Vec<&(String, Time)> = last.iter().filter(|(_, at)| *at < newest).collect();
    let Some(since) = stale.iter().map(|(_, at)| *at).min() else {
        return Unpublished::default();
    };
    let mut changes: Vec<(Time, String)> = sigs.into_iter().filter(|(t, _)| *t > since).collect();
    changes.sort();
    let mut described: Vec<String> = Vec::new();
    for (_, what) in changes {
        if !described.contains(&what) {
            described.push(what);
        }
    }
    Unpublished {
        targets: stale.iter().map(|(t, _)| t.clone()).collect(),
        changes: described,
    }
}
