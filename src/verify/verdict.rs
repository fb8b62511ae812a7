//! How a file is judged, below the detached and the cleartext runs: the
//! options, the verdict over a file's signature reports (enough distinct
//! signers or not), and the one retry under `--policy-as-of` when SHA-1
//! binding signatures failed.

use serde::Serialize;

use crate::base::clock::{self, Time};
use crate::verify::report::{cutoff_date, Fault, SigReport, SignedBy};

/// How files are judged.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The verification time (`--time`).
    pub at: Time,
    /// `--policy-as-of`.
    pub as_of: Option<Time>,
    /// How many distinct certificates must have made good signatures.
    pub signers: usize,
}

/// One file's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub file: String,
    /// The detached signature, or the file itself when cleartext-signed.
    pub signature: String,
    pub cleartext: bool,
    pub good: bool,
    #[serde(flatten)]
    pub fault: Fault,
    /// The first good signer: `2026.2/Hibiscus (0x231F942F608DDEFF)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(flatten)]
    pub by: SignedBy,
    /// Distinct certificates with a good signature, and how many the
    /// policy needs.
    pub good_signers: usize,
    pub signers_needed: usize,
    /// Every signature in the file.
    pub signatures: Vec<SigReport>,
    /// Where the verified text of a cleartext-signed file was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

impl Verdict {
    pub(super) fn new(file: String, signature: String, needed: usize) -> Verdict {
        Verdict {
            file,
            signature,
            cleartext: false,
            good: false,
            fault: Fault::default(),
            key: None,
            by: SignedBy::default(),
            good_signers: 0,
            signers_needed: needed,
            signatures: Vec::new(),
            output: None,
        }
    }

    /// Judge the reports: good when enough distinct certificates signed.
    pub(super) fn judge(&mut self, reports: Vec<SigReport>) {
        let mut certs: Vec<&str> = Vec::new();
        for r in reports.iter().filter(|r| r.good) {
            if let Some(f) = r.by.fingerprint.as_deref() {
                if !certs.contains(&f) {
                    certs.push(f);
                }
            }
        }
        self.good_signers = certs.len();
        self.good = self.good_signers >= self.signers_needed;
        if let Some(g) = reports.iter().find(|r| r.good) {
            self.key = g.signer.clone();
            self.by = g.by.clone();
        }
        let first_bad = reports.iter().find(|r| !r.good);
        self.fault.hint = first_bad.and_then(|r| r.fault.hint.clone());
        self.fault.reason = if self.good {
            String::new()
        } else if self.good_signers > 0 || self.signers_needed > 1 {
            self.fault.hint =
                Some("add the other signers' certificates with --cert, or lower --signers".into());
            format!(
                "{} of {} signatures good, from {} distinct certificates; --signers {} needs {}",
                reports.iter().filter(|r| r.good).count(),
                reports.len(),
                self.good_signers,
                self.signers_needed,
                self.signers_needed
            )
        } else {
            match (reports.len(), first_bad) {
                (_, None) => "no signature in the file".into(),
                (1, Some(b)) => b.fault.reason.clone(),
                (n, Some(b)) => format!("none of its {n} signatures is good: {}", b.fault.reason),
            }
        };
        self.signatures = reports;
    }
}

/// Run the verifier (`run(as_of)`), judge, and when signatures failed for
/// SHA-1 binding signatures, check whether `--policy-as-of` their date
/// makes them good — then say so with the date.
pub(super) fn finish<F>(v: &mut Verdict, opts: &Options, mut run: F)
where
    F: FnMut(Option<Time>) -> std::result::Result<Vec<SigReport>, String>,
{
    let mut reports = match run(opts.as_of) {
        Ok(r) => r,
        Err(reason) => {
            v.fault.reason = reason;
            return;
        }
    };
    let suspect = reports
        .iter()
        .filter(|r| r.sha1_binding && !r.good)
        .filter_map(|r| r.by.signed_at)
        .min();
    let good = |rs: &[SigReport]| {
        let mut probe = Verdict::new(String::new(), String::new(), opts.signers);
        probe.judge(rs.to_vec());
        probe.good
    };
    if let Some(t) = suspect.filter(|_| !good(&reports)) {
        let day_t = clock::start_of_day(t.date_naive());
        if opts.as_of.is_none_or(|a| a > day_t) {
            if let Ok(again) = run(Some(day_t)) {
                let day = clock::day(day_t);
                for r in reports.iter_mut().filter(|r| r.sha1_binding && !r.good) {
                    match again.iter().find(|a| a.same_signature(r)) {
                        Some(a) if a.good => {
                            let cutoff = cutoff_date(&r.detail);
                            r.confirm_sha1(&day, &cutoff);
                        }
                        Some(a) => r.still_bad(&day, a),
                        None => {}
                    }
                }
            }
        }
    }
    v.judge(reports);
}
