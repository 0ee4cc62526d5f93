// SPDX-License-Identifier: GPL-2.0

//! KUnit suites that run inside the kernel when the module loads: the core,
//! compiled with the kernel's Rust flags, must behave as it does on the host.

use kernel::prelude::*;

#[kunit_tests(iprp_wire)]
mod wire_tests {
    use iprp_core::wire::{ipv4, MsgType, ParseError, Proto, Repr, MSG_LEN};

    const REQ_BYTES: [u8; MSG_LEN] = [
        0x00, 0x01, 0x00, 0x06, // REQ, TCP
        0x9c, 0x40, 0x00, 0x50, // client port 40000, server port 80
        10, 0, 0, 11, // replica 10.0.0.11
        0x00, 0x00, 0x00, 0x00, // key 0
    ];

    #[test]
    fn parses_hand_written_req() {
        let msg = Repr::parse(&REQ_BYTES);
        assert_eq!(
            msg,
            Ok(Repr {
                ty: MsgType::Req,
                proto: Proto::Tcp,
                cport: 40000,
                sport: 80,
                replica: ipv4(10, 0, 0, 11),
                key: 0,
            })
        );
    }

    #[test]
    fn emit_is_parse_inverse() {
        let chk = Repr {
            ty: MsgType::Chk,
            proto: Proto::Udp,
            cport: 1,
            sport: 65535,
            replica: ipv4(192, 0, 2, 1),
            key: 0xdead_beef,
        };
        assert_eq!(Repr::parse(&chk.to_bytes()), Ok(chk));
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(Repr::parse(&REQ_BYTES[..15]), Err(ParseError::Short));
        let mut bad = REQ_BYTES;
        bad[1] = 5;
        assert_eq!(Repr::parse(&bad), Err(ParseError::BadType));
        bad = REQ_BYTES;
        bad[3] = 1;
        assert_eq!(Repr::parse(&bad), Err(ParseError::BadProto));
    }
}
