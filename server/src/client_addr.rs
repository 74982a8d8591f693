//! Who a client is, for the per-client quotas: the TCP peer, or, when the peer is a trusted
//! reverse proxy (`--trusted-proxies`), the address the proxies say they forwarded for. Only a
//! trusted proxy's word counts: a client cannot pick its own address by sending the headers.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;

/// The networks whose connections are reverse proxies that tell the client's address.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|network| network.contains(&ip))
    }

    /// The client of a request that came from `peer`: `peer` itself unless it is trusted; else
    /// the last address in the forwarding chain (`X-Forwarded-For`, or `Forwarded: for=`) that
    /// is not a trusted proxy. Each proxy appends the address it received from, so the entries
    /// left of that one may be anything the client wrote.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let chain = forwarded_for(headers);
        chain
            .iter()
            .rev()
            .find(|ip| !self.trusts(**ip))
            .or(chain.first())
            .copied()
            .unwrap_or(peer)
    }
}

/// The addresses of the forwarding chain, first (the original client, as claimed) to last.
/// `X-Forwarded-For` when present, else the standard `Forwarded` header's `for=` parameters.
/// Entries that are not addresses (`unknown`, obfuscated names) end the chain there: nothing
/// left of them can be placed.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    let values = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .map(str::to_owned)
            .collect::<Vec<String>>()
    };
    let mut entries = values("x-forwarded-for");
    if entries.is_empty() {
        entries = values("forwarded")
            .iter()
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, value) = pair.trim().split_once('=')?;
                    key.eq_ignore_ascii_case("for")
                        .then(|| value.trim_matches('"').to_owned())
                })
            })
            .collect();
    }
    let mut chain = Vec::new();
    for entry in entries.iter().rev() {
        match parse_address(entry) {
            Some(ip) => chain.push(ip),
            None => break,
        }
    }
    chain.reverse();
    chain
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`.
fn parse_address(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    if let Some(bracketed) = entry.strip_prefix('[') {
        return bracketed.split(']').next()?.parse().ok();
    }
    entry.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn proxies(networks: &[&str]) -> TrustedProxies {
        TrustedProxies::new(networks.iter().map(|n| n.parse().unwrap()).collect())
    }

    const PROXY: &str = "10.0.0.5";

    fn client(trusted: &TrustedProxies, pairs: &[(&'static str, &str)]) -> String {
        trusted
            .client(PROXY.parse().unwrap(), &headers(pairs))
            .to_string()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        let none = TrustedProxies::default();
        assert_eq!(client(&none, &[("x-forwarded-for", "203.0.113.7")]), PROXY);
        let other = proxies(&["192.168.0.0/16"]);
        assert_eq!(client(&other, &[("x-forwarded-for", "203.0.113.7")]), PROXY);
    }

    #[test]
    fn behind_trusted_proxies_the_last_untrusted_address_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            client(&trusted, &[("x-forwarded-for", "203.0.113.7")]),
            "203.0.113.7"
        );
        // What the client wrote itself comes first; the proxies' additions count.
        let spoofed = [("x-forwarded-for", "198.51.100.1, 203.0.113.7, 10.0.0.9")];
        assert_eq!(client(&trusted, &spoofed), "203.0.113.7");
        let split = [
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-for", "203.0.113.7"),
        ];
        assert_eq!(client(&trusted, &split), "203.0.113.7");
        assert_eq!(client(&trusted, &[]), PROXY, "no header: the proxy itself");
        assert_eq!(client(&trusted, &[("x-forwarded-for", "10.0.0.9")]), "10.0.0.9");
    }

    #[test]
    fn the_standard_forwarded_header_and_ports_are_understood() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let forwarded = [(
            "forwarded",
            r#"for=198.51.100.1;proto=http, for="[2001:db8::1]:4711""#,
        )];
        assert_eq!(client(&trusted, &forwarded), "2001:db8::1");
        assert_eq!(
            client(&trusted, &[("x-forwarded-for", "203.0.113.7:5000")]),
            "203.0.113.7"
        );
        assert_eq!(
            client(&trusted, &[("x-forwarded-for", "unknown, 203.0.113.7")]),
            "203.0.113.7"
        );
        assert_eq!(
            client(&trusted, &[("x-forwarded-for", "203.0.113.7, garbage")]),
            PROXY
        );
    }
}
