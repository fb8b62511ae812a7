//! Publishing a cycle key: HKP keyservers through sequoia-net (with a
//! client that reads the response body — a server may answer 200 with
//! "Add failed"), a fetch-back that proves every certification and
//! revocation arrived, and a Web Key Directory tree.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use openpgp::{Cert, KeyHandle};
use sequoia_net::KeyServer;
use sequoia_openpgp as openpgp;

use crate::base::clock::Time;
use crate::base::error::{Error, Result};
use crate::vault::{PublishRecord, StoredKey, Vault};

pub mod announce;
mod client;
pub mod page;
mod wkd;

use client::Client;
pub use wkd::wkd;

/// Where and how to talk to keyservers.
///
/// `timeout` caps every HTTP request, connecting and reading the whole
/// body included (so a server trickling a byte a second cannot hold us).
/// The whole exchange with one server — upload, fetch-back and retries —
/// is capped at one and a half times that: [`Settings::budget`].
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

impl Settings {
    /// The most one server may take, everything included (30 s at the
    /// default 20 s timeout).
    pub fn budget(&self) -> Duration {
        self.timeout * 3 / 2
    }
}

fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
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

fn with_causes(e: &anyhow::Error) -> String {
    crate::base::error::with_causes(e.as_ref())
}

/// What went wrong with one attempt, and whether another may help.
struct Failure {
    message: String,
    retry: bool,
}

/// One line, without reqwest's "error sending request for url (http://…)"
/// (the caller names the server).
fn classify(e: &anyhow::Error, s: &Settings) -> Failure {
    if let Some(r) = e.downcast_ref::<reqwest::Error>() {
        if r.is_timeout() {
            return Failure {
                message: format!("timed out: no complete answer within {}", secs(s.timeout)),
                retry: false,
            };
        }
        // The innermost cause: "Connection refused (os error 111)",
        // "connection reset by peer", "connection closed before message
        // completed".
        let mut root = r.to_string();
        let mut src = std::error::Error::source(r);
        while let Some(c) = src {
            root = c.to_string();
            src = c.source();
        }
        let what = if r.is_connect() {
            "cannot connect"
        } else {
            "connection failed"
        };
        return Failure {
            message: format!("{what}: {root}"),
            retry: r.is_connect() || r.is_request() || r.is_body(),
        };
    }
    Failure {
        message: with_causes(e),
        retry: false,
    }
}

/// Run `f` until it succeeds, a failure that a retry will not change, the
/// attempts run out or the deadline passes — whichever comes first.
async fn retry<T, F, Fut>(
    s: &Settings,
    until: Instant,
    mut f: F,
) -> std::result::Result<T, anyhow::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, anyhow::Error>>,
{
    let gave_up = || {
        anyhow::anyhow!(
            "timed out: no complete answer within {} in all",
            secs(s.budget())
        )
    };
    let mut last = None;
    for i in 0..s.attempts.max(1) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, f()).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => {
                let failure = classify(&e, s);
                last = Some(anyhow::anyhow!("{}", failure.message));
                if !failure.retry {
                    break;
                }
            }
            Err(_) => return Err(gave_up()),
        }
        if i + 1 < s.attempts {
            let pause = Duration::from_millis(250 << i);
            if Instant::now() + pause >= until {
                break;
            }
            tokio::time::sleep(pause).await;
        }
    }
    Err(last.unwrap_or_else(gave_up))
}

/// Fetch a cert by fingerprint from one keyserver (unverified!), within
/// [`Settings::budget`].
pub fn fetch(url: &str, handle: &KeyHandle, s: &Settings) -> Result<Option<Cert>> {
    let until = Instant::now() + s.budget();
    let ks = server(url, s)?;
    fetch_by(&runtime()?, &ks, handle, s, until).map_err(|e| {
        Error::vault(
            format!("{url}: fetch: {e}"),
            "check that the keyserver is up and reachable; try again later",
        )
    })
}

fn fetch_by(
    rt: &tokio::runtime::Runtime,
    ks: &KeyServer,
    handle: &KeyHandle,
    s: &Settings,
    until: Instant,
) -> std::result::Result<Option<Cert>, anyhow::Error> {
    let got = rt.block_on(retry(s, until, || {
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
        Err(e) => Err(e),
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
    /// The server speaks VKS (keys.openpgp.org).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub vks: bool,
    /// What a VKS server left out, as it does for every key: third-party
    /// certifications and unverified user IDs. Not a failure.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stripped: Vec<String>,
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

/// A signature over a user ID (a certification or its revocation): what a
/// VKS server drops with the user ID or as a third party's.
fn user_id_bound(sig: &openpgp::packet::Signature) -> bool {
    use openpgp::types::SignatureType as T;
    matches!(
        sig.typ(),
        T::GenericCertification
            | T::PersonaCertification
            | T::CasualCertification
            | T::PositiveCertification
            | T::CertificationRevocation
    )
}

/// Whether the server at `url` (hkp://, hkps://) speaks VKS, the
/// keys.openpgp.org API: `/vks/v1/by-fingerprint/FPR` answers the key.
async fn is_vks(url: &str, fpr: &openpgp::Fingerprint, s: &Settings, until: Instant) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else {
        return false;
    };
    let (scheme, port) = match u.scheme() {
        "hkp" => ("http", u.port().or(Some(11371))),
        "hkps" => ("https", u.port()),
        "http" | "https" => (u.scheme(), u.port()),
        _ => return false,
    };
    let host = u.host_str().unwrap_or_default();
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    let u = format!(
        "{scheme}://{host}{port}/vks/v1/by-fingerprint/{}",
        fpr.to_hex()
    );
    let left = until.saturating_duration_since(Instant::now());
    let Ok(client) = reqwest::Client::builder()
        .timeout(s.timeout.min(left))
        .build()
    else {
        return false;
    };
    match client.get(u).send().await {
        Ok(r) if r.status() == reqwest::StatusCode::OK => client::body(r, client::MAX_ANSWER)
            .await
            .map(|b| <Cert as openpgp::parse::Parse<_>>::from_bytes(&b).is_ok())
            .unwrap_or(false),
        _ => false,
    }
}

/// Upload `cert` (public parts only) and check it back.
/// [`publish`] to every server at once (one thread each): a dead server
/// costs its time budget once, not once per server in turn. Reports come
/// back in the order of `urls`.
pub fn publish_all(urls: &[String], cert: &Cert, s: &Settings) -> Vec<ServerReport> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = urls
            .iter()
            .map(|u| scope.spawn(move || publish(u, cert, s)))
            .collect();
        handles
            .into_iter()
            .zip(urls)
            .map(|(h, u)| {
                h.join().unwrap_or_else(|_| ServerReport {
                    server: u.clone(),
                    ok: false,
                    missing: Vec::new(),
                    vks: false,
                    stripped: Vec::new(),
                    error: "internal error: the upload thread failed".into(),
                })
            })
            .collect()
    })
}

