//! The HTTP client of the scenarios that drive the in-process server: one pooled client, JSON
//! bodies, bearer tokens, and the wait for the server's health check.

use std::time::{Duration, Instant};

use anyhow::bail;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// How long the server may take to answer its health check after start.
pub const READY_TIMEOUT: Duration = Duration::from_mins(2);

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A pooled client of one server.
#[derive(Debug, Clone)]
pub struct Http {
    client: HttpClient,
    pub base: String,
}

impl Http {
    /// A client of `base` (`http://127.0.0.1:<port>`) keeping up to `idle` connections.
    pub fn new(base: &str, idle: usize) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(idle)
                .build_http(),
            base: base.to_owned(),
        }
    }

    /// One request with an optional bearer token and JSON body; the status and the body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Bytes)> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let bytes = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Bytes::from(serde_json::to_vec(json)?)
            }
            None => Bytes::new(),
        };
        let response = self.client.request(request.body(Full::new(bytes))?).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Wait until `/healthz` answers 200, failing when the server task ended or after
    /// [`READY_TIMEOUT`].
    pub async fn wait_ready(
        &self,
        server: &tokio::task::JoinHandle<anyhow::Result<()>>,
    ) -> anyhow::Result<()> {
        let began = Instant::now();
        loop {
            if server.is_finished() {
                bail!("the server stopped before it was ready");
            }
            match self.call(Method::GET, "/healthz", None, None).await {
                Ok((200, _)) => return Ok(()),
                _ if began.elapsed() < READY_TIMEOUT => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                _ => bail!("the server did not become ready"),
            }
        }
    }
}

/// The first 300 bytes of a body, for error messages.
pub fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()
}
