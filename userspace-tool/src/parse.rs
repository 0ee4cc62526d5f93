// SPDX-License-Identifier: GPL-2.0

//! Parsing of verb arguments: a token cursor ([`Toks`]) and the value
//! parsers (addresses, ports, protocols, schedulers, weights, durations).
//! Every error is a usage error that names the verb and the bad argument.

use std::fmt::Display;
use std::net::Ipv4Addr;

use crate::error::{Error, Result};
use crate::uapi;

/// Largest replica weight (`IPRP_A_WEIGHT`).
pub const WEIGHT_MAX: u32 = 65535;

/// A usage error of `verb`.
pub fn usage(verb: &str, msg: impl Display) -> Error {
    Error::Usage(format!("{verb}: {msg}"))
}

/// A cursor over a verb's arguments (common options already removed).
#[derive(Debug, Clone)]
pub struct Toks<'a> {
    /// The verb, for messages: `service add`.
    pub verb: String,
    items: &'a [String],
    pos: usize,
}

impl<'a> Toks<'a> {
    pub fn new(verb: impl Into<String>, items: &'a [String]) -> Self {
        Toks {
            verb: verb.into(),
            items,
            pos: 0,
        }
    }

    pub fn peek(&self) -> Option<&'a str> {
        self.items.get(self.pos).map(String::as_str)
    }

    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<&'a str> {
        let t = self.peek();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    /// The value following keyword `kw`.
    pub fn value(&mut self, kw: &str) -> Result<&'a str> {
        self.next()
            .ok_or_else(|| self.err(format!("'{kw}' needs a value")))
    }

    /// A usage error of this verb.
    pub fn err(&self, msg: impl Display) -> Error {
        usage(&self.verb, msg)
    }

    /// The error for a token the verb does not accept.
    pub fn unexpected(&self, tok: &str) -> Error {
        crate::cli::bad_arg(&self.verb, tok)
    }

    /// Fails on the first remaining token, if any.
    pub fn end(&mut self) -> Result<()> {
        match self.next() {
            Some(t) => Err(self.unexpected(t)),
            None => Ok(()),
        }
    }
}

/// A unicast IPv4 address in dotted-quad form (no names are resolved).
pub fn unicast(t: &Toks<'_>, what: &str, s: &str) -> Result<Ipv4Addr> {
    let addr: Ipv4Addr = s
        .parse()
        .map_err(|_| t.err(format!("invalid {what} '{s}' (expected an IPv4 address)")))?;
    if addr.is_unspecified() || addr.is_broadcast() || addr.is_multicast() {
        return Err(t.err(format!("invalid {what} '{s}' (not a unicast address)")));
    }
    Ok(addr)
}

/// A port, 1..65535.
pub fn port(t: &Toks<'_>, s: &str) -> Result<u16> {
    match s.parse::<u16>() {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(t.err(format!("invalid port '{s}' (expected 1..65535)"))),
    }
}

/// `VIP:PORT`.
pub fn endpoint(t: &Toks<'_>, s: &str) -> Result<(Ipv4Addr, u16)> {
    let (addr, p) = s
        .rsplit_once(':')
        .ok_or_else(|| t.err(format!("invalid service address '{s}' (expected VIP:PORT)")))?;
    Ok((unicast(t, "service address", addr)?, port(t, p)?))
}

/// `tcp` or `udp` (any case), or their protocol numbers.
pub fn proto(t: &Toks<'_>, s: &str) -> Result<u8> {
    uapi::PROTOS
        .iter()
        .find(|(name, num)| s.eq_ignore_ascii_case(name) || s == num.to_string())
        .map(|&(_, num)| num)
        .ok_or_else(|| t.err(format!("unknown protocol '{s}' (expected tcp or udp)")))
}

