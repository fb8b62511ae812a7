//! Publishing a cycle key: HKP keyservers through sequoia-net (with a
//! client that reads the response body — a server may answer 200 with
//! "Add failed"), a fetch-back that proves every certification and
//! revocation arrived, and a Web Key Directory tree.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use openpgp::{Cert, KeyHandle};
use sequoia_net::{HttpClient, KeyServer};
use sequoia_openpgp as openpgp;

use crate::error::{Error, Result};

/// An HTTP client for HKP with timeouts, that treats "Add failed" bodies
/// as the failures they are.
struct Client(reqwest::Client);

impl HttpClient for Client {
    fn get(
        &'_ self,
        url: url::Url,
    ) -> Box<dyn std::future::Future<Output = sequoia_net::Result<Vec<u8>>> + Send + '_> {
        Box::new(async move {
            let res = self.0.get(url).send().await?;
            match res.status() {
                reqwest::StatusCode::OK => Ok(res.bytes().await?.to_vec()),
                reqwest::StatusCode::NOT_FOUND => Err(sequoia_net::Error::NotFound.into()),
                s => Err(anyhow::anyhow!("HTTP {s}")),
            }
        })
    }

    fn post(
        &'_ self,
        url: url::Url,
        post_data: Vec<u8>,
    ) -> Box<dyn std::future::Future<Output = sequoia_net::Result<()>> + Send + '_> {
        Box::new(async move {
            let res = self
                .0
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(post_data)
                .send()
                .await?;
            let status = res.status();
            let body = String::from_utf8_lossy(&res.bytes().await?).into_owned();
            let failed = body.to_ascii_lowercase().contains("add failed");
            if !status.is_success() || failed {
                let line = body
                    .lines()
                    .map(|l| l.trim())
                    .find(|l| {
                        l.to_ascii_lowercase().contains("fail")
                            || l.to_ascii_lowercase().contains("error")
                    })
                    .unwrap_or("")
                    .chars()
                    .take(120)
                    .collect::<String>();
                return Err(anyhow::anyhow!(
                    "the server refused the key (HTTP {status}) {line}"
                ));
            }
            Ok(())
        })
    }
}

/// Where and how to talk to keyservers.
#[derive(Debug, Clone)]
pub struct Settings {
    pub timeout: Duration,
    pub attempts: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timeout: Duration::from_secs(20),
            attempts: 3,
        }
    }
}

fn server(url: &str, s: &Settings) -> Result<KeyServer> {
    let client = reqwest::Client::builder()
        .timeout(s.timeout)
        .connect_timeout(s.timeout)
        .build()
        .map_err(anyhow::Error::from)?;
    KeyServer::with_client(url, Box::new(Client(client))).map_err(|e| {
        Error::input(
            format!("{url}: not a keyserver URL: {e}"),
            "use hkp://HOST[:PORT] or hkps://HOST[:PORT]",
        )
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)?)
}

fn chain(e: &anyhow::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s
}

/// Retry `f` a bounded number of times, with a short growing pause.
async fn retry<T, F, Fut>(s: &Settings, mut f: F) -> std::result::Result<T, anyhow::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, anyhow::Error>>,
{
    let mut last = None;
    for i in 0..s.attempts.max(1) {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                // A refusal will not change on retry.
                let refused = e.to_string().contains("refused the key");
                last = Some(e);
                if refused {
                    break;
                }
                if i + 1 < s.attempts {
                    tokio::time::sleep(Duration::from_millis(250 << i)).await;
                }
            }
        }
    }
    Err(last.expect("at least one attempt"))
}