pub fn publish(url: &str, cert: &Cert, s: &Settings) -> ServerReport {
    let mut report = ServerReport {
        server: url.to_string(),
        ok: false,
        missing: Vec::new(),
        vks: false,
        stripped: Vec::new(),
        error: String::new(),
    };
    let public = cert.clone().strip_secret_key_material();
    if public.is_tsk() {
        report.error = "internal error: refusing to send secret key material".into();
        return report;
    }
    // One deadline for everything this server gets: upload, fetch-back
    // and their retries.
    let until = Instant::now() + s.budget();
    let (rt, ks) = match runtime().and_then(|rt| Ok((rt, server(url, s)?))) {
        Ok(v) => v,
        Err(e) => {
            report.error = e.to_string();
            return report;
        }
    };
    if let Err(e) = rt.block_on(retry(s, until, || {
        let ks = ks.clone();
        let public = public.clone();
        async move { ks.send(&public).await }
    })) {
        report.error = format!("upload: {e}");
        return report;
    }
    match fetch_by(&rt, &ks, &KeyHandle::from(cert.fingerprint()), s, until) {
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
            let mut absent: Vec<(String, openpgp::packet::Signature)> = must_have(cert)
                .into_iter()
                .filter(|(_, sig)| !present.iter().any(|p| p.normalized_eq(sig)))
                .collect();
            // A VKS server (keys.openpgp.org) strips every third-party
            // certification and every unverified user ID, from every key:
            // what is missing for that reason is expected.
            if absent.iter().any(|(_, sig)| user_id_bound(sig))
                && rt.block_on(is_vks(url, &cert.fingerprint(), s, until))
            {
                report.vks = true;
                let (stripped, rest): (Vec<_>, Vec<_>) =
                    absent.into_iter().partition(|(_, sig)| user_id_bound(sig));
                report.stripped = stripped.into_iter().map(|(what, _)| what).collect();
                absent = rest;
            }
            report.missing = absent.into_iter().map(|(what, _)| what).collect();
            report.ok = report.missing.is_empty();
            if !report.ok {
                report.error =
                    format!("{} signature(s) missing after upload", report.missing.len());
            }
        }
        Ok(None) => {
            report.error = "fetch-back: the key is not on the server after the upload".into()
        }
        Err(e) => report.error = format!("fetch-back after the upload: {e}"),
    }
    report
}

/// What [`publish_key`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    pub servers: Vec<ServerReport>,
    /// The domains written, with a WKD directory.
    pub wkd: Option<Vec<String>>,
}

impl Published {
    /// The servers that failed.
    pub fn failed(&self) -> Vec<&ServerReport> {
        self.servers.iter().filter(|r| !r.ok).collect()
    }
}

/// Publish a vault key to `servers` (all at once) and to a WKD under
/// `wkd_dir`, and record every success in the key's state and the audit
/// log.
pub fn publish_key(
    vault: &Vault,
    key: &StoredKey,
    servers: &[String],
    wkd_dir: Option<&Path>,
    s: &Settings,
    at: Time,
) -> Result<Published> {
    let reports = publish_all(servers, &key.cert, s);
    let domains = wkd_dir.map(|d| wkd(d, &key.cert, at)).transpose()?;
    let mut state = key.state.clone();
    let ok: Vec<&String> = reports.iter().filter(|r| r.ok).map(|r| &r.server).collect();
    for server in &ok {
        state.publish.push(PublishRecord {
            time: at,
            target: server.to_string(),
        });
    }
    if let (Some(dir), Some(_)) = (wkd_dir, &domains) {
        state.publish.push(PublishRecord {
            time: at,
            target: format!("wkd:{}", crate::base::text::path(dir)),
        });
    }
    if state.publish.len() != key.state.publish.len() {
        vault.save_state(key, &state)?;
        vault.audit(
            at,
            "publish",
            serde_json::json!({
                "fingerprint": key.state.fingerprint,
                "servers": ok,
                "wkd": wkd_dir.map(|d| d.display().to_string()),
            }),
        )?;
    }
    Ok(Published {
        servers: reports,
        wkd: domains,
    })
}
