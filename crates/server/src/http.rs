//! The HTTP/1 listener of `yiwang serve`: one task per connection, with the limits that keep idle and
//! slow clients from holding the server (slowloris), and a graceful shutdown that lets requests in
//! flight finish.
//!
//! * **Header-read timeout** (hyper's): a client must deliver a complete request head within
//!   [`ConnectionLimits::header_read_timeout`] of the server starting to wait for it. Trickling a byte
//!   at a time does not extend it, and because the wait for the next request on a keep-alive
//!   connection counts too, an idle keep-alive connection is closed after the same time.
//! * **Idle timeout**: a connection on which no byte is read or written for
//!   [`ConnectionLimits::idle_timeout`] is dropped — a stalled upload, or a client that stops reading
//!   its response. Handlers themselves are bounded by the router's 60-second request timeout, and
//!   live streams send keep-alive events, so a working request is never idle that long.
//!
//! * **Client address**: each request carries the TCP peer (`ConnectInfo`) and the client's address
//!   as resolved through the configured trusted proxies ([`ClientAddr`], see [`crate::proxy`]), which
//!   is what throttles and audit entries use.
//!
//! axum's own `serve` has neither limit and no way to set them, hence this loop.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt as _;
use yiwang_web::auth::ClientAddr;

use crate::proxy::TrustedProxies;

/// Limits on each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Serve `app` on `listener` until `shutdown` resolves; then accept nothing more, let the requests
/// in flight finish (idle connections close at once) and return when every connection is done.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    proxies: Arc<TrustedProxies>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(
                        stream,
                        peer,
                        app.clone(),
                        limits,
                        Arc::clone(&proxies),
                        stop_rx.clone(),
                    ));
                }
                // Running out of file descriptors and the like pass; a busy loop would not help.
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            // Reap finished connections so the set does not grow with the server's uptime.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    proxies: Arc<TrustedProxies>,
    mut stop: watch::Receiver<bool>,
) {
    let clock = Instant::now();
    let activity = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(Watched {
        inner: stream,
        since: clock,
        activity: Arc::clone(&activity),
    });
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let client = proxies.client_addr(peer.ip(), request.headers());
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(ClientAddr(client));
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.oneshot(request).await.unwrap_or_else(|e| match e {})) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut stopping = false;
    loop {
        let last = Duration::from_millis(activity.load(Ordering::Relaxed));
        let idle_until = clock + last + limits.idle_timeout;
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, %peer, "connection ended with an error");
                }
                return;
            }
            changed = stop.wait_for(|stopped| *stopped), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    connection.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep_until(idle_until) => {
                // Activity may have moved the deadline while this sleep ran.
                let last = Duration::from_millis(activity.load(Ordering::Relaxed));
                if Instant::now() >= clock + last + limits.idle_timeout {
                    tracing::info!(%peer, "closing an idle connection");
                    return;
                }
            }
        }
    }
}

/// A socket that records when a byte last moved, in milliseconds after `since`.
struct Watched {
    inner: TcpStream,
    since: Instant,
    activity: Arc<AtomicU64>,
}

impl Watched {
    fn touch(&self) {
        let millis = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.activity.store(millis, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::routing::{get, post};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::oneshot;

    use super::*;

    const LIMITS: ConnectionLimits = ConnectionLimits {
        header_read_timeout: Duration::from_millis(400),
        idle_timeout: Duration::from_millis(600),
    };

    /// A server with a slow route and one that reads a body, stopped through the returned sender.
    async fn start() -> (
        SocketAddr,
        oneshot::Sender<()>,
        tokio::task::JoinHandle<io::Result<()>>,
    ) {
        start_with(TrustedProxies::default()).await
    }

    async fn start_with(
        proxies: TrustedProxies,
    ) -> (
        SocketAddr,
        oneshot::Sender<()>,
        tokio::task::JoinHandle<io::Result<()>>,
    ) {
        let app =
            Router::new()
                .route("/", get(|| async { "ok" }))
                .route(
                    "/who",
                    get(
                        |yiwang_web::auth::Client(meta): yiwang_web::auth::Client| async move {
                            meta.ip
                        },
                    ),
                )
                .route(
                    "/slow",
                    get(|| async {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        "done"
                    }),
                )
                .route("/echo", post(|body: String| async move { body }));
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, app, LIMITS, Arc::new(proxies), async {
            let _ = stopped.await;
        }));
        (addr, stop, server)
    }

