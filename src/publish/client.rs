//! The HTTP client sequoia-net talks to keyservers through: timeouts (set
//! by the caller), answers read incrementally up to [`MAX_ANSWER`], "Add
//! failed" bodies and bodies that are not OpenPGP taken as the failures
//! they are.

use openpgp::parse::{PacketParser, Parse};
use sequoia_net::HttpClient;
use sequoia_openpgp as openpgp;

/// The most a keyserver's answer may hold. A release key with every
/// certification is well under 1 MiB; an answer that never ends is cut
/// here instead of being kept until the timeout.
pub const MAX_ANSWER: usize = 8 << 20;

/// An HTTP client for HKP with timeouts, that treats "Add failed" bodies
/// as the failures they are and bodies that are not OpenPGP as errors.
pub(super) struct Client(pub(super) reqwest::Client);

/// The server answered, but not as asked: an HTTP error status, an "Add
/// failed" body, a body that is not OpenPGP. Not retried.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadAnswer(String);

impl HttpClient for Client {
    fn get(
        &'_ self,
        url: url::Url,
    ) -> Box<dyn std::future::Future<Output = sequoia_net::Result<Vec<u8>>> + Send + '_> {
        Box::new(async move {
            let res = self.0.get(url).send().await?;
            match res.status() {
                reqwest::StatusCode::OK => {
                    let ctype = res
                        .headers()
                        .get(reqwest::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("no content type")
                        .to_string();
                    let body = body(res, MAX_ANSWER).await?;
                    // CertParser's own error on HTML is "unexpected EOF":
                    // say what the answer was instead.
                    if let Err(e) = PacketParser::from_bytes(&body) {
                        return Err(BadAnswer(format!(
                            "the answer is not OpenPGP data ({ctype}, {} bytes: {e})",
                            body.len()
                        ))
                        .into());
                    }
                    // sequoia-net parses it next, inside this request's
                    // time budget but beyond its reach: bound the work.
                    if let Err(r) = crate::base::bounded::check(&body) {
                        return Err(BadAnswer(format!("the answer is refused: {r}")).into());
                    }
                    Ok(body)
                }
                reqwest::StatusCode::NOT_FOUND => Err(sequoia_net::Error::NotFound.into()),
                s => Err(BadAnswer(format!("HTTP {s}")).into()),
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
            let body = String::from_utf8_lossy(&body(res, MAX_ANSWER).await?).into_owned();
            let failed = body.to_ascii_lowercase().contains("add failed");
            if !status.is_success() || failed {
                // sks wraps its reason in HTML: take the text between tags,
                // preferring its "Add failed: …" line.
                let text = regex::Regex::new(r"<[^>]*>")
                    .expect("a valid regex")
                    .replace_all(&body, "\n")
                    .into_owned();
                let lines: Vec<&str> = text
                    .lines()
                    .map(|l| l.trim())
                    .filter(|l| !l.is_empty())
                    .collect();
                let line = lines
                    .iter()
                    .find(|l| l.to_ascii_lowercase().contains("add failed"))
                    .or_else(|| {
                        lines.iter().find(|l| {
                            l.to_ascii_lowercase().contains("fail")
                                || l.to_ascii_lowercase().contains("error")
                        })
                    })
                    .map(|l| format!(": {}", l.chars().take(120).collect::<String>()))
                    .unwrap_or_default();
                return Err(
                    BadAnswer(format!("the server refused the key (HTTP {status}){line}")).into(),
                );
            }
            Ok(())
        })
    }
}

/// The body of `res`, read a chunk at a time; an error past `max` bytes.
pub(super) async fn body(mut res: reqwest::Response, max: usize) -> Result<Vec<u8>, anyhow::Error> {
    let too_big = || BadAnswer(format!("the answer is larger than {} MiB", max >> 20));
    if res.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_big().into());
    }
    let mut out = Vec::new();
    while let Some(chunk) = res.chunk().await? {
        if out.len() + chunk.len() > max {
            return Err(too_big().into());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
