//! The client's address behind reverse proxies.
//!
//! The TCP peer is the client unless it is one of the configured trusted proxies. Only then is the
//! configured forwarding header (`X-Forwarded-For`, or RFC 7239 `Forwarded`) read, and only as far as
//! the trusted hops go: walking from the right (the hop nearest to us), every address that is itself a
//! trusted proxy is skipped and the first one that is not is the client. Everything left of it was
//! written by the client and may be forged, so it is never looked at.
//!
//! A value that cannot be read (garbage, `unknown`, an obfuscated `_node`) stops the walk: the hop
//! that wrote it is a trusted proxy, so its own address is the most that can be vouched for. A
//! request from an untrusted peer is never read past its socket, whatever it sends.
//!
//! Only one header is honoured, as configured: a proxy that sets `X-Forwarded-For` passes a client's
//! own `Forwarded` header through untouched, so reading both would let the client choose its address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use axum::http::HeaderMap;

/// Hops read from a forwarding header at most; a longer chain is a client padding it, and the
/// address at the limit (a trusted hop) is used.
const MAX_HOPS: usize = 32;

/// Which header the trusted proxies write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx `proxy_add_x_forwarded_for`, HAProxy, most
    /// load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711"`.
    Forwarded,
}

impl ForwardedHeader {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Some(Self::XForwardedFor),
            "forwarded" => Some(Self::Forwarded),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }
}

/// An address block: `10.0.0.0/8`, `2001:db8::/32`, or one address (`127.0.0.1`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr = canonical(
            addr.parse::<IpAddr>()
                .map_err(|_| format!("{text:?} is not an address or an address/prefix"))?,
        );
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || (a[full] ^ b[full]) >> (8 - rest) == 0
}

/// IPv4 peers of a dual-stack socket arrive as `::ffff:a.b.c.d`; compare and report them as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// The configured proxies and the header they write. The default trusts nobody: every client is its
/// TCP peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>, header: ForwardedHeader) -> Self {
        Self { nets, header }
    }

    /// Parse a list of addresses and blocks; the error names the first bad one.
    pub fn parse<S: AsRef<str>>(list: &[S], header: ForwardedHeader) -> Result<Self, String> {
        let nets = list
            .iter()
            .map(|s| s.as_ref().parse())
            .collect::<Result<Vec<IpNet>, String>>()?;
        Ok(Self::new(nets, header))
    }

    pub fn nets(&self) -> &[IpNet] {
        &self.nets
    }

    pub fn header(&self) -> ForwardedHeader {
        self.header
    }

    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|net| net.contains(ip))
    }

    /// The client's address for a request that arrived from `peer` with `headers`.
    pub fn client_addr(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.is_trusted(client) {
            return client;
        }
        // Several header lines form one list, in order (RFC 9110 §5.3).
        let hops: Vec<&str> = headers
            .get_all(self.header.name())
            .iter()
            .flat_map(|value| {
                // A value that is not visible ASCII is unreadable as a whole: one hop that stops the walk.
                value
                    .to_str()
                    .map_or_else(|_| vec![""], |v| v.split(',').collect())
            })
            .collect();
        for hop in hops.iter().rev().take(MAX_HOPS) {
            let parsed = match self.header {
                ForwardedHeader::XForwardedFor => parse_node(hop.trim()),
                ForwardedHeader::Forwarded => forwarded_for(hop),
            };
            let Some(addr) = parsed.map(canonical) else {
                return client;
            };
            client = addr;
            if !self.is_trusted(addr) {
                return client;
            }
        }
        client
    }
}

/// The `for=` node of one `Forwarded` element (`for=192.0.2.60;proto=https;by=…`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let mut found = None;
    for pair in element.split(';') {
        let (key, value) = pair.split_once('=')?;
        if key.trim().eq_ignore_ascii_case("for") {
            if found.is_some() {
                // Two `for` in one element: not something a proxy writes.
                return None;
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            found = Some(parse_node(value)?);
        }
    }
    found
}

