//! The enterprise register (市场主体登记) a claim to represent an enterprise is checked against.
//!
//! Registering an enterprise is not trust-on-first-use: [`Accounts::register_enterprise`] asks the
//! configured [`EnterpriseRegister`] whether the caller (name and resident ID from the account) is the
//! legal representative of the code. Confirmed → the enterprise is created; the register names someone
//! else → refused; the register does not list the code or cannot be reached → the claim is held for a
//! clerk's check. Without a configured register ([`NoRegister`]) every claim waits for a clerk.
//!
//! [`StaticRegister`] serves register data from memory (the demo's extract, tests); [`HttpRegister`]
//! asks a register service over HTTP (see `docs/api.md`, "Enterprise register verifier").

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use yiwang_kernel::{ResidentId, Uscc};

/// What is asked of the register.
#[derive(Debug, Clone, Copy)]
pub struct RegisterQuery<'a> {
    pub uscc: &'a Uscc,
    /// The enterprise name as the claimant typed it (the register's own name wins when confirmed).
    pub name: &'a str,
    pub representative_name: &'a str,
    pub representative_id: &'a ResidentId,
}

/// The register's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterVerdict {
    /// The register lists this person as the legal representative of the code, under `name`.
    Confirmed { name: String },
    /// The register lists the code with another legal representative.
    Mismatch,
    /// The register does not list the code.
    NotListed,
}

/// The register could not answer (unreachable, timed out, malformed answer); the claim waits for a clerk.
#[derive(Debug, Clone, thiserror::Error)]
#[error("enterprise register: {0}")]
pub struct RegisterError(pub String);

pub type RegisterFuture<'a> =
    Pin<Box<dyn Future<Output = Result<RegisterVerdict, RegisterError>> + Send + 'a>>;

/// A source of truth on who represents an enterprise.
pub trait EnterpriseRegister: Send + Sync + fmt::Debug {
    fn check<'a>(&'a self, query: RegisterQuery<'a>) -> RegisterFuture<'a>;
}

/// No register configured: every claim is held for a clerk.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRegister;

impl EnterpriseRegister for NoRegister {
    fn check<'a>(&'a self, _query: RegisterQuery<'a>) -> RegisterFuture<'a> {
        Box::pin(async { Err(RegisterError("no register is configured".to_owned())) })
    }
}

/// One entry of register data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterEntry {
    pub uscc: String,
    pub name: String,
    pub representative_name: String,
    pub representative_id: String,
}

/// Register data held in memory.
#[derive(Clone, Default)]
pub struct StaticRegister {
    entries: HashMap<String, RegisterEntry>,
}

