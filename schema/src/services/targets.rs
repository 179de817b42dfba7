//! Where webhooks may be delivered: public addresses only.
//!
//! A webhook is a request the server makes on an admin's behalf, so its URL
//! must not reach inside: an endpoint must resolve to public addresses —
//! not loopback, private (RFC 1918), shared (CGNAT), link-local,
//! unique-local, unspecified, multicast, documentation or otherwise
//! reserved ranges, nor an IPv4 address hidden in IPv6 (mapped,
//! compatible, NAT64, 6to4) that is one of these — and never one of the
//! server's own listeners. Operators allow internal receivers by name or
//! network (`MOGNAD_WEBHOOK_ALLOW`, e.g. `receiver.intern.skr.se,10.1.0.0/16`).
//!
//! [`Targets`] decides, once, for both doors: `createWebhook` checks that
//! every address its host resolves to is permitted ([`Targets::check`]),
//! and the dispatcher checks again at each delivery the very addresses it
//! connects to ([`Targets::permits`], applied in its DNS resolver and to
//! literal addresses), so a name that later resolves inside (DNS
//! rebinding) is not followed. URLs are read as browsers and HTTP clients
//! read them (WHATWG), so `http://2130706433/`, `http://127.1/` and
//! `http://0x7f.1/` are the loopback address they are.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The longest endpoint URL.
pub const MAX_URL: usize = 2048;

/// Hosts and networks allowed although not public, and the server's own
/// listeners (never allowed).
#[derive(Clone, Debug, Default)]
pub struct Targets {
    hosts: Vec<String>,
    networks: Vec<(IpAddr, u8)>,
    own: Vec<SocketAddr>,
}

/// A webhook URL as read: its host and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL as the dispatcher sends it (normalised).
    pub url: String,
    /// The host, lower case; an IP address is written as one.
    pub host: String,
    /// The literal address, when the host is one.
    pub ip: Option<IpAddr>,
    pub port: u16,
}

