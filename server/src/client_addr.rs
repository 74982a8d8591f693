//! Who a client is, for the per-client quotas: the TCP peer, or, when the peer is a trusted
//! reverse proxy (`--trusted-proxies`), the address the proxies say they forwarded for, read from
//! the one header they write (`--forwarded-header`). Only a trusted proxy's word counts: a client
//! cannot pick its own address by sending the headers, neither the one the proxies write (they
//! append to it, and only what they appended is read) nor the other one (never read).

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;

/// The header the trusted proxies write the forwarding chain into (`--forwarded-header`). The
/// other one is never read: a proxy passes on what it does not write, so there it would be the
/// client's own word.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy, …` (HAProxy's `option forwardfor`, nginx's
    /// `$proxy_add_x_forwarded_for`, most load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy, …` (the `for=` of each element).
    Forwarded,
}

impl ForwardedHeader {
    fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }
}

/// The networks whose connections are reverse proxies that tell the client's address, and the
/// header they tell it in.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>, header: ForwardedHeader) -> Self {
        Self { networks, header }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.networks.iter().any(|network| network.contains(&ip))
    }

    /// The client of a request that came from `peer`: `peer` itself unless it is trusted; else
    /// the right-most hop of the forwarding chain that is not a trusted proxy. Each proxy
    /// appends the address it received from, so the hops left of that one may be anything the
    /// client wrote. When every hop is a trusted proxy, the left-most of them; with no chain,
    /// the peer.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let chain = self.chain(headers);
        chain
            .iter()
            .rev()
            .find(|ip| !self.trusts(**ip))
            .or(chain.first())
            .copied()
            .unwrap_or(peer)
    }

    /// The addresses of the forwarding chain in the configured header, first (the original
    /// client, as claimed) to last; several lines of the header are one list, in order. A hop
    /// that is not an address (`unknown`, an obfuscated name, a `Forwarded` element without
    /// `for=`, garbage) ends the chain there: nothing left of it can be placed.
    fn chain(&self, headers: &HeaderMap) -> Vec<IpAddr> {
        let elements = headers
            .get_all(self.header.name())
            .iter()
            // A line that is not text is a hop that cannot be placed ("?" is no address).
            .map(|value| value.to_str().unwrap_or("?"))
            .flat_map(|value| value.split(','))
            .map(str::trim)
            // Empty list elements are allowed and mean nothing (RFC 9110 5.6.1).
            .filter(|element| !element.is_empty());
        let hops: Vec<Option<IpAddr>> = match self.header {
            ForwardedHeader::XForwardedFor => elements.map(parse_address).collect(),
            ForwardedHeader::Forwarded => elements
                .map(|element| forwarded_for(element).and_then(parse_address))
                .collect(),
        };
        let mut chain: Vec<IpAddr> = hops.into_iter().rev().map_while(|hop| hop).collect();
        chain.reverse();
        chain
    }
}

