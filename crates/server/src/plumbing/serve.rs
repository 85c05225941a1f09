//! The accept loop: axum's router on hyper, with what `axum::serve` does not offer: a deadline
//! for request headers (a client that trickles its headers, or connects and says nothing, is
//! dropped instead of holding a connection forever) and `TCP_NODELAY`. Shutting down stops
//! accepting, lets requests in flight finish, and gives up on connections after 30 seconds.
//! A [`FastPath`] answers what needs no middleware (the public status page, from memory)
//! before the router sees the request.

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use futures::future::{Either, Ready, ready};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Whether the client reached us over HTTPS (through a trusted proxy that said so).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Https(pub bool);

/// The client's address and whether it used HTTPS: from a trusted proxy, the nearest
/// `X-Forwarded-For` address that is not a trusted proxy (proxies append, so addresses to
/// the left are whatever the client claimed) and the nearest `X-Forwarded-Proto`; from
/// anyone else, the connection's own address and no HTTPS.
pub fn forwarded(trusted: &[IpAddr], peer: SocketAddr, headers: &HeaderMap) -> (SocketAddr, bool) {
    if !trusted.contains(&peer.ip()) {
        return (peer, false);
    }
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let client = values("x-forwarded-for")
        .iter()
        .rev()
        .map(|v| v.parse::<IpAddr>().ok())
        .take_while(Option::is_some)
        .flatten()
        .find(|ip| !trusted.contains(ip))
        .map_or(peer, |ip| SocketAddr::new(ip, 0));
    let https = values("x-forwarded-proto")
        .last()
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    (client, https)
}

/// Answers a request from memory, or `None` to hand it to the router: for the answers a crowd
/// asks for (the public status page), which carry their own headers and need no session,
/// limit or body.
pub type FastPath = Arc<dyn Fn(&Method, &Uri, &HeaderMap) -> Option<Response> + Send + Sync>;

/// The router behind the fast path.
#[derive(Clone)]
struct Front<S> {
    fast: Option<FastPath>,
    inner: S,
}

impl<S, B> tower::Service<axum::http::Request<B>> for Front<S>
where
    S: tower::Service<axum::http::Request<B>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        if let Some(answer) = self
            .fast
            .as_ref()
            .and_then(|fast| fast(req.method(), req.uri(), req.headers()))
        {
            return Either::Left(ready(Ok(answer)));
        }
        Either::Right(self.inner.call(req))
    }
}

/// How long shutting down waits for open connections.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until `shutdown` is cancelled, `fast` answering first.
///
/// # Errors
/// Never at present: accept errors (out of file descriptors) are logged and retried.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    fast: Option<FastPath>,
    header_timeout: Duration,
    trusted_proxies: Arc<[IpAddr]>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .writev(false)
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or the like: back off briefly rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let proxies = trusted_proxies.clone();
        let routed = router.clone().map_request(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                let (client, https) = forwarded(&proxies, peer, req.headers());
                req.extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(client));
                req.extensions_mut().insert(Https(https));
                req.map(axum::body::Body::new)
            },
        );
        let service = Front {
            fast: fast.clone(),
            inner: routed,
        };
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN:?}; closing them");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_trusted_proxies_are_believed() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let peer = SocketAddr::new(proxy, 5555);
        let stranger: SocketAddr = "203.0.113.9:4444".parse().unwrap();
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1, 198.51.100.7"),
            ("x-forwarded-proto", "https"),
        ]);
        // A stranger's headers are ignored.
        assert_eq!(forwarded(&[proxy], stranger, &h), (stranger, false));
        // From the proxy: the address it appended (the spoofable left part is not taken).
        let (client, https) = forwarded(&[proxy], peer, &h);
        assert_eq!(client.ip().to_string(), "198.51.100.7");
        assert!(https);
        // Chained proxies are skipped; garbage ends the walk at the proxy itself.
        let h = headers(&[("x-forwarded-for", "198.51.100.7, 10.0.0.2")]);
        assert_eq!(
            forwarded(&[proxy], peer, &h).0.ip().to_string(),
            "198.51.100.7"
        );
        let h = headers(&[("x-forwarded-for", "198.51.100.7, nonsense")]);
        assert_eq!(forwarded(&[proxy], peer, &h), (peer, false));
        assert_eq!(forwarded(&[proxy], peer, &HeaderMap::new()), (peer, false));
    }
}
