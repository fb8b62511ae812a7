//! Step 2: the fingerprint is read aloud to the roots, who compare it when
//! they attest.

use super::super::{Cx, Outcome};
use crate::base::error::{Error, Result};
use crate::cert;

pub(super) fn run(cx: &mut Cx) -> Result<Outcome> {
    let key = cx.key()?;
    cx.op.say(&format!(
        "\n{}\n      Key fingerprint = {}\nRead it aloud to the roots now; they will compare it when they attest.",
        cert::primary_uid(&key.cert),
        cert::grouped(&key.cert.fingerprint())
    ));
    if !cx.answers.fingerprint_read
        && !cx
            .op
            .confirm("--fingerprint-read", "Has the fingerprint been read aloud?")?
    {
        return Err(Error::input(
            "the fingerprint was not read aloud",
            "read it, then run ceremony again",
        ));
    }
    Ok(Outcome::Done("read aloud".into()))
}
