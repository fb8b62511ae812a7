//! Step 9: what the roots must do to attest the new key, with the exact
//! gpg and keycycle commands.

use super::super::{Cx, Outcome};
use crate::base::error::Result;
use crate::cert;

/// Where the roots type the fingerprint they heard.
const TYPED: &str = "<FINGERPRINT READ ALOUD>";

pub(super) fn run(cx: &mut Cx) -> Result<Outcome> {
    let key = cx.key()?;
    let fpr = &key.state.fingerprint;
    let lower = fpr.to_lowercase();
    let grouped = cert::grouped(&key.cert.fingerprint());
    // The commands leave the fingerprint for the roots to type as they
    // heard it: a request altered on its way would otherwise have them
    // certify whatever key it names.
    cx.request = Some(format!(
        "\nAttestation request — {}\n\n  {}\n  Key fingerprint = {grouped}\n\nCompare it with the one read aloud at the ceremony. Where the commands say {TYPED},\ntype the fingerprint as you heard it — never copy it from this message — then either\n  gpg --recv-keys {fpr}   (or import 0x{lower}.txt)\n  gpg --quick-sign-key \"{TYPED}\"\n  gpg --armor --export {fpr} > certified.asc\nor\n  keycycle certify 0x{lower}.txt --with-key YOUR-SECRET-KEY.asc --fingerprint \"{TYPED}\" -o certified.asc\nand send certified.asc back (or gpg --send-keys {fpr}); the ceremony root runs\n  keycycle attestations import certified.asc   /   keycycle attestations fetch\n",
        cx.cycle.label(),
        cert::primary_uid(&key.cert),
    ));
    Ok(Outcome::Done("printed".into()))
}