impl fmt::Debug for StaticRegister {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticRegister")
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl StaticRegister {
    /// Entries with an unparsable code or resident ID are refused, naming the entry.
    pub fn new(entries: Vec<RegisterEntry>) -> Result<Self, RegisterError> {
        let mut map = HashMap::with_capacity(entries.len());
        for entry in entries {
            let uscc = Uscc::parse(&entry.uscc)
                .map_err(|e| RegisterError(format!("entry {}: {e}", entry.uscc)))?;
            ResidentId::parse(&entry.representative_id)
                .map_err(|e| RegisterError(format!("entry {}: {e}", entry.uscc)))?;
            map.insert(uscc.as_str().to_owned(), entry);
        }
        Ok(Self { entries: map })
    }
}

fn compare(entry: &RegisterEntry, query: RegisterQuery<'_>) -> RegisterVerdict {
    let same_person = ResidentId::parse(&entry.representative_id)
        .is_ok_and(|id| id.as_str() == query.representative_id.as_str())
        && entry.representative_name.trim() == query.representative_name.trim();
    if same_person {
        RegisterVerdict::Confirmed {
            name: entry.name.clone(),
        }
    } else {
        RegisterVerdict::Mismatch
    }
}

impl EnterpriseRegister for StaticRegister {
    fn check<'a>(&'a self, query: RegisterQuery<'a>) -> RegisterFuture<'a> {
        let verdict = self
            .entries
            .get(query.uscc.as_str())
            .map_or(RegisterVerdict::NotListed, |entry| compare(entry, query));
        Box::pin(async move { Ok(verdict) })
    }
}

/// A register service reached over HTTP: `POST <url>` with a JSON [`HttpRegisterRequest`], answered
/// with a JSON [`HttpRegisterAnswer`]. Plain `http://` only: run it on the register's private network
/// or behind a local TLS-terminating gateway.
#[derive(Clone)]
pub struct HttpRegister {
    url: hyper::Uri,
    bearer: Option<String>,
    timeout: Duration,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl fmt::Debug for HttpRegister {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRegister")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The body sent to an HTTP register.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpRegisterRequest {
    pub uscc: String,
    pub name: String,
    pub representative_name: String,
    pub representative_id: String,
}

/// The answer of an HTTP register: `result` is `confirmed` (with the registered `name`), `mismatch`
/// or `not_listed`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpRegisterAnswer {
    pub result: String,
    #[serde(default)]
    pub name: Option<String>,
}

impl HttpRegister {
    /// `url` must be `http://…`; `bearer`, when set, is sent as `Authorization: Bearer …`.
    pub fn new(
        url: &str,
        bearer: Option<String>,
        timeout: Duration,
    ) -> Result<Self, RegisterError> {
        let url: hyper::Uri = url
            .parse()
            .map_err(|e| RegisterError(format!("register URL {url:?}: {e}")))?;
        if url.scheme_str() != Some("http") || url.host().is_none() {
            return Err(RegisterError(format!(
                "register URL {url}: only http://host/… is supported"
            )));
        }
        Ok(Self {
            url,
            bearer,
            timeout,
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    async fn ask(&self, query: RegisterQuery<'_>) -> Result<RegisterVerdict, RegisterError> {
        let body = serde_json::to_vec(&HttpRegisterRequest {
            uscc: query.uscc.as_str().to_owned(),
            name: query.name.to_owned(),
            representative_name: query.representative_name.to_owned(),
            representative_id: query.representative_id.as_str().to_owned(),
        })
        .map_err(|e| RegisterError(e.to_string()))?;
        let mut request = hyper::Request::post(self.url.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json");
        if let Some(bearer) = &self.bearer {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {bearer}"));
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| RegisterError(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| RegisterError(format!("request failed: {e}")))?;
        if !response.status().is_success() {
            return Err(RegisterError(format!("answered {}", response.status())));
        }
        // A register answer is a few dozen bytes; anything much longer is not one.
        let body = http_body_util::Limited::new(response.into_body(), 16 * 1024)
            .collect()
            .await
            .map_err(|e| RegisterError(format!("reading the answer: {e}")))?
            .to_bytes();
        let answer: HttpRegisterAnswer = serde_json::from_slice(&body)
            .map_err(|e| RegisterError(format!("malformed answer: {e}")))?;
        match (answer.result.as_str(), answer.name) {
            ("confirmed", Some(name)) if !name.trim().is_empty() => {
                Ok(RegisterVerdict::Confirmed {
                    name: name.trim().to_owned(),
                })
            }
            ("mismatch", _) => Ok(RegisterVerdict::Mismatch),
            ("not_listed", _) => Ok(RegisterVerdict::NotListed),
            (other, _) => Err(RegisterError(format!("unknown result {other:?}"))),
        }
    }
}

impl EnterpriseRegister for HttpRegister {
    fn check<'a>(&'a self, query: RegisterQuery<'a>) -> RegisterFuture<'a> {
        Box::pin(async move {
            tokio::time::timeout(self.timeout, self.ask(query))
                .await
                .map_err(|_| RegisterError(format!("no answer within {:?}", self.timeout)))?
        })
    }
}