/// A node as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`,
/// `[2001:db8::1]:4711`. `unknown` and obfuscated identifiers are not addresses.
fn parse_node(text: &str) -> Option<IpAddr> {
    if let Some(rest) = text.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return addr.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    let (addr, port) = text.rsplit_once(':')?;
    if !is_port(port) {
        return None;
    }
    addr.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(list: &[&str], header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies::parse(list, header).unwrap_or_else(|e| panic!("{e}"))
    }

    fn headers(name: &str, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes())
                    .unwrap_or_else(|e| panic!("{e}")),
                HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{e}")),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn parses_addresses_and_blocks() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(net.contains(ip("10.255.1.2")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped peers");
        let net: IpNet = "2001:db8::/32".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(net.contains(ip("2001:db8:ffff::1")));
        assert!(!net.contains(ip("2001:db9::1")));
        assert!(!net.contains(ip("10.0.0.1")));
        let net: IpNet = "192.168.1.0/23".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(net.contains(ip("192.168.0.7")));
        assert!(!net.contains(ip("192.168.2.1")));
        let one: IpNet = "::1".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(one.to_string(), "::1/128");
        assert!(one.contains(ip("::1")));
        let all: IpNet = "0.0.0.0/0".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(all.contains(ip("203.0.113.9")));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "proxy.internal",
            "",
            "10.0.0.1/-1",
        ] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad:?}");
        }
        let err = TrustedProxies::parse(&["127.0.0.1", "nginx"], ForwardedHeader::XForwardedFor)
            .unwrap_err();
        assert!(err.contains("nginx"), "{err}");
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let p = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let spoofed = headers("x-forwarded-for", &["1.2.3.4"]);
        assert_eq!(
            p.client_addr(ip("203.0.113.7"), &spoofed),
            ip("203.0.113.7")
        );
        // Nobody trusted: the header means nothing, even from loopback.
        let none = TrustedProxies::default();
        assert_eq!(none.client_addr(ip("127.0.0.1"), &spoofed), ip("127.0.0.1"));
    }

    #[test]
    fn walks_from_the_right_past_trusted_hops_only() {
        let p = proxies(&["10.0.0.0/8", "127.0.0.1"], ForwardedHeader::XForwardedFor);
        // The client put a forged address first; the proxy appended the real peer.
        let h = headers("x-forwarded-for", &["6.6.6.6, 198.51.100.20"]);
        assert_eq!(p.client_addr(ip("127.0.0.1"), &h), ip("198.51.100.20"));
        // Two proxies: the edge one (10.1.1.1) appended the client, the inner one appended the edge.
        let h = headers("x-forwarded-for", &["198.51.100.20, 10.1.1.1"]);
        assert_eq!(p.client_addr(ip("10.2.2.2"), &h), ip("198.51.100.20"));
        // The same chain split over two header lines.
        let h = headers("x-forwarded-for", &["6.6.6.6, 198.51.100.20", "10.1.1.1"]);
        assert_eq!(p.client_addr(ip("10.2.2.2"), &h), ip("198.51.100.20"));
        // Every hop trusted: the leftmost is the best we know.
        let h = headers("x-forwarded-for", &["10.9.9.9, 10.1.1.1"]);
        assert_eq!(p.client_addr(ip("127.0.0.1"), &h), ip("10.9.9.9"));
        // A trusted peer without the header is the client itself.
        assert_eq!(
            p.client_addr(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
        // Only the configured header counts.
        let other = headers("forwarded", &["for=6.6.6.6"]);
        assert_eq!(p.client_addr(ip("127.0.0.1"), &other), ip("127.0.0.1"));
    }

    #[test]
    fn reads_ipv6_and_ports() {
        let p = proxies(&["::1", "fd00::/8"], ForwardedHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["2001:db8::7, fd00::2"]);
        assert_eq!(p.client_addr(ip("::1"), &h), ip("2001:db8::7"));
        let h = headers("x-forwarded-for", &["[2001:db8::8]:4711"]);
        assert_eq!(p.client_addr(ip("::1"), &h), ip("2001:db8::8"));
        let h = headers("x-forwarded-for", &["198.51.100.3:51000"]);
        assert_eq!(p.client_addr(ip("::1"), &h), ip("198.51.100.3"));
        let h = headers("x-forwarded-for", &["::ffff:198.51.100.4"]);
        assert_eq!(p.client_addr(ip("::1"), &h), ip("198.51.100.4"));
        // An IPv4 peer on a dual-stack socket is matched and reported as IPv4.
        let p4 = proxies(&["127.0.0.1"], ForwardedHeader::XForwardedFor);
        assert_eq!(
            p4.client_addr(
                ip("::ffff:127.0.0.1"),
                &headers("x-forwarded-for", &["198.51.100.5"])
            ),
            ip("198.51.100.5")
        );
        assert_eq!(
            p4.client_addr(ip("::ffff:203.0.113.1"), &HeaderMap::new()),
            ip("203.0.113.1")
        );
    }

    #[test]
    fn reads_rfc7239_forwarded() {
        let p = proxies(&["10.0.0.0/8"], ForwardedHeader::Forwarded);
        let h = headers(
            "forwarded",
            &[r#"for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https;by=10.0.0.1"#],
        );
        assert_eq!(p.client_addr(ip("10.0.0.1"), &h), ip("2001:db8:cafe::17"));
        let h = headers("Forwarded", &["For=198.51.100.60;proto=http, for=10.3.3.3"]);
        assert_eq!(p.client_addr(ip("10.0.0.1"), &h), ip("198.51.100.60"));
        // X-Forwarded-For is not read when Forwarded is configured.
        let h = headers("x-forwarded-for", &["198.51.100.61"]);
        assert_eq!(p.client_addr(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn malformed_values_stop_at_the_last_trusted_hop() {
        let p = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        for value in [
            "garbage",
            "198.51.100.1, garbage",
            "unknown",
            "198.51.100.1,",
            "1.2.3.4:99999",
            "[2001:db8::1",
            "[2001:db8::1]x",
            "1.2.3.4:80:80",
            "1.2.3.4/8",
        ] {
            let h = headers("x-forwarded-for", &[value]);
            assert_eq!(
                p.client_addr(ip("10.0.0.1"), &h),
                ip("10.0.0.1"),
                "{value:?}"
            );
        }
        // Behind a trusted hop, the malformed part is left of it and the trusted hop is the answer.
        let h = headers("x-forwarded-for", &["garbage, 10.7.7.7"]);
        assert_eq!(p.client_addr(ip("10.0.0.1"), &h), ip("10.7.7.7"));
        let f = proxies(&["10.0.0.0/8"], ForwardedHeader::Forwarded);
        for value in [
            "for=unknown",
            "for=_hidden",
            "proto=https",
            "for=1.2.3.4;for=5.6.7.8",
            "for",
            r#"for="[2001:db8::1]"#,
        ] {
            let h = headers("forwarded", &[value]);
            assert_eq!(
                f.client_addr(ip("10.0.0.1"), &h),
                ip("10.0.0.1"),
                "{value:?}"
            );
        }
        // Non-ASCII bytes in the header are unreadable, not a panic.
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"1.2.3.4\xff").unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(p.client_addr(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn a_padded_chain_is_read_only_so_far() {
        let p = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let mut chain = vec!["198.51.100.1".to_owned()];
        chain.extend((0..100).map(|i| format!("10.0.0.{}", i % 250)));
        let h = headers("x-forwarded-for", &[&chain.join(", ")]);
        let found = p.client_addr(ip("10.0.0.1"), &h);
        assert!(p.is_trusted(found), "stopped at a trusted hop: {found}");
    }
}
