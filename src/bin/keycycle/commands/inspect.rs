use std::process::ExitCode;

use keycycle::base::clock;
use keycycle::cert::{self, Known};

use super::{Ctx, Outcome};
use crate::cli::InspectArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &InspectArgs) -> Outcome {
    let mut certs = Vec::new();
    // Files of bare signatures (revocation certificates, detached
    // signatures) are described too.
    let mut sigs = Vec::new();
    for f in &args.files {
        match keycycle::cert::inspect::read_certs(f) {
            Ok(c) => certs.extend(c),
            Err(e @ keycycle::Error::Input { .. }) => {
                match std::fs::read(f)
                    .ok()
                    .and_then(|b| cert::parse_signatures(&b))
                {
                    Some(s) => sigs.extend(s.into_iter().map(|s| (f.clone(), s))),
                    None => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    // Issuers are named from the given files and, if there is a vault,
    // from its keys and roster.
    let mut others = Vec::new();
    if let Ok(vault) = ctx.open_vault() {
        for k in vault.keys().unwrap_or_default() {
            others.push(k.cert);
        }
        if let Ok(roster) = keycycle::policy::roster::load(&vault) {
            for m in roster.members {
                if let Some(Some(c)) = m
                    .fingerprint
                    .map(|f| keycycle::policy::roster::cert(&vault, &f).ok().flatten())
                {
                    others.push(c);
                }
            }
        }
    }
    let report = keycycle::cert::inspect::inspect(&certs, &others, ctx.at);
    let (infos, chain, custody) = (report.infos, report.chain, report.custody);
    let mut known = Known::default();
    if !sigs.is_empty() {
        for c in certs.iter().chain(&others) {
            known.add(c);
        }
    }
    let sig_infos: Vec<_> = sigs
        .iter()
        .map(|(f, s)| (f.display().to_string(), cert::describe_signature(s, &known)))
        .collect();
    let signatures: Vec<_> = sig_infos
        .iter()
        .map(|(f, i)| serde_json::json!({ "file": f, "signature": i }))
        .collect();
    let json = serde_json::json!({
        "certificates": infos, "chain": chain, "custody": custody, "signatures": signatures,
    });
    ctx.show(&ui::Reply::new(&json, |_| {
        let mut out = String::new();
        for (f, i) in &sig_infos {
            out.push_str(&render_signature(f, i));
        }
        for i in &infos {
            out.push_str(&render_cert(i));
        }
        out.push_str(&render_chain(&chain, custody.as_ref()));
        Ok(out)
    }))?;
    Ok(ExitCode::SUCCESS)
}

fn day(t: Option<clock::Time>) -> String {
    t.map(clock::day).unwrap_or_else(|| "never".into())
}

fn render_signature(f: &str, i: &cert::SigInfo) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{}: {} by {}
",
        keycycle::base::text::shown(f),
        i.kind,
        i.issuer_key_id
    ));
    if let Some(who) = &i.issuer {
        out.push_str(&format!(
            "  issuer       {who}
"
        ));
    }
    out.push_str(&format!(
        "  created      {}  ({})
",
        day(i.created),
        i.hash
    ));
    if let Some(r) = &i.reason {
        let hard = match i.hard {
            Some(true) => "hard: voids every signature of the key",
            Some(false) => "soft: voids signatures made after its date",
            None => "",
        };
        out.push_str(&format!(
            "  reason       {r} ({hard})
"
        ));
        if !i.message.is_empty() {
            out.push_str(&format!(
                "  message      {}
",
                i.message
            ));
        }
    }
    out.push_str(&format!(
        "  check        {}

",
        i.check
    ));
    out
}

fn render_cert(i: &cert::CertInfo) -> String {
    let mut out = String::new();
    let cycle = match (&i.cycle_id, &i.cycle_name) {
        (Some(id), Some(n)) => format!("{id}/{n}"),
        (None, Some(n)) => n.clone(),
        _ => "not a cycle key".into(),
    };
    out.push_str(&format!("{}  {}\n", i.primary.key_id, cycle));
    out.push_str(&format!("  fingerprint  {}\n", i.primary.fingerprint));
    for u in &i.user_ids {
        out.push_str(&format!("  user ID      {u}\n"));
    }
    out.push_str(&format!(
        "  primary      {} [{}] created {} expires {}{}\n",
        i.primary.algorithm,
        i.primary.flags,
        clock::day(i.primary.created),
        day(i.primary.expires),
        if i.expired { " (expired)" } else { "" }
    ));
    if i.secret {
        out.push_str("  SECRET key material present\n");
    }
    for r in &i.primary.revocations {
        out.push_str(&format!(
            "  REVOKED      {} {} {}\n",
            r.reason,
            day(r.time),
            r.message
        ));
    }
    for s in &i.subkeys {
        out.push_str(&format!(
            "  subkey       {} {} [{}] created {} expires {}\n",
            s.algorithm,
            s.key_id,
            s.flags,
            clock::day(s.created),
            s.expires
                .map(clock::day)
                .unwrap_or_else(|| "with the primary".into())
        ));
        for r in &s.revocations {
            out.push_str(&format!(
                "    revoked    {} ({}) {}: {}\n",
                day(r.time),
                r.reason,
                if r.hard { "hard" } else { "soft" },
                r.message
            ));
        }
    }
    for c in &i.certifications {
        out.push_str(&format!(
            "  certified by {} {} {} [{}{}]\n",
            c.issuer_key_id,
            day(c.created),
            c.issuer.as_deref().unwrap_or("(issuer not at hand)"),
            c.check,
            c.reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
    }
    for w in &i.warnings {
        out.push_str(&format!("  warning      {w}\n"));
    }
    out.push('\n');
    out
}

fn render_chain(chain: &[cert::ChainLink], custody: Option<&cert::Custody>) -> String {
    let mut out = String::new();
    if !chain.is_empty() {
        out.push_str("Predecessor certifications:\n");
        for l in chain {
            out.push_str(&format!(
                "  {}  <-  {}  ({}){}\n",
                l.subject,
                l.issuer,
                day(l.date),
                l.void
                    .as_ref()
                    .map(|w| format!("  does not count: {w}"))
                    .unwrap_or_default()
            ));
        }
    }
    if let Some(c) = custody {
        if c.longest.len() > 1 {
            out.push_str(&format!(
                "Chain of custody unbroken from {} to {} ({} keys)\n",
                c.longest[0],
                c.longest[c.longest.len() - 1],
                c.longest.len()
            ));
        }
        for (key, prev) in &c.gaps {
            match c.broken.iter().find(|(k, _)| k == key) {
                Some((_, why)) => out.push_str(&format!(
                    "  gap: {key} is certified by its predecessor {prev}, but that does not count: {why}\n"
                )),
                None => out.push_str(&format!(
                    "  gap: {key} is not certified by its predecessor {prev}\n"
                )),
            }
        }
    }
    out
}