/// The `for=` value of one `Forwarded` element (`for=192.0.2.1;proto=https`), unquoted.
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim().trim_matches('"'))
    })
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
        proxies_writing(ForwardedHeader::XForwardedFor, networks)
    }

    fn proxies_writing(header: ForwardedHeader, networks: &[&str]) -> TrustedProxies {
        TrustedProxies::new(networks.iter().map(|n| n.parse().unwrap()).collect(), header)
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
        let forwarded = proxies_writing(ForwardedHeader::Forwarded, &["192.168.0.0/16"]);
        assert_eq!(client(&forwarded, &[("forwarded", "for=203.0.113.7")]), PROXY);
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
        assert_eq!(
            client(&trusted, &[("x-forwarded-for", "10.0.0.8, 10.0.0.9")]),
            "10.0.0.8",
            "all trusted: the left-most"
        );
    }

    #[test]
    fn only_the_configured_header_is_read() {
        // A proxy that writes X-Forwarded-For passes a client's Forwarded on untouched.
        let xff = proxies(&["10.0.0.0/8"]);
        let both = [
            ("forwarded", "for=198.51.100.1"),
            ("x-forwarded-for", "203.0.113.7"),
        ];
        assert_eq!(client(&xff, &both), "203.0.113.7");
        assert_eq!(client(&xff, &[("forwarded", "for=198.51.100.1")]), PROXY);
        // And one that writes Forwarded passes on a client's X-Forwarded-For (issue 23).
        let forwarded = proxies_writing(ForwardedHeader::Forwarded, &["10.0.0.0/8"]);
        let both = [
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=203.0.113.7"),
        ];
        assert_eq!(client(&forwarded, &both), "203.0.113.7");
        assert_eq!(client(&forwarded, &[("x-forwarded-for", "198.51.100.1")]), PROXY);
    }

    #[test]
    fn the_standard_forwarded_header_is_walked_from_the_right() {
        let trusted = proxies_writing(ForwardedHeader::Forwarded, &["10.0.0.0/8"]);
        let forwarded = [(
            "forwarded",
            r#"for=198.51.100.1;proto=http, for="[2001:db8::1]:4711""#,
        )];
        assert_eq!(client(&trusted, &forwarded), "2001:db8::1");
        let chain = [(
            "forwarded",
            r#"for=198.51.100.1, For="203.0.113.7:80";proto=https, for=10.0.0.9;by=10.0.0.5"#,
        )];
        assert_eq!(client(&trusted, &chain), "203.0.113.7");
        let lines = [
            ("forwarded", "for=198.51.100.1"),
            ("forwarded", "proto=https;for=203.0.113.7"),
            ("forwarded", "for=10.0.0.9"),
        ];
        assert_eq!(client(&trusted, &lines), "203.0.113.7", "lines in order");
        // A hop that cannot be placed ends the chain: the client's own entries left of it.
        let hidden = [("forwarded", "for=198.51.100.1, for=_hidden, for=10.0.0.9")];
        assert_eq!(client(&trusted, &hidden), "10.0.0.9");
        let no_for = [("forwarded", "for=198.51.100.1, proto=https")];
        assert_eq!(client(&trusted, &no_for), PROXY);
        let unknown = [("forwarded", "for=unknown, for=203.0.113.7")];
        assert_eq!(client(&trusted, &unknown), "203.0.113.7");
        // An unterminated quote of the client's swallows nothing the proxy appended.
        let quote = [("forwarded", "for=\"198.51.100.1, for=203.0.113.7")];
        assert_eq!(client(&trusted, &quote), "203.0.113.7");
    }

    #[test]
    fn ports_and_unknown_entries_are_understood() {
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            client(&trusted, &[("x-forwarded-for", "203.0.113.7:5000")]),
            "203.0.113.7"
        );
        assert_eq!(
            client(&trusted, &[("x-forwarded-for", "[2001:db8::1]:5000")]),
            "2001:db8::1"
        );
        assert_eq!(
            client(&trusted, &[("x-forwarded-for", "unknown, 203.0.113.7")]),
            "203.0.113.7"
        );
        assert_eq!(
            client(&trusted, &[("x-forwarded-for", "203.0.113.7, garbage")]),
            PROXY
        );
        assert_eq!(
            client(&trusted, &[("x-forwarded-for", "198.51.100.1,, 203.0.113.7 ,")]),
            "203.0.113.7",
            "empty elements mean nothing"
        );
    }

    #[test]
    fn a_line_that_is_not_text_is_a_hop_that_cannot_be_placed() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let mut map = HeaderMap::new();
        map.append("x-forwarded-for", "203.0.113.7".parse().unwrap());
        map.append(
            "x-forwarded-for",
            axum::http::HeaderValue::from_bytes(b"\xff").unwrap(),
        );
        assert_eq!(trusted.client(PROXY.parse().unwrap(), &map).to_string(), PROXY);
        map.append("x-forwarded-for", "203.0.113.8".parse().unwrap());
        assert_eq!(
            trusted.client(PROXY.parse().unwrap(), &map).to_string(),
            "203.0.113.8"
        );
    }

    #[test]
    fn the_flag_names_the_header_as_it_is_written() {
        use clap::ValueEnum;
        let parse = |text| ForwardedHeader::from_str(text, false);
        assert_eq!(parse("forwarded"), Ok(ForwardedHeader::Forwarded));
        assert_eq!(parse("x-forwarded-for"), Ok(ForwardedHeader::XForwardedFor));
        assert!(parse("x-real-ip").is_err());
        assert_eq!(ForwardedHeader::default(), ForwardedHeader::XForwardedFor);
    }
}
