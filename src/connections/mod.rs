//! The connection loop under the router: HTTP/1.1 on each accepted socket,
//! with a cap on open connections, a deadline for each request head (which
//! also ends idle keep-alive connections), a deadline between two pieces of a
//! request body, and a shutdown that lets requests in flight finish within a
//! grace period.
//!
//! A client that sends its head a byte at a time (slowloris), or opens
//! connections and says nothing, holds a slot for at most the head timeout,
//! and one address holds at most `MAX_CONNECTIONS_PER_CLIENT` slots: its
//! connections beyond that are closed at once. Past the overall cap, new
//! connections wait in the kernel's accept queue instead of costing memory or
//! file descriptors. Loopback addresses are not counted per client: there
//! sits a local reverse proxy, which carries everyone's requests.
//!
//! A connection ends the lingering way ([`linger`]): a response sent before
//! its request's body was read is not lost to a reset.

mod linger;

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

/// How long `accept` backs off after failing (say, out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Bounds on what clients may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections open at once from one address (loopback excepted).
    pub max_per_client: usize,
    /// From the first byte of a request head (or the end of the previous
    /// response) to its last.
    pub header_timeout: Duration,
    /// The longest pause between two pieces of a request body.
    pub body_timeout: Duration,
    /// How long a shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 512,
            max_per_client: 64,
            header_timeout: Duration::from_secs(15),
            body_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops
/// accepting, lets the requests in flight finish for up to the grace period,
/// and cuts the rest.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_client = PerClient::new(limits.max_per_client);
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(client_slot) = per_client.enter(peer.ip()) else {
            tracing::debug!(%peer, "closed: this address holds its share of connections");
            continue;
        };
        let _ = socket.set_nodelay(true);
        let body_timeout = limits.body_timeout;
        let service = router
            .clone()
            .map_request(move |request: Request<Incoming>| {
                let mut request =
                    request.map(|body| Body::new(TimeoutBody::new(body_timeout, body)));
                // What `ConnectInfo<SocketAddr>` extracts: per-client budgets use it.
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = http.serve_connection(
            TokioIo::new(linger::Lingering::new(socket)),
            TowerToHyperService::new(service),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop((slot, client_slot));
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("every request in flight has finished"),
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(grace = ?limits.shutdown_grace, "requests still running after the grace period are cut off");
        }
    }
}

/// Open connections per client address.
#[derive(Clone)]
struct PerClient {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection counted against its address; uncounted when dropped.
struct ClientSlot {
    counted: Option<(IpAddr, PerClient)>,
}

impl PerClient {
    fn new(max: usize) -> PerClient {
        PerClient {
            max,
            open: Arc::default(),
        }
    }

    /// Counts a connection from `address`, or `None` if it already holds its share.
    fn enter(&self, address: IpAddr) -> Option<ClientSlot> {
        if address.to_canonical().is_loopback() {
            return Some(ClientSlot { counted: None });
        }
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(address).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            counted: Some((address, self.clone())),
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let Some((address, clients)) = self.counted.take() else {
            return;
        };
        let mut open = clients
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_holds_at_most_its_share_and_gets_it_back() {
        let clients = PerClient::new(2);
        let stranger: IpAddr = "192.0.2.7".parse().unwrap();
        let first = clients.enter(stranger).expect("the first");
        let _second = clients.enter(stranger).expect("the second");
        assert!(clients.enter(stranger).is_none(), "a third is refused");
        assert!(
            clients.enter("192.0.2.8".parse().unwrap()).is_some(),
            "others are not"
        );
        drop(first);
        assert!(
            clients.enter(stranger).is_some(),
            "a closed one frees its place"
        );
    }

    #[test]
    fn loopback_is_not_counted_per_client() {
        let clients = PerClient::new(1);
        let held: Vec<_> = ["127.0.0.1", "::1", "::ffff:127.0.0.1", "127.0.0.1"]
            .iter()
            .map(|address| clients.enter(address.parse().unwrap()))
            .collect();
        assert!(held.iter().all(Option::is_some));
        assert!(clients.open.lock().unwrap().is_empty());
    }
}