/// A scheduler name (`enum iprp_sched`).
pub fn sched(t: &Toks<'_>, s: &str) -> Result<u8> {
    uapi::sched_by_name(s).ok_or_else(|| {
        t.err(format!(
            "unknown scheduler '{s}' (expected one of {})",
            uapi::sched_names().join(", ")
        ))
    })
}

/// A replica weight, 0..=65535.
pub fn weight(t: &Toks<'_>, s: &str) -> Result<u32> {
    match s.parse::<u64>() {
        Ok(w) if w <= u64::from(WEIGHT_MAX) => Ok(w as u32),
        Ok(_) => Err(t.err(format!("weight '{s}' out of range (0..{WEIGHT_MAX})"))),
        Err(_) => Err(t.err(format!("invalid weight '{s}' (expected 0..{WEIGHT_MAX})"))),
    }
}

/// A u32 value of keyword `kw`.
pub fn u32_value(t: &Toks<'_>, kw: &str, s: &str) -> Result<u32> {
    s.parse()
        .map_err(|_| t.err(format!("invalid {kw} '{s}' (expected 0..{})", u32::MAX)))
}

/// Longest wildcard grant a service may send (s), as the module's policy.
pub const GRANT_MAX_S: u32 = 86_400;

/// A wildcard grant in seconds: `0` to [`GRANT_MAX_S`].
pub fn grant_seconds(t: &Toks<'_>, s: &str) -> Result<u32> {
    match s.parse::<u64>() {
        Ok(g) if g <= u64::from(GRANT_MAX_S) => Ok(g as u32),
        _ => Err(t.err(format!(
            "invalid grant '{s}' (expected seconds, 0..{GRANT_MAX_S})"
        ))),
    }
}

/// A 64-bit seed, as the value of keyword `kw`: decimal or `0x` hex.
pub fn seed(t: &Toks<'_>, kw: &str, s: &str) -> Result<u64> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() => u64::from_str_radix(hex, 16),
        _ => s.parse::<u64>(),
    };
    v.map_err(|_| {
        t.err(format!(
            "invalid {kw} '{s}' (expected 0..2^64-1, decimal or 0x hex)"
        ))
    })
}

/// One of the `words` (exactly), as the value of keyword `kw`.
pub fn word<T: Copy>(t: &Toks<'_>, kw: &str, s: &str, words: &[(&str, T)]) -> Result<T> {
    words
        .iter()
        .find(|(w, _)| *w == s)
        .map(|&(_, v)| v)
        .ok_or_else(|| {
            let names: Vec<&str> = words.iter().map(|(w, _)| *w).collect();
            t.err(format!(
                "invalid {kw} '{s}' (expected {})",
                names.join(" or ")
            ))
        })
}

/// `on` or `off`, the value of a switch such as `mark-syns`.
pub fn on_off(t: &Toks<'_>, kw: &str, s: &str) -> Result<bool> {
    word(t, kw, s, &[("on", true), ("off", false)])
}

