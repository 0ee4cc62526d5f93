// SPDX-License-Identifier: GPL-2.0

//! `iprpctl monitor`: prints the module's event notifications (the
//! family's "events" multicast group, `IPRP_CMD_EVENT`) as they come, like
//! `ip monitor`.

use std::io::{self, Write};
use std::net::Ipv4Addr;

use super::{in_addr, Ctx, Iprp, Verb};
use crate::cli::{self, Args};
use crate::error::{Error, Result};
use crate::json::Json;
use crate::netlink::{Attrs, GenlMsg};
use crate::parse::Toks;
use crate::uapi::{self, a, iprp_cmd};

pub const VERB: Verb = Verb {
    name: "monitor",
    summary: "print binding, flow, service and replica events as they happen",
    usage: "monitor [-j|--json]",
    help: "Listens to the events of the module in this network namespace (the\n\
           \"events\" multicast group of the iprp family) and prints one line per\n\
           event until interrupted:\n  \
             binding-new, binding-confirmed, binding-del   the client's bindings\n  \
             flow-new, flow-confirmed, flow-local, flow-del the redirector's flows\n  \
             service-new, service-set, service-del         services\n  \
             replica-new, replica-set, replica-del         replicas (a health\n                                                \
                                                           checker's up/down\n                                                \
                                                           shows as replica-set)\n\
           A removal says why: expired, alarm, flushed, service-deleted,\n\
           reopened or replica-failed.\n\
           \n\
           The module sends at most `event-rate` events per second (iprpctl set);\n\
           what it could not send is counted (event_dropped) and the next event\n\
           says how many were lost before it. A monitor too slow for the events\n\
           loses some when its 4 MiB socket buffer is full: it prints that too.\n\
           \n\
           Options:\n  \
             -j, --json  one JSON object per line, e.g.\n              \
                         {\"event\": \"flow-new\", \"proto\": \"tcp\", \"vip\": \"10.0.0.100\",\n              \
                         \"port\": 80, \"client\": \"10.0.2.7\", \"cport\": 40000,\n              \
                         \"replica\": \"10.0.1.1\"}; a loss is {\"lost\": N}\n  \
             -h, --help  this help\n",
    run,
};

/// Receive buffer of the monitor's socket, bytes.
const MONITOR_RCVBUF: libc::c_int = 4 << 20;

/// One event as the module sent it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: u8,
    pub cause: Option<u8>,
    /// Events the module could not send before this one.
    pub lost: u32,
    pub proto: Option<u8>,
    pub vip: Option<Ipv4Addr>,
    pub port: Option<u16>,
    pub peer: Option<Ipv4Addr>,
    pub cport: Option<u16>,
    pub replica: Option<Ipv4Addr>,
    pub weight: Option<u32>,
    pub up: Option<bool>,
}

/// Decodes an `IPRP_CMD_EVENT` message's attributes.
pub fn decode(attrs: Attrs<'_>) -> Result<Event> {
    let mut e = Event::default();
    let mut kind = None;
    for at in attrs {
        let at = at?;
        match at.ty {
            a::EVENT => kind = Some(at.u8()?),
            a::CAUSE => e.cause = Some(at.u8()?),
            a::LOST => e.lost = at.u32()?,
            a::PROTO => e.proto = Some(at.u8()?),
            a::VIP => e.vip = Some(in_addr(&at)?),
            a::PORT => e.port = Some(at.u16()?),
            a::PEER => e.peer = Some(in_addr(&at)?),
            a::CPORT => e.cport = Some(at.u16()?),
            a::REPLICA_ADDR => e.replica = Some(in_addr(&at)?),
            a::WEIGHT => e.weight = Some(at.u32()?),
            a::UP => e.up = Some(at.u8()? != 0),
            _ => {}
        }
    }
    e.kind = super::required(kind, "event", a::EVENT)?;
    Ok(e)
}

impl Event {
    fn name(&self) -> String {
        uapi::event_name(self.kind)
    }

    /// A flow event of the redirector: its peer is the client.
    fn is_flow(&self) -> bool {
        self.name().starts_with("flow-")
    }

