//! Step 6: send the key to the keyservers and fetch it back (left open
//! with --no-publish, or when the operator says not now).

use super::super::{Cx, Outcome};
use crate::base::error::{Error, Result};
use crate::publish::{self, Settings};

pub(super) fn run(cx: &mut Cx) -> Result<Outcome> {
    if cx.answers.no_publish {
        cx.op
            .say("Not publishing now (--no-publish); the step stays open.");
        return Ok(Outcome::Open);
    }
    let servers = crate::policy::keyservers(cx.vault, cx.at, &cx.answers.keyserver)?;
    if cx.answers.keyserver.is_empty()
        && cx.op.interactive()
        && !cx.op.confirm(
            "--keyserver URL",
            &format!("Publish to {}?", servers.join(", ")),
        )?
    {
        cx.op.say("Not publishing now; the step stays open.");
        return Ok(Outcome::Open);
    }
    let key = cx.key()?;
    let settings = Settings {
        timeout: std::time::Duration::from_secs(cx.answers.timeout),
        ..Settings::default()
    };
    let done = publish::publish_key(cx.vault, &key, &servers, None, &settings, cx.at)?;
    if let Some(r) = done.failed().first() {
        return Err(Error::vault(
            format!("{}: {}", r.server, r.error),
            "check the keyserver, then run ceremony again: it resumes here",
        ));
    }
    for r in &done.servers {
        cx.op.say(&format!(
            "Published to {}; fetched back with every certification.",
            r.server
        ));
    }
    Ok(Outcome::Done(servers.join(" ")))
}
