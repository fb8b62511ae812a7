//! What keycycle says to the world comes from signed data: the keyservers
//! a key is uploaded to (and whose answer confirms the upload), and the
//! template of the announcement the release key signs. `keycycle.toml`
//! holds only the draft of both; a committer's entry there is used only
//! when the policy in force lists it, or the operator names it on the
//! command line.

use super::{digest, load};
use crate::base::clock::Time;
use crate::base::error::{Error, Result};
use crate::vault::config::Config;
use crate::vault::Vault;

/// keycycle's own default, used when neither the policy nor the draft
/// names another server.
const BUILT_IN: &str = "hkps://keyserver.ubuntu.com";

/// The keyservers to use: the ones given on the command line (the
/// operator's own choice), else the policy's, else keycycle's built-in
/// default when the draft names no other. A draft that names others than
/// the policy is refused with the flag that confirms them: the operator
/// sees the difference instead of either list being used silently.
pub fn keyservers(vault: &Vault, at: Time, given: &[String]) -> Result<Vec<String>> {
    if !given.is_empty() {
        return Ok(given.to_vec());
    }
    let signed = load(vault, at)?
        .map(|s| s.policy.keyservers)
        .unwrap_or_default();
    let draft = vault.config()?.publish.keyservers;
    let same = |a: &[String], b: &[String]| {
        let (mut a, mut b) = (a.to_vec(), b.to_vec());
        a.sort();
        b.sort();
        a == b
    };
    if !signed.is_empty() && (draft.is_empty() || same(&draft, &signed)) {
        return Ok(signed);
    }
    if signed.is_empty() && (draft.is_empty() || draft == [BUILT_IN]) {
        return Ok(draft);
    }
    Err(Error::input(
        "keycycle.toml names keyservers that the signed policy does not list: the upload would go, and be confirmed, where a commit says",
        "name each server you mean with --keyserver URL, or have the roots sign a policy that lists them (keycycle policy propose)",
    ))
}

/// The announcement's embedded wording (`[announce] template` replaces it).
const DEFAULT_TEMPLATE: &str = include_str!("../../templates/announce.txt");

/// The announcement template's text: keycycle's built-in one, or the
/// vault's replacement (not yet checked: see [`approved_template`]).
pub fn template_text(config: &Config) -> Result<String> {
    let Some(path) = &config.announce.template else {
        return Ok(DEFAULT_TEMPLATE.to_string());
    };
    String::from_utf8(crate::base::fs::fsx::read_file(path)?).map_err(|_| {
        Error::vault(
            format!("{}: not UTF-8 text", crate::base::text::path(path)),
            "write the template as UTF-8",
        )
    })
}

/// The release key signs what the template says, so a replacement must be
/// the one whose digest the policy in force names.
pub fn approved_template(vault: &Vault, config: &Config, at: Time) -> Result<()> {
    let Some(path) = &config.announce.template else {
        return Ok(());
    };
    let actual = digest(&crate::base::fs::fsx::read_file(path)?);
    let signed = load(vault, at)?.and_then(|s| s.policy.announce_template);
    if signed.as_deref() == Some(actual.as_str()) {
        return Ok(());
    }
    Err(Error::vault(
        format!(
            "{}: the announcement template is not the one the signed policy approved ({}; the file is {actual})",
            crate::base::text::path(path),
            signed.as_deref().unwrap_or("the policy names none")
        ),
        "the release key signs this text: have the roots sign a policy naming it (keycycle policy propose), or remove [announce] template to use the built-in one",
    ))
}