    /// The replica, unless 0.0.0.0 (a flow served locally).
    fn replica(&self) -> Option<Ipv4Addr> {
        self.replica.filter(|r| !r.is_unspecified())
    }

    /// `flow-new tcp 10.0.0.100:80 client 10.0.2.7:40000 replica 10.0.1.1`.
    pub fn to_human(&self) -> String {
        let mut s = self.name();
        if let (Some(p), Some(vip), Some(port)) = (self.proto, self.vip, self.port) {
            s.push_str(&format!(" {} {vip}:{port}", uapi::proto_name(p)));
        }
        match (self.is_flow(), self.peer, self.cport) {
            (true, Some(c), Some(cport)) => s.push_str(&format!(" client {c}:{cport}")),
            (false, _, Some(cport)) => s.push_str(&format!(" cport {cport}")),
            _ => {}
        }
        if let Some(r) = self.replica() {
            s.push_str(&format!(" replica {r}"));
        } else if self.is_flow() {
            s.push_str(" local");
        }
        if let Some(w) = self.weight {
            s.push_str(&format!(" weight {w}"));
        }
        if let Some(up) = self.up {
            s.push_str(if up { " up" } else { " down" });
        }
        if let Some(c) = self.cause {
            s.push_str(&format!(" cause {}", uapi::cause_name(c)));
        }
        if self.lost > 0 {
            s.push_str(&format!(" (lost {} before)", self.lost));
        }
        s
    }

    pub fn to_json(&self) -> Json {
        let mut o = Json::object();
        o.insert("event", self.name());
        if let Some(p) = self.proto {
            o.insert("proto", uapi::proto_name(p));
        }
        if let Some(v) = self.vip {
            o.insert("vip", v.to_string());
        }
        if let Some(p) = self.port {
            o.insert("port", u32::from(p));
        }
        if self.is_flow() {
            if let Some(c) = self.peer {
                o.insert("client", c.to_string());
            }
        }
        if let Some(c) = self.cport {
            o.insert("cport", u32::from(c));
        }
        if self.replica.is_some() {
            o.insert("replica", super::opt(self.replica().map(|r| r.to_string())));
        }
        if let Some(w) = self.weight {
            o.insert("weight", w);
        }
        if let Some(up) = self.up {
            o.insert("up", up);
        }
        if let Some(c) = self.cause {
            o.insert("cause", uapi::cause_name(c));
        }
        if self.lost > 0 {
            o.insert("lost", self.lost);
        }
        o
    }
}

/// Writes one line; `false` once the reader went away.
fn emit(line: &str) -> Result<bool> {
    let mut out = io::stdout().lock();
    match writeln!(out, "{line}").and_then(|_| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Error::Io("stdout".into(), e)),
    }
}

