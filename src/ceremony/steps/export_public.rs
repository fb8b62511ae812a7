//! Step 5: the public key, armored and as the openstack/releases text
//! file, into the exports directory.

use super::super::{Cx, Outcome};
use crate::base::error::Result;
use crate::base::fs::atomic;
use crate::cert::{self, Known};

pub(super) fn run(cx: &mut Cx) -> Result<Outcome> {
    let key = cx.key()?;
    let dir = cx
        .answers
        .exports
        .clone()
        .unwrap_or_else(|| cx.vault.root().join("exports"));
    // In the vault (the default), not through a link.
    crate::base::fs::fsx::check_dirs(cx.vault.root(), &dir)?;
    atomic::create_dir(&dir)?;
    let base = format!("0x{}", key.state.fingerprint.to_lowercase());
    let mut known = Known::default();
    for k in crate::policy::trusted_keys(cx.vault, cx.at)? {
        known.add(&k.cert);
    }
    atomic::write(
        &dir.join(format!("{base}.asc")),
        &cert::armored_public(&key.cert)?,
        atomic::PUBLIC_MODE,
    )?;
    atomic::write(
        &dir.join(format!("{base}.txt")),
        cert::releases_text(&key.cert, cx.at, &known)?.as_bytes(),
        atomic::PUBLIC_MODE,
    )?;
    cx.op.say(&format!(
        "Public key written to {}/{base}.asc and .txt (openstack/releases format).",
        crate::base::text::path(&dir)
    ));
    Ok(Outcome::Done(dir.display().to_string()))
}