impl Targets {
    /// Targets with `allow`'s hosts and networks (`10.1.0.0/16`, `::1/128`,
    /// a bare address for itself), never reaching `own`.
    pub fn new(allow: &[String], own: Vec<SocketAddr>) -> Result<Self, String> {
        let mut targets = Self {
            own,
            ..Self::default()
        };
        for entry in allow {
            let entry = entry.trim();
            let (address, prefix) = match entry.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (entry, None),
            };
            match address.parse::<IpAddr>() {
                Ok(ip) => {
                    let most = if ip.is_ipv4() { 32 } else { 128 };
                    let prefix = match prefix {
                        Some(p) => {
                            p.parse::<u8>().ok().filter(|p| *p <= most).ok_or_else(|| {
                                format!("{entry:?}: the prefix must be 0 to {most}")
                            })?
                        }
                        None => most,
                    };
                    targets.networks.push((ip, prefix));
                }
                Err(_) if prefix.is_none() && is_host_name(entry.trim_end_matches('.')) => {
                    targets
                        .hosts
                        .push(entry.trim_end_matches('.').to_ascii_lowercase());
                }
                Err(_) => {
                    return Err(format!(
                        "{entry:?} is neither a host name, an address nor a network such as 10.1.0.0/16"
                    ));
                }
            }
        }
        Ok(targets)
    }

    /// Reads a webhook URL: absolute `http://` or `https://`, a host, no
    /// user info, at most [`MAX_URL`] characters, no spaces or control
    /// characters.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let refused = || {
            format!(
                "url must be an absolute http:// or https:// URL with a host (no user info), at most {MAX_URL} characters"
            )
        };
        if url.len() > MAX_URL || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(refused());
        }
        let parsed = url::Url::parse(url).map_err(|_| refused())?;
        if !matches!(parsed.scheme(), "http" | "https")
            || !parsed.username().is_empty()
            || parsed.password().is_some()
        {
            return Err(refused());
        }
        let (host, ip) = match parsed.host() {
            Some(url::Host::Domain(d)) if !d.trim_end_matches('.').is_empty() => {
                (d.trim_end_matches('.').to_ascii_lowercase(), None)
            }
            Some(url::Host::Ipv4(a)) => (a.to_string(), Some(IpAddr::V4(a))),
            Some(url::Host::Ipv6(a)) => (a.to_string(), Some(IpAddr::V6(a))),
            _ => return Err(refused()),
        };
        let port = parsed.port_or_known_default().ok_or_else(refused)?;
        // As sent: percent-encoding may have made it longer.
        if parsed.as_str().len() > MAX_URL {
            return Err(refused());
        }
        Ok(Endpoint {
            url: parsed.to_string(),
            host,
            ip,
            port,
        })
    }

    /// Whether a delivery for `host` may connect to `addr`: a public address
    /// or one the operator allows (by the host's name or the address's
    /// network), and never the server's own listener.
    pub fn permits(&self, host: &str, addr: SocketAddr) -> bool {
        let ip = canonical(addr.ip());
        if self.is_own(ip, addr.port()) {
            return false;
        }
        is_public(ip)
            || self.hosts.iter().any(|h| h == host)
            || self
                .networks
                .iter()
                .any(|(net, prefix)| contains(*net, *prefix, ip))
    }

    /// Whether `ip:port` is where this server listens.
    fn is_own(&self, ip: IpAddr, port: u16) -> bool {
        self.own.iter().any(|own| {
            own.port() == port
                && (canonical(own.ip()) == ip || (own.ip().is_unspecified() && !is_public(ip)))
        })
    }

    /// Checks a new endpoint: its URL, and every address its host resolves
    /// to now. The message names no address, only what is wrong.
    /// A host the operator allows by name is taken as it is (it may not
    /// resolve from here yet); at delivery its addresses are checked as any.
    pub async fn check(&self, url: &str) -> Result<Endpoint, String> {
        let endpoint = Self::parse(url)?;
        if endpoint.ip.is_none() && self.hosts.contains(&endpoint.host) {
            return Ok(endpoint);
        }
        let addresses: Vec<SocketAddr> = match endpoint.ip {
            Some(ip) => vec![SocketAddr::new(ip, endpoint.port)],
            None => tokio::net::lookup_host((endpoint.host.as_str(), endpoint.port))
                .await
                .map_err(|_| format!("the host {} could not be resolved", endpoint.host))?
                .collect(),
        };
        if addresses.is_empty() {
            return Err(format!("the host {} could not be resolved", endpoint.host));
        }
        if addresses
            .iter()
            .any(|a| self.is_own(canonical(a.ip()), a.port()))
        {
            return Err("url must not point at this server itself".to_owned());
        }
        if !addresses.iter().all(|a| self.permits(&endpoint.host, *a)) {
            return Err(format!(
                "url must reach a public address: {} is or resolves to a loopback, private, link-local or otherwise internal address (an operator may allow it with MOGNAD_WEBHOOK_ALLOW)",
                endpoint.host
            ));
        }
        Ok(endpoint)
    }
}

