//! Step 9: what the roots must do to attest the new key, with the exact
//! gpg and keycycle commands.

use super::super::{Cx, Outcome};
use crate::certinfo;
use crate::error::Result;

pub(super) fn run(cx: &mut Cx) -> Result<Outcome> {
    let key = cx.key()?;
    let fpr = &key.state.fingerprint;
    let lower = fpr.to_lowercase();
    let grouped = certinfo::grouped(&key.cert.fingerprint());
    cx.request = Some(format!(
        "\nAttestation request — {}\n\n  {}\n  Key fingerprint = {grouped}\n\nCompare the fingerprint with the one read aloud, then either\n  gpg --recv-keys {fpr}   (or import 0x{lower}.txt)\n  gpg --quick-sign-key {fpr}\n  gpg --armor --export {fpr} > certified.asc\nor\n  keycycle certify 0x{lower}.txt --with-key YOUR-SECRET-KEY.asc --fingerprint \"{grouped}\" -o certified.asc\nand send certified.asc back (or gpg --send-keys {fpr}); the ceremony root runs\n  keycycle attestations import certified.asc   /   keycycle attestations fetch\n",
        cx.cycle.label(),
        certinfo::primary_uid(&key.cert),
    ));
    Ok(Outcome::Done("printed".into()))
}
