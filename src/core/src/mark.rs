// SPDX-License-Identifier: GPL-2.0
//! The capability mark: a TCP option by which a client's SYN says "this
//! host speaks IPRP" (docs/protocol.md, "Capability mark").
//!
//! The option is an experimental TCP option with a 16-bit experiment
//! identifier (RFC 6994): kind 253, length 4, ExID [`MARK_EXID`]. A client
//! with marking on inserts it at the start of the options of every SYN
//! it sends that its translation leaves alone; a redirector reads it in
//! the SYN of a new flow. Any other host ignores it (RFC 9293, 3.1: a TCP
//! must ignore options it does not implement).

/// TCP option kind of the mark: RFC 4727's experiment kind 253, shared
/// through an experiment identifier (RFC 6994).
pub const MARK_KIND: u8 = 253;

/// The mark's experiment identifier ("IP", for IP-level redirection).
pub const MARK_EXID: u16 = 0x4950;

/// The option as it goes on the wire: kind, length, ExID (big-endian).
pub const MARK_OPTION: [u8; 4] = {
    let [hi, lo] = MARK_EXID.to_be_bytes();
    [MARK_KIND, 4, hi, lo]
};

/// TCP option kinds with no length byte.
const TCPOPT_EOL: u8 = 0;
const TCPOPT_NOP: u8 = 1;

/// What the first packet of a new flow says of its client.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mark {
    /// Not looked at (UDP, or the options could not be read).
    Unknown,
    /// A TCP SYN with the mark: the client speaks IPRP.
    Marked,
    /// A TCP SYN without the mark.
    Unmarked,
}

/// Whether the TCP options `opts` (the bytes after the 20-byte fixed
/// header, up to the header's end) carry the mark. Walks the options as a
/// TCP does: EOL ends them, NOP is one byte, any other kind has a length
/// byte of at least 2 and must fit; a malformed list ends the walk (no
/// mark). An option of the mark's kind with the mark's ExID and a length
/// of 4 or more is the mark (later versions may carry data after the
/// ExID).
pub fn tcp_options_have_mark(opts: &[u8]) -> bool {
    let mut rest = opts;
    loop {
        match rest {
            [] | [TCPOPT_EOL, ..] => return false,
            [TCPOPT_NOP, tail @ ..] => rest = tail,
            [kind, len, tail @ ..] => {
                let len = usize::from(*len);
                if len < 2 {
                    return false;
                }
                let Some((value, next)) = tail.split_at_checked(len - 2) else {
                    return false;
                };
                if *kind == MARK_KIND && value.get(..2) == Some(&MARK_EXID.to_be_bytes()[..]) {
                    return true;
                }
                rest = next;
            }
            [_] => return false,
        }
    }
}

/// The mark of a TCP header `th` (fixed header and options, as many bytes
/// as were read; `th[12] >> 4` is the header length in 32-bit words).
pub fn tcp_header_mark(th: &[u8]) -> Mark {
    let Some(&off) = th.get(12) else {
        return Mark::Unknown;
    };
    let hlen = usize::from(off >> 4) * 4;
    match th.get(20..hlen) {
        Some(opts) if tcp_options_have_mark(opts) => Mark::Marked,
        Some(_) => Mark::Unmarked,
        // A header shorter than 20 bytes, or not all read.
        None if hlen <= 20 && th.len() >= 20 => Mark::Unmarked,
        None => Mark::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_mark_among_linux_syn_options() {
        // MSS, SACK permitted, timestamps, NOP, window scale: what Linux
        // sends in a SYN, with the mark inserted first.
        let linux = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        assert!(!tcp_options_have_mark(&linux));
        let mut marked = MARK_OPTION.to_vec();
        marked.extend_from_slice(&linux);
        assert!(tcp_options_have_mark(&marked));
        // At the end, after NOPs, with data after the ExID: still found.
        let mut late = linux.to_vec();
        late.extend_from_slice(&[1, 1, MARK_KIND, 6, 0x49, 0x50, 9, 9]);
        assert!(tcp_options_have_mark(&late));
    }

    #[test]
    fn other_experiments_and_malformed_lists_are_no_mark() {
        // Kind 253 with another ExID (e.g. TCP Fast Open's 0xf989).
        assert!(!tcp_options_have_mark(&[253, 4, 0xf9, 0x89]));
        // Kind 254 with our ExID.
        assert!(!tcp_options_have_mark(&[254, 4, 0x49, 0x50]));
        // Too short to hold the ExID.
        assert!(!tcp_options_have_mark(&[253, 3, 0x49]));
        // After EOL nothing counts.
        assert!(!tcp_options_have_mark(&[0, 253, 4, 0x49, 0x50]));
        // A length of 0 or 1, or past the end, ends the walk.
        assert!(!tcp_options_have_mark(&[8, 0, 253, 4, 0x49, 0x50]));
        assert!(!tcp_options_have_mark(&[8, 1, 253, 4, 0x49, 0x50]));
        assert!(!tcp_options_have_mark(&[2, 9, 253, 4, 0x49, 0x50]));
        assert!(!tcp_options_have_mark(&[253]));
        // Every byte string is walked without a panic.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let _ = tcp_options_have_mark(&[a, b, 253, 4, 0x49]);
            }
        }
    }

    #[test]
    fn header_mark_reads_the_data_offset() {
        let mut th = [0u8; 24];
        th[12] = 5 << 4;
        assert_eq!(tcp_header_mark(&th[..20]), Mark::Unmarked);
        th[12] = 6 << 4;
        th[20..24].copy_from_slice(&MARK_OPTION);
        assert_eq!(tcp_header_mark(&th), Mark::Marked);
        // The options were not all read: unknown.
        assert_eq!(tcp_header_mark(&th[..22]), Mark::Unknown);
        assert_eq!(tcp_header_mark(&th[..10]), Mark::Unknown);
        // A bogus offset below 5 words has no options.
        th[12] = 2 << 4;
        assert_eq!(tcp_header_mark(&th), Mark::Unmarked);
    }
}