    /// Read until the server closes the connection; what it sent, and how long that took.
    async fn read_to_close(stream: &mut TcpStream) -> (String, Duration) {
        let began = Instant::now();
        let mut bytes = Vec::new();
        // A reset counts as a close too, so the read's own result does not matter.
        let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
            .await
            .expect("the server closes the connection");
        (
            String::from_utf8_lossy(&bytes).into_owned(),
            began.elapsed(),
        )
    }

    async fn who(addr: SocketAddr, forwarded_for: &str) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET /who HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: {forwarded_for}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let (response, _) = read_to_close(&mut stream).await;
        response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_client_address_is_forwarded_only_by_trusted_proxies() {
        let (addr, _stop, _server) = start().await;
        assert_eq!(
            who(addr, "198.51.100.7").await,
            "127.0.0.1",
            "nobody trusted"
        );
        let trusted =
            TrustedProxies::parse(&["127.0.0.1"], crate::proxy::ForwardedHeader::XForwardedFor)
                .unwrap();
        let (addr, _stop, _server) = start_with(trusted).await;
        assert_eq!(who(addr, "6.6.6.6, 198.51.100.7").await, "198.51.100.7");
        let elsewhere = TrustedProxies::parse(
            &["10.0.0.0/8"],
            crate::proxy::ForwardedHeader::XForwardedFor,
        )
        .unwrap();
        let (addr, _stop, _server) = start_with(elsewhere).await;
        assert_eq!(
            who(addr, "198.51.100.7").await,
            "127.0.0.1",
            "the peer is no proxy"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slow_request_head_is_cut_off() {
        let (addr, _stop, _server) = start().await;
        // Taken before connecting, so the server's clock cannot have started earlier.
        let began = Instant::now();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        // A byte every 100 ms: progress does not extend the header-read timeout.
        let head = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
        let mut closed = false;
        for byte in head.iter().chain(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter()) {
            if stream.write_all(&[*byte]).await.is_err() {
                closed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut probe = [0_u8; 64];
            if let Ok(Ok(0) | Err(_)) =
                tokio::time::timeout(Duration::from_millis(1), stream.read(&mut probe)).await
            {
                closed = true;
                break;
            }
        }
        let elapsed = began.elapsed();
        assert!(closed, "the server waited for a head sent over {elapsed:?}");
        assert!(elapsed >= LIMITS.header_read_timeout, "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_idle_keep_alive_connection_is_closed() {
        let (addr, _stop, _server) = start().await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let (response, elapsed) = read_to_close(&mut stream).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("ok"), "{response}");
        assert!(elapsed < Duration::from_secs(3), "closed after {elapsed:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stalled_upload_is_closed() {
        let (addr, _stop, _server) = start().await;
        let began = Instant::now();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(
                b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nonly part",
            )
            .await
            .unwrap();
        let (response, _) = read_to_close(&mut stream).await;
        // Longer than the header-read timeout: the head was complete, the body stalled.
        let elapsed = began.elapsed();
        assert!(
            elapsed >= LIMITS.idle_timeout && elapsed < Duration::from_secs(3),
            "closed after {elapsed:?}"
        );
        assert!(!response.contains("only part"), "{response}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_lets_requests_in_flight_finish() {
        let (addr, stop, server) = start().await;
        let mut busy = TcpStream::connect(addr).await.unwrap();
        busy.write_all(b"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        // An idle keep-alive connection must not hold the shutdown up.
        let mut idle = TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut first = [0_u8; 17];
        idle.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"HTTP/1.1 200 OK\r\n");
        tokio::time::sleep(Duration::from_millis(150)).await;
        stop.send(()).unwrap();
        let (response, _) = read_to_close(&mut busy).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("done"), "{response}");
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the server stops once the request is answered")
            .unwrap()
            .unwrap();
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "nothing is accepted after shutdown"
        );
    }
}