fn run(ctx: &mut Ctx, args: Args) -> Result<()> {
    let Some(toks) = cli::verb_tokens(ctx, args, &VERB)? else {
        return Ok(());
    };
    Toks::new(VERB.name, &toks).end()?;
    let iprp = Iprp::connect()?;
    let name = uapi::mcast_events();
    let group = iprp.family.mcast_group(name).ok_or_else(|| {
        Error::Protocol(format!(
            "the iprp module has no \"{name}\" multicast group (a module without events)"
        ))
    })?;
    // Room for bursts while this process is not scheduled, as ip monitor.
    iprp.sock.set_rcvbuf(MONITOR_RCVBUF)?;
    iprp.sock.join(group)?;
    let json = ctx.json;
    let family = iprp.family.id;
    iprp.sock.listen(
        |m| {
            if m.ty != family {
                return Ok(true);
            }
            let g = GenlMsg::parse(m)?;
            if u32::from(g.cmd) != iprp_cmd::IPRP_CMD_EVENT {
                return Ok(true);
            }
            let e = decode(g.attrs)?;
            emit(&if json {
                e.to_json().to_string()
            } else {
                e.to_human()
            })
        },
        || {
            emit(if json {
                r#"{"overrun":true}"#
            } else {
                "overrun: the socket buffer was full, events were lost"
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::MsgBuilder;

    fn event(build: impl FnOnce(&mut MsgBuilder)) -> Event {
        let mut b = MsgBuilder::genl(40, 0, iprp_cmd::IPRP_CMD_EVENT as u8, 1);
        build(&mut b);
        let buf = b.finish(0);
        let m = crate::netlink::messages(&buf).next().unwrap().unwrap();
        decode(GenlMsg::parse(&m).unwrap().attrs).unwrap()
    }

    fn ev(name: &str) -> u8 {
        (1..=255u8)
            .find(|&v| uapi::event_name(v) == name)
            .unwrap_or_else(|| panic!("no event {name}"))
    }

    #[test]
    fn flow_events_name_the_client_and_a_local_flow() {
        let e = event(|b| {
            b.put_u8(a::EVENT, ev("flow-new"))
                .put(a::PEER, &[10, 0, 2, 7])
                .put(a::VIP, &[10, 0, 0, 100])
                .put(a::REPLICA_ADDR, &[10, 0, 1, 1])
                .put_u8(a::PROTO, 6)
                .put_u16(a::CPORT, 40000)
                .put_u16(a::PORT, 80);
        });
        assert_eq!(
            e.to_human(),
            "flow-new tcp 10.0.0.100:80 client 10.0.2.7:40000 replica 10.0.1.1"
        );
        assert_eq!(
            e.to_json().to_string(),
            r#"{"event":"flow-new","proto":"tcp","vip":"10.0.0.100","port":80,"client":"10.0.2.7","cport":40000,"replica":"10.0.1.1"}"#
        );
        let local = event(|b| {
            b.put_u8(a::EVENT, ev("flow-del"))
                .put_u8(a::CAUSE, 1)
                .put_u32(a::LOST, 3)
                .put(a::PEER, &[10, 0, 2, 7])
                .put(a::VIP, &[10, 0, 0, 100])
                .put(a::REPLICA_ADDR, &[0, 0, 0, 0])
                .put_u8(a::PROTO, 17)
                .put_u16(a::CPORT, 5000)
                .put_u16(a::PORT, 53);
        });
        assert_eq!(
            local.to_human(),
            "flow-del udp 10.0.0.100:53 client 10.0.2.7:5000 local cause expired (lost 3 before)"
        );
        assert!(local
            .to_json()
            .to_string()
            .contains(r#""replica":null,"cause":"expired","lost":3"#));
    }

    #[test]
    fn binding_and_replica_events() {
        let b = event(|b| {
            b.put_u8(a::EVENT, ev("binding-del"))
                .put_u8(a::CAUSE, 2)
                .put(a::PEER, &[10, 0, 0, 100])
                .put(a::VIP, &[10, 0, 0, 100])
                .put(a::REPLICA_ADDR, &[10, 0, 1, 2])
                .put_u8(a::PROTO, 6)
                .put_u16(a::CPORT, 40000)
                .put_u16(a::PORT, 80);
        });
        assert_eq!(
            b.to_human(),
            "binding-del tcp 10.0.0.100:80 cport 40000 replica 10.0.1.2 cause alarm"
        );
        let r = event(|b| {
            b.put_u8(a::EVENT, ev("replica-set"))
                .put_u8(a::PROTO, 6)
                .put(a::VIP, &[10, 0, 0, 100])
                .put_u16(a::PORT, 80)
                .put(a::REPLICA_ADDR, &[10, 0, 1, 2])
                .put_u32(a::WEIGHT, 1)
                .put_u8(a::UP, 0);
        });
        assert_eq!(
            r.to_human(),
            "replica-set tcp 10.0.0.100:80 replica 10.0.1.2 weight 1 down"
        );
        assert_eq!(
            r.to_json().to_string(),
            r#"{"event":"replica-set","proto":"tcp","vip":"10.0.0.100","port":80,"replica":"10.0.1.2","weight":1,"up":false}"#
        );
    }

    #[test]
    fn an_event_without_its_kind_is_an_error() {
        let mut b = MsgBuilder::genl(40, 0, iprp_cmd::IPRP_CMD_EVENT as u8, 1);
        b.put_u8(a::PROTO, 6);
        let buf = b.finish(0);
        let m = crate::netlink::messages(&buf).next().unwrap().unwrap();
        assert!(decode(GenlMsg::parse(&m).unwrap().attrs).is_err());
    }
}