/// A duration in milliseconds: `250`, `250ms` or `2s`.
pub fn millis(t: &Toks<'_>, kw: &str, s: &str) -> Result<u32> {
    let bad = || {
        t.err(format!(
            "invalid {kw} '{s}' (expected milliseconds, e.g. 500, 500ms or 2s)"
        ))
    };
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000)
    } else {
        (s, 1)
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    num.parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Err(Error::Usage(m)) => m,
            r => panic!("expected a usage error, got {r:?}"),
        }
    }

    #[test]
    fn values() {
        let t = Toks::new("v", &[]);
        assert_eq!(
            endpoint(&t, "10.0.0.100:80").unwrap(),
            (Ipv4Addr::new(10, 0, 0, 100), 80)
        );
        assert_eq!(proto(&t, "TCP").unwrap(), 6);
        assert_eq!(proto(&t, "udp").unwrap(), 17);
        assert_eq!(proto(&t, "17").unwrap(), 17);
        assert_eq!(sched(&t, "mh").unwrap(), 4);
        assert_eq!(weight(&t, "0").unwrap(), 0);
        assert_eq!(weight(&t, "65535").unwrap(), 65535);
        assert_eq!(millis(&t, "x", "250").unwrap(), 250);
        assert_eq!(millis(&t, "x", "250ms").unwrap(), 250);
        assert_eq!(millis(&t, "x", "3s").unwrap(), 3000);
        assert_eq!(u32_value(&t, "capacity", "4096").unwrap(), 4096);
        assert!(on_off(&t, "mark-syns", "on").unwrap());
        assert!(!on_off(&t, "mark-syns", "off").unwrap());
        assert_eq!(word(&t, "x", "b", &[("a", 1), ("b", 2)]).unwrap(), 2);
    }

    #[test]
    fn errors_name_the_argument() {
        let t = Toks::new("service add", &[]);
        assert_eq!(
            msg(endpoint(&t, "10.0.0.300:80")),
            "service add: invalid service address '10.0.0.300' (expected an IPv4 address)"
        );
        assert_eq!(
            msg(endpoint(&t, "10.0.0.1")),
            "service add: invalid service address '10.0.0.1' (expected VIP:PORT)"
        );
        assert!(msg(endpoint(&t, "10.0.0.1:0")).contains("invalid port '0'"));
        assert!(msg(endpoint(&t, "10.0.0.1:65536")).contains("invalid port '65536'"));
        assert!(msg(endpoint(&t, "10.0.0.1:http")).contains("invalid port 'http'"));
        assert!(msg(endpoint(&t, "0.0.0.0:80")).contains("not a unicast address"));
        assert!(msg(endpoint(&t, "224.0.0.1:80")).contains("not a unicast address"));
        assert!(msg(endpoint(&t, "host.example:80")).contains("'host.example'"));
        assert!(msg(proto(&t, "sctp")).contains("unknown protocol 'sctp'"));
        assert_eq!(
            msg(sched(&t, "fifo")),
            "service add: unknown scheduler 'fifo' (expected one of rr, wrr, lc, sh, mh)"
        );
        assert_eq!(
            msg(weight(&t, "65536")),
            "service add: weight '65536' out of range (0..65535)"
        );
        assert!(msg(weight(&t, "-1")).contains("invalid weight '-1'"));
        assert!(msg(millis(&t, "idle-timeout", "1h")).contains("invalid idle-timeout '1h'"));
        assert!(msg(millis(&t, "idle-timeout", "s")).contains("'s'"));
        assert!(msg(millis(&t, "idle-timeout", "5000000s")).contains("'5000000s'"));
        assert!(msg(u32_value(&t, "capacity", "-3")).contains("invalid capacity '-3'"));
        assert_eq!(
            msg(on_off(&t, "mark-syns", "2")),
            "service add: invalid mark-syns '2' (expected on or off)"
        );
        // exact words: no case folding, no numbers
        assert!(msg(on_off(&t, "mark-syns", "ON")).contains("'ON'"));
        assert!(msg(on_off(&t, "mark-syns", "1")).contains("'1'"));
        assert_eq!(
            msg(word(
                &t,
                "unmarked",
                "maybe",
                &[("local", true), ("redirect", false)]
            )),
            "service add: invalid unmarked 'maybe' (expected local or redirect)"
        );
    }

    #[test]
    fn cursor() {
        let items: Vec<String> = ["weight"].iter().map(|s| s.to_string()).collect();
        let mut t = Toks::new("replica add", &items);
        assert_eq!(t.next(), Some("weight"));
        assert_eq!(
            msg(t.value("weight")),
            "replica add: 'weight' needs a value"
        );
        assert!(t.end().is_ok());
        let items: Vec<String> = ["extra"].iter().map(|s| s.to_string()).collect();
        let mut t = Toks::new("replica del", &items);
        assert_eq!(msg(t.end()), "replica del: unexpected argument 'extra'");
    }
}
