//! Keysigning-party sheets: numbered keys with their user IDs and grouped
//! fingerprints, and a SHA-256 of the list that attendees compare aloud.

use sha2::{Digest, Sha256};

use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::cert;

/// Render the sheet; `markdown` for a Markdown table.
pub fn sheet(certs: &[Cert], at: Time, markdown: bool) -> String {
    let mut list = String::new();
    for (i, c) in certs.iter().enumerate() {
        let n = i + 1;
        let algo = cert::algorithm(c.primary_key().key());
        let created = clock::day(clock::from_system(c.primary_key().key().creation_time()));
        let uids: Vec<String> = c
            .userids()
            .map(|u| {
                let t = cert::uid_text(u.userid());
                if markdown {
                    t.replace('|', "\\|")
                } else {
                    t
                }
            })
            .collect();
        let fpr = cert::grouped(&c.fingerprint());
        if markdown {
            list.push_str(&format!(
                "| {n} | {} | {algo} {} | `{fpr}` | ☐ | ☐ |\n",
                uids.join("<br>"),
                created
            ));
        } else {
            list.push_str(&format!("{n:>3}  [ ] fingerprint ok  [ ] ID checked\n"));
            for u in &uids {
                list.push_str(&format!("     {u}\n"));
            }
            list.push_str(&format!(
                "     {algo} {} created {created}\n     {fpr}\n\n",
                cert::keyid0x(&c.keyid())
            ));
        }
    }
    let digest = hex::encode(Sha256::digest(list.as_bytes()));
    let grouped: Vec<String> = digest
        .as_bytes()
        .chunks(8)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let title = format!(
        "Keysigning party, {} — {} key(s)",
        clock::day(at),
        certs.len()
    );
    if markdown {
        format!(
            "# {title}\n\n| # | user IDs | key | fingerprint | fingerprint ok | ID checked |\n|---|---|---|---|---|---|\n{list}\nSHA-256 of the list rows: `{}`\n",
            grouped.join(" ")
        )
    } else {
        format!(
            "{title}\n\n{list}SHA-256 of the list above: {}\n",
            grouped.join(" ")
        )
    }
}
