//! What an opened escrowed revocation must be before it is used: both
//! `revocation.age` (hard) and `revocation-retired.age` (the soft ladder)
//! are sealed to the same roots, so a committer can swap them without
//! opening either. `custody::fresh_key::generate` makes exactly one hard revocation,
//! reason *compromised*, dated at the key's creation, and a ladder of soft
//! ones, reason *retired*, each dated after the key's creation; anything
//! else in either file is refused, naming the file and what it holds
//! (kind, reason and date; never its text).

use openpgp::packet::Signature;
use openpgp::types::{ReasonForRevocation as R, SignatureType};
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use super::escrow::{LADDER_FILE, REVOCATION_FILE};
use crate::base::clock;
use crate::base::error::{Error, Result};
use crate::vault::StoredKey;

/// What the hard revocation must be.
const HARD: &str =
    "one revocation of this key with reason 'compromised', dated at the key's creation";
/// What every rung of the ladder must be.
const SOFT: &str =
    "revocations of this key with reason 'retired', each dated after the key's creation";

/// The one signature of `revocation.age`, checked: a valid revocation of
/// `key`, reason compromised, dated at the key's creation.
pub fn hard(key: &StoredKey, sigs: Vec<Signature>) -> Result<Signature> {
    let created = key.cert.primary_key().key().creation_time();
    let [sig]: [Signature; 1] = sigs.try_into().map_err(|sigs: Vec<Signature>| {
        let holds = match sigs.first() {
            Some(first) => format!("{} signatures, the first {}", sigs.len(), describe(first)),
            None => "no signature".into(),
        };
        mismatch(key, REVOCATION_FILE, holds, HARD)
    })?;
    if !revokes(&sig, &key.cert) {
        return Err(not_valid(key, REVOCATION_FILE));
    }
    if reason(&sig) != Some(R::KeyCompromised) || sig.signature_creation_time() != Some(created) {
        return Err(mismatch(key, REVOCATION_FILE, describe(&sig), HARD));
    }
    Ok(sig)
}

/// The rungs of `revocation-retired.age`, checked: each a valid revocation
/// of `key`, reason retired, dated after the key's creation.
pub fn ladder(key: &StoredKey, sigs: Vec<Signature>) -> Result<Vec<Signature>> {
    let created = key.cert.primary_key().key().creation_time();
    for sig in &sigs {
        if !revokes(sig, &key.cert) {
            return Err(not_valid(key, LADDER_FILE));
        }
        let after = sig.signature_creation_time().is_some_and(|t| t > created);
        if reason(sig) != Some(R::KeyRetired) || !after {
            return Err(mismatch(key, LADDER_FILE, describe(sig), SOFT));
        }
    }
    Ok(sigs)
}

/// Whether `sig` is a valid revocation of `cert`'s primary key.
pub fn revokes(sig: &Signature, cert: &Cert) -> bool {
    let primary = cert.primary_key().key();
    sig.typ() == SignatureType::KeyRevocation
        && sig.verify_primary_key_revocation(primary, primary).is_ok()
}

fn reason(sig: &Signature) -> Option<R> {
    sig.reason_for_revocation().map(|(r, _)| r)
}

/// "a revocation with reason 'retired' dated 2026-08-08T12:00:00Z".
fn describe(sig: &Signature) -> String {
    let reason = match reason(sig) {
        Some(R::KeyCompromised) => "'compromised'",
        Some(R::KeyRetired) => "'retired'",
        Some(R::KeySuperseded) => "'superseded'",
        Some(R::Unspecified) => "'unspecified'",
        Some(_) => "another",
        None => "no",
    };
    let date = sig
        .signature_creation_time()
        .map(|t| clock::iso(clock::from_system(t)))
        .unwrap_or_else(|| "undated".into());
    format!("a revocation with {reason} reason dated {date}")
}

fn not_valid(key: &StoredKey, file: &str) -> Error {
    Error::vault(
        format!(
            "{}: the escrowed revocation certificate is not valid for this key",
            key.dir.join(file).display()
        ),
        format!("restore {file} from git"),
    )
}

fn mismatch(key: &StoredKey, file: &str, holds: String, want: &str) -> Error {
    Error::vault(
        format!(
            "{}: holds {holds}, but it must hold {want}",
            key.dir.join(file).display()
        ),
        format!(
            "the escrow files were swapped or tampered with: restore {REVOCATION_FILE} and {LADDER_FILE} from git and run keycycle escrow verify"
        ),
    )
}

/// Whether `rev`, a revocation of `cert`'s primary, takes effect under the
/// policy `keycycle verify` uses: `cert` with `rev` comes out revoked by
/// `rev` at its date, at `at` and once the newest binding is live (each if
/// later). A soft revocation older than the newest binding signature live
/// at a time is ignored by sequoia (so sqv) from then on; gpg ignores the
/// dates, so it alone would show such a key revoked.
pub fn takes_effect(cert: &Cert, rev: &Signature, at: clock::Time) -> bool {
    use openpgp::types::RevocationStatus;
    let Some(dated) = rev.signature_creation_time() else {
        return false;
    };
    let Ok((with, _)) = cert.clone().insert_packets(rev.clone()) else {
        return false;
    };
    let policy = crate::base::openpgp_policy::standard();
    // From then on: at its date, now, and once every binding is live.
    let binding = crate::cert::make::newest_binding(cert).map(clock::to_system);
    let times = [Some(dated), Some(clock::to_system(at)), binding];
    times.into_iter().flatten().all(|t| {
        let t = t.max(dated);
        match with.revocation_status(&policy, t) {
            RevocationStatus::Revoked(sigs) => sigs.iter().any(|s| s.mpis() == rev.mpis()),
            _ => false,
        }
    })
}

/// [`takes_effect`] as a refusal: what `revoke` is about to publish must
/// revoke the key for sqv and `keycycle verify`, not only for gpg.
pub fn must_take_effect(key: &StoredKey, rev: &Signature, at: clock::Time) -> Result<()> {
    if takes_effect(&key.cert, rev, at) {
        return Ok(());
    }
    Err(Error::input(
        format!(
            "{} would not revoke {}: it is older than the key's newest binding signature{}, so sqv and keycycle verify ignore it",
            describe(rev),
            key.state.cycle,
            binding_date(&key.cert)
        ),
        "give a --time after the newest binding (keycycle status shows it), or use --reason compromised",
    ))
}

/// " (2027-04-01T00:00:00Z)", or nothing when the key has none.
pub fn binding_date(cert: &Cert) -> String {
    crate::cert::make::newest_binding(cert)
        .map(|t| format!(" ({})", clock::iso(t)))
        .unwrap_or_default()
}
