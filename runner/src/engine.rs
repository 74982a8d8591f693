//! The connection to the Docker engine, made lazily: the server starts without an engine and
//! starts working as soon as one answers.

use crate::{ConnectError, EngineTls};
use bollard::{Docker, API_DEFAULT_VERSION};
use std::time::Duration;
use tokio::sync::OnceCell;

/// How long to wait for the engine to answer the version handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// Per-request timeout of the client, in seconds; runs stay far below it.
const REQUEST_TIMEOUT_SECS: u64 = 600;

pub(crate) struct Engine {
    /// `unix:///path` (or a plain path), or `tcp://host:port`; `None` means `DOCKER_HOST` or
    /// the default socket.
    host: Option<String>,
    /// The client certificate for a `tcp://` engine.
    tls: Option<EngineTls>,
    negotiated: OnceCell<Docker>,
}

impl Engine {
    pub(crate) fn new(host: Option<String>, tls: Option<EngineTls>) -> Self {
        Self {
            host,
            tls,
            negotiated: OnceCell::new(),
        }
    }

    /// A client that agreed on an API version with the engine, so old engines (Debian's 20.10)
    /// and new ones both work. Until the first handshake succeeds, every call tries again
    /// (bollard checks that the socket exists when the client is made, so that is lazy too).
    pub(crate) async fn docker(&self) -> Result<Docker, ConnectError> {
        self.negotiated
            .get_or_try_init(|| async {
                let client = match &self.host {
                    Some(host) if host.starts_with("tcp://") || host.starts_with("https://") => {
                        match &self.tls {
                            Some(tls) => Docker::connect_with_ssl(
                                host,
                                &tls.key,
                                &tls.cert,
                                &tls.ca,
                                REQUEST_TIMEOUT_SECS,
                                API_DEFAULT_VERSION,
                            ),
                            None => {
                                Docker::connect_with_http(host, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
                            }
                        }
                    }
                    Some(host) => {
                        let path = host.strip_prefix("unix://").unwrap_or(host);
                        Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
                    }
                    None => Docker::connect_with_local_defaults(),
                }
                .map_err(|error| ConnectError::Unreachable(error.to_string()))?;
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, client.negotiate_version()).await {
                    Ok(Ok(docker)) => Ok(docker),
                    Ok(Err(error)) => Err(ConnectError::Unreachable(error.to_string())),
                    Err(_) => Err(ConnectError::Unreachable("no answer within 3 s".into())),
                }
            })
            .await
            .cloned()
    }
}
