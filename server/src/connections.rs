//! The server's accept loop and the limits on connections (SECURITY.md, "Idle and half-sent
//! connections"): how long a client may take to send a request head, how long a response may
//! wait for a client that stopped reading, and how many connections are open at once, over all
//! and per client address. axum's `serve` cannot set these (its hyper builder has no timer, so
//! no header timeout), so the loop is hyper's own, with axum's router and `ConnectInfo`, and
//! the same graceful shutdown.

use axum::body::Body;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_io_timeout::TimeoutStream;
use tower::{Service, ServiceExt};

/// Time and count limits for client connections.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// From the moment a connection opens, or its previous response is sent, until the request
    /// head is complete: the header timeout and the idle keep-alive timeout in one (hyper
    /// starts the same clock for both).
    pub header_timeout: Duration,
    /// From the end of the request head until the body is complete.
    pub body_timeout: Duration,
    /// How long one write of the response may wait for a client that does not read.
    pub write_timeout: Duration,
    /// Open connections over all clients.
    pub max_connections: usize,
    /// Open connections per client address (IPv6: per /64, what one client usually gets);
    /// `None` for no per-address limit (behind a reverse proxy every client is the proxy).
    pub max_connections_per_ip: Option<usize>,
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, lets the
/// requests in flight finish and closes idle connections, as `axum::serve(…)
/// .with_graceful_shutdown` does. Handlers see the client's `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut make_service: IntoMakeServiceWithConnectInfo<Router, SocketAddr> =
        router.into_make_service_with_connect_info::<SocketAddr>();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let counter = ClientCounter::new(limits.max_connections, limits.max_connections_per_ip);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    wait_after_accept_error(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Over a cap, the connection is closed at once: cheaper for both sides than a 503.
        let place = match counter.admit(peer.ip()) {
            Ok(place) => place,
            Err(over) => {
                tracing::debug!(%peer, "too many connections: closed at once");
                crate::metrics::refused(match over {
                    Over::Total => crate::metrics::Cap::MaxConnections,
                    Over::PerClient => crate::metrics::Cap::MaxConnectionsPerIp,
                });
                continue;
            }
        };
        // Results stream line by line: no waiting for more to fill a packet.
        let _ = stream.set_nodelay(true);
        // No read timeout: a streaming run legitimately reads nothing for its whole length.
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(Some(limits.write_timeout));
        let io = TokioIo::new(Box::pin(stream));

        let service = ServiceExt::<SocketAddr>::ready(&mut make_service)
            .await
            .unwrap_or_else(|never| match never {})
            .call(peer)
            .await
            .unwrap_or_else(|never| match never {})
            .map_request(|request: Request<Incoming>| request.map(Body::new));
        let connection = graceful.watch(http.serve_connection(io, TowerToHyperService::new(service)));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended");
            }
            drop(place);
        });
    }

    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// As axum's `serve`: errors of one connection are the client's business; others (out of file
/// descriptors) would repeat at once, so the loop pauses before accepting again.
async fn wait_after_accept_error(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept connections; trying again in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Open connections, over all and per client address.
/// Things a client has open (connections, runs in flight), counted per client address under
/// a cap per client and one over all.
#[derive(Clone)]
pub(crate) struct ClientCounter {
    counts: Arc<Mutex<Counts>>,
    max_total: usize,
    max_per_client: Option<usize>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

/// One thing's place in the count; given back when dropped.
pub(crate) struct Place {
    counter: ClientCounter,
    client: IpAddr,
    weight: usize,
}

/// Which cap a [`ClientCounter`] refused at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Over {
    Total,
    PerClient,
}

impl ClientCounter {
    pub(crate) fn new(max_total: usize, max_per_client: Option<usize>) -> Self {
        Self {
            counts: Arc::default(),
            max_total,
            max_per_client,
        }
    }

    /// A place for one more from `ip`, or the cap that refuses it.
    pub(crate) fn admit(&self, ip: IpAddr) -> Result<Place, Over> {
        self.admit_many(ip, 1)
    }

    /// A place counted as `weight` things of `ip`'s (say a run's versions), or the cap it
    /// would go over; a weight above the per-client cap counts as the cap, so that one large
    /// thing still fits alone.
    pub(crate) fn admit_many(&self, ip: IpAddr, weight: usize) -> Result<Place, Over> {
        let weight = weight.max(1).min(self.max_per_client.unwrap_or(usize::MAX));
        let client = client_key(ip);
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let of_client = counts.per_client.get(&client).copied().unwrap_or(0);
        let over = |count: usize, max: usize| count.saturating_add(weight) > max;
        if over(counts.total, self.max_total) {
            return Err(Over::Total);
        }
        if self.max_per_client.is_some_and(|max| over(of_client, max)) {
            return Err(Over::PerClient);
        }
        counts.total += weight;
        counts.per_client.insert(client, of_client + weight);
        Ok(Place {
            counter: self.clone(),
            client,
            weight,
        })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut counts = self
            .counter
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        counts.total -= self.weight;
        if let Some(count) = counts.per_client.get_mut(&self.client) {
            *count -= self.weight;
            if *count == 0 {
                counts.per_client.remove(&self.client);
            }
        }
    }
}

/// The address a client is counted under: IPv4 as it is (also when mapped into IPv6), IPv6 by
/// its /64 network, since one client usually holds a whole /64.
pub(crate) fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(network.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_counted_per_client_and_over_all_and_given_back() {
        let counter = ClientCounter::new(3, Some(2));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "::ffff:10.0.0.2".parse().unwrap();
        let first = counter.admit(a).unwrap();
        let _second = counter.admit(a).unwrap();
        assert!(counter.admit(a).is_err(), "a third from one client");
        let _third = counter.admit(b).unwrap();
        assert!(
            counter.admit("10.0.0.9".parse().unwrap()).is_err(),
            "a fourth over all"
        );
        drop(first);
        assert!(counter.admit(a).is_ok());
    }

    #[test]
    fn weighty_places_count_as_their_weight_and_one_over_the_cap_fits_alone() {
        let counter = ClientCounter::new(usize::MAX, Some(8));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let five = counter.admit_many(a, 5).unwrap();
        assert!(counter.admit_many(a, 4).is_err(), "9 of 8");
        let three = counter.admit_many(a, 3).unwrap();
        assert!(counter.admit(a).is_err());
        drop((five, three));
        let huge = counter.admit_many(a, 100).expect("counts as the whole share");
        assert!(counter.admit(a).is_err());
        drop(huge);
        assert!(counter.admit(a).is_ok());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_network_and_mapped_ipv4_as_ipv4() {
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(client_key(one), client_key(other));
        assert_ne!(client_key(one), client_key("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(
            client_key("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }
}