/// Fetch a cert by fingerprint from one keyserver (unverified!).
pub fn fetch(url: &str, handle: &KeyHandle, s: &Settings) -> Result<Option<Cert>> {
    let ks = server(url, s)?;
    let rt = runtime()?;
    let got = rt.block_on(retry(s, || {
        let ks = ks.clone();
        let handle = handle.clone();
        async move {
            match ks.get(handle).await {
                Ok(certs) => Ok(Some(certs)),
                Err(e)
                    if matches!(
                        e.downcast_ref::<sequoia_net::Error>(),
                        Some(sequoia_net::Error::NotFound)
                    ) =>
                {
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        }
    }));
    match got {
        Ok(None) => Ok(None),
        Ok(Some(certs)) => {
            let mut found: Option<Cert> = None;
            for c in certs.into_iter().flatten() {
                if c.key_handle().aliases(handle)
                    || c.keys().any(|k| k.key().key_handle().aliases(handle))
                {
                    found = Some(match found {
                        Some(f) => f.merge_public(c)?,
                        None => c,
                    });
                }
            }
            Ok(found)
        }
        Err(e) => Err(Error::vault(
            format!("{url}: {}", chain(&e)),
            "check that the keyserver is up and reachable; try again later",
        )),
    }
}

/// What one keyserver made of a publish.
#[derive(Debug, Clone, Serialize)]
pub struct ServerReport {
    pub server: String,
    pub ok: bool,
    /// Certifications and revocations of the vault's cert missing on the
    /// server after the upload.
    pub missing: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// The signatures of `cert` that must be on the server: every certification
/// and every revocation (self-signatures travel with the key).
fn must_have(cert: &Cert) -> Vec<(String, openpgp::packet::Signature)> {
    let mut v = Vec::new();
    for ua in cert.userids() {
        for s in ua.certifications() {
            v.push((
                format!(
                    "certification by {}",
                    s.get_issuers()
                        .first()
                        .map(|h| h.to_string())
                        .unwrap_or_default()
                ),
                s.clone(),
            ));
        }
        for s in ua.self_revocations() {
            v.push(("user ID revocation".into(), s.clone()));
        }
    }
    for s in cert.primary_key().self_revocations() {
        v.push(("key revocation".into(), s.clone()));
    }
    for ka in cert.keys().subkeys() {
        for s in ka.self_revocations() {
            v.push((
                format!("revocation of subkey {}", ka.key().keyid()),
                s.clone(),
            ));
        }
    }
    v
}

/// Upload `cert` (public parts only) and check it back.
pub fn publish(url: &str, cert: &Cert, s: &Settings) -> ServerReport {
    let mut report = ServerReport {
        server: url.to_string(),
        ok: false,
        missing: Vec::new(),
        error: String::new(),
    };
    let public = cert.clone().strip_secret_key_material();
    if public.is_tsk() {
        report.error = "internal error: refusing to send secret key material".into();
        return report;
    }
    let run = || -> Result<()> {
        let ks = server(url, s)?;
        let rt = runtime()?;
        rt.block_on(retry(s, || {
            let ks = ks.clone();
            let public = public.clone();
            async move { ks.send(&public).await }
        }))
        .map_err(|e| anyhow::anyhow!("{}", chain(&e)))?;
        Ok(())
    };
    if let Err(e) = run() {
        report.error = e.to_string();
        return report;
    }
    match fetch(url, &KeyHandle::from(cert.fingerprint()), s) {
        Ok(Some(back)) => {
            let present: Vec<openpgp::packet::Signature> = back
                .userids()
                .flat_map(|u| {
                    u.certifications()
                        .chain(u.self_revocations())
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .chain(back.primary_key().self_revocations().cloned())
                .chain(
                    back.keys()
                        .subkeys()
                        .flat_map(|k| k.self_revocations().cloned().collect::<Vec<_>>()),
                )
                .collect();
            for (what, sig) in must_have(cert) {
                if !present.iter().any(|p| p.normalized_eq(&sig)) {
                    report.missing.push(what);
                }
            }
            report.ok = report.missing.is_empty();
            if !report.ok {
                report.error =
                    format!("{} signature(s) missing after upload", report.missing.len());
            }
        }
        Ok(None) => report.error = "the key is not on the server after the upload".into(),
        Err(e) => report.error = e.to_string(),
    }
    report
}

/// Write a Web Key Directory (advanced layout) for the user IDs' domains.
pub fn wkd(dir: &Path, cert: &Cert) -> Result<Vec<String>> {
    let public = cert.clone().strip_secret_key_material();
    let mut domains: Vec<String> = public
        .userids()
        .filter_map(|u| u.userid().email().ok().flatten())
        .filter_map(|e| e.rsplit_once('@').map(|(_, d)| d.to_lowercase()))
        .collect();
    domains.sort();
    domains.dedup();
    if domains.is_empty() {
        return Err(Error::input(
            "the key has no user ID with an e-mail address",
            "WKD needs one",
        ));
    }
    for d in &domains {
        sequoia_net::wkd::insert(dir, d, sequoia_net::wkd::Variant::Advanced, &public)
            .map_err(|e| anyhow::anyhow!("WKD for {d}: {e}"))?;
    }
    Ok(domains)
}