/// Whether `text` is a DNS host name (letters, digits, hyphens and dots).
fn is_host_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// An IPv4 address carried in IPv6 as the address it is (mapped
/// `::ffff:a.b.c.d`); other addresses as they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `net/prefix` holds `ip`.
fn contains(net: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    match (canonical(net), ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// Whether `ip` is a public unicast address, reachable on the internet.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(a: Ipv4Addr) -> bool {
    let [b0, b1, b2, _] = a.octets();
    !(b0 == 0                                   // "this network", 0.0.0.0
        || b0 == 10                             // private
        || b0 == 127                            // loopback
        || (b0 == 100 && (64..128).contains(&b1)) // shared (CGNAT)
        || (b0 == 169 && b1 == 254)             // link-local
        || (b0 == 172 && (16..32).contains(&b1)) // private
        || (b0 == 192 && b1 == 0 && b2 == 0)    // IETF protocol assignments
        || (b0 == 192 && b1 == 0 && b2 == 2)    // documentation
        || (b0 == 192 && b1 == 88 && b2 == 99)  // 6to4 relay anycast
        || (b0 == 192 && b1 == 168)             // private
        || (b0 == 198 && (18..20).contains(&b1)) // benchmarking
        || (b0 == 198 && b1 == 51 && b2 == 100) // documentation
        || (b0 == 203 && b1 == 0 && b2 == 113)  // documentation
        || b0 >= 224) // multicast, reserved, broadcast
}

fn public_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    let embedded = |hi: u16, lo: u16| {
        public_v4(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        ))
    };
    if a.is_unspecified() || a.is_loopback() {
        return false;
    }
    match s[0] {
        // ::/8 without the above: IPv4-compatible (deprecated) and the rest of the reserved block
        0x0000 => false,
        // 64:ff9b::/96 NAT64 (and 64:ff9b:1::/48 local NAT64): the IPv4 address inside
        0x0064 if s[1] == 0xff9b => s[2..6].iter().all(|x| *x == 0) && embedded(s[6], s[7]),
        // 100::/64 discard-only
        0x0100 => false,
        // 2001::/32 Teredo, 2001:db8::/32 documentation, 2001:10::/28, 2001:20::/28 ORCHID
        0x2001 if s[1] == 0 || s[1] == 0x0db8 || (0x0010..0x0030).contains(&s[1]) => false,
        // 2002::/16 6to4: the IPv4 address inside
        0x2002 => embedded(s[1], s[2]),
        // 3fff::/20 documentation
        0x3fff if s[1] < 0x1000 => false,
        // fc00::/7 unique-local, fe80::/10 link-local, fec0::/10 site-local, ff00::/8 multicast
        x if x & 0xfe00 == 0xfc00 || x & 0xffc0 == 0xfe80 || x & 0xffc0 == 0xfec0 => false,
        x if x & 0xff00 == 0xff00 => false,
        // Global unicast is 2000::/3; nothing else is assigned.
        x => x & 0xe000 == 0x2000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_not_public() {
        for internal in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
        ] {
            assert!(!is_public(ip(internal)), "{internal}");
        }
        for public in [
            "8.8.8.8",
            "193.44.2.10",
            "172.32.0.1",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[test]
    fn urls_are_read_as_http_clients_read_them() {
        for (url, host) in [
            ("http://2130706433/", "127.0.0.1"),
            ("http://127.1/", "127.0.0.1"),
            ("http://0x7f.1/x", "127.0.0.1"),
            ("http://0.0.0.0:5432/", "0.0.0.0"),
            ("http://[::ffff:7f00:1]/", "::ffff:127.0.0.1"),
            ("https://LocalHost./hook", "localhost"),
            // As a browser reads it: the host "path" (which must then resolve).
            ("https:///path", "path"),
        ] {
            let e = Targets::parse(url).unwrap();
            assert_eq!(e.host, host, "{url}");
        }
        for bad in [
            "ftp://x",
            "https://",
            "https://user:pw@host/",
            "https://host/a b",
            "/relative",
            "http://[::1",
        ] {
            assert!(Targets::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_allow_list_opens_named_hosts_and_networks_but_never_the_server_itself() {
        let own: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let t = Targets::new(
            &["10.1.0.0/16".into(), "receiver.intern".into(), "::1".into()],
            vec![own, "0.0.0.0:9090".parse().unwrap()],
        )
        .unwrap();
        let at = |a: &str, port: u16| SocketAddr::new(ip(a), port);
        assert!(t.permits("x", at("10.1.2.3", 443)));
        assert!(!t.permits("x", at("10.2.0.1", 443)));
        assert!(t.permits("receiver.intern", at("192.168.1.1", 80)));
        assert!(t.permits("x", at("::1", 80)));
        assert!(t.permits("x", at("8.8.8.8", 80)));
        assert!(!t.permits("x", at("127.0.0.1", 80)));
        // The server's own listeners, whatever is allowed.
        let mine = Targets::new(&["127.0.0.0/8".into()], vec![own]).unwrap();
        assert!(mine.permits("x", at("127.0.0.1", 8081)));
        assert!(!mine.permits("x", at("127.0.0.1", 8080)));
        assert!(!mine.permits("x", at("::ffff:127.0.0.1", 8080)));
        assert!(!t.permits("receiver.intern", at("10.1.0.9", 9090)));
        for bad in ["10.0.0.0/33", "not a host", "a..b", "1.2.3.4/x"] {
            assert!(Targets::new(&[bad.into()], vec![]).is_err(), "{bad}");
        }
    }
}
