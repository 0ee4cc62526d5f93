// SPDX-License-Identifier: GPL-2.0

//! Declarations of the C shim's functions and safe wrappers around them.
//!
//! `Pkt` mirrors `struct iprp_pkt` of src/shim.h field by field; both sides
//! assert its size. The netlink helpers are in src/nl.rs.

use core::marker::PhantomData;
use iprp_core::wire::{Ipv4, Outgoing, Proto, EXT_MAX_LEN, MSG_LEN};
use kernel::bindings::{self, net, sk_buff};
use kernel::error::to_result;
use kernel::prelude::*;

/// `struct iprp_pkt`: addresses, protocol and (if `ports != 0`) ports and
/// TCP flags of a packet, network order.
#[repr(C)]
#[derive(Default)]
pub(crate) struct Pkt {
    pub(crate) saddr: u32,
    pub(crate) daddr: u32,
    pub(crate) sport: u16,
    pub(crate) dport: u16,
    pub(crate) proto: u8,
    pub(crate) syn: u8,
    pub(crate) ack: u8,
    pub(crate) ports: u8,
}

const _: () = assert!(core::mem::size_of::<Pkt>() == 16);

extern "C" {
    fn iprp_shim_init() -> core::ffi::c_int;
    fn iprp_shim_exit();
    fn iprp_shim_copy_bits(
        skb: *const sk_buff,
        offset: core::ffi::c_int,
        to: *mut c_void,
        len: core::ffi::c_int,
    ) -> core::ffi::c_int;
    fn iprp_shim_skb_len(skb: *const sk_buff) -> core::ffi::c_uint;
    fn iprp_shim_parse(skb: *const sk_buff, pkt: *mut Pkt) -> core::ffi::c_int;
    fn iprp_shim_kfree_skb(skb: *mut sk_buff);
    fn iprp_shim_consume_skb(skb: *mut sk_buff);
    fn iprp_shim_set_addr(skb: *mut sk_buff, dst: bool, addr: u32) -> core::ffi::c_int;
    fn iprp_shim_tcp_insert_option(skb: *mut sk_buff, opt: u32) -> core::ffi::c_int;
    fn iprp_shim_untrack(skb: *mut sk_buff);
    fn iprp_shim_parse_icmp_error(skb: *const sk_buff, quoted: *mut Pkt) -> core::ffi::c_int;
    fn iprp_shim_icmp_error_set_addr(
        skb: *mut sk_buff,
        quoted_dst: bool,
        addr: u32,
    ) -> core::ffi::c_int;
    fn iprp_shim_saddr(skb: *const sk_buff) -> u32;
    fn iprp_shim_daddr(skb: *const sk_buff) -> u32;
    fn iprp_shim_reinject(skb: *mut sk_buff);
    fn iprp_shim_reset_tcp(net: *mut net, laddr: u32, lport: u16, raddr: u32, rport: u16) -> bool;
    fn iprp_shim_abort_tcp(net: *mut net, laddr: u32, lport: u16, raddr: u32, rport: u16) -> bool;
    fn iprp_shim_sk_query(
        net: *mut net,
        skb: *const sk_buff,
        proto: u8,
        raddr: u32,
        rport: u16,
        laddr: u32,
        lport: u16,
        query: u8,
    ) -> bool;
    fn iprp_shim_send_msg(
        net: *mut net,
        saddr: u32,
        daddr: u32,
        msg: *const c_void,
        len: core::ffi::c_uint,
    ) -> core::ffi::c_int;
    fn iprp_shim_now_ms() -> u64;
    fn iprp_shim_timer_start(net: *mut net, ms: core::ffi::c_uint);
    fn iprp_shim_cond_resched();
    fn iprp_shim_bh_disable();
    fn iprp_shim_bh_enable();
}

/// Registers pernet ops, the protocol-99 handler and the netlink family.
pub(crate) fn init() -> Result {
    // SAFETY: called once from module init, before any other shim call.
    to_result(unsafe { iprp_shim_init() })
}

/// Undoes [`init`]; on return no hook or handler of ours can run.
pub(crate) fn exit() {
    // SAFETY: called once from module exit, after a successful `init`.
    unsafe { iprp_shim_exit() }
}

/// Milliseconds of a monotonic clock (jiffies).
pub(crate) fn now_ms() -> u64 {
    // SAFETY: reads jiffies; no preconditions.
    unsafe { iprp_shim_now_ms() }
}

/// Sends a protocol-99 message; false if it could not be sent.
///
/// # Safety
///
/// `net` is a live network namespace.
pub(crate) unsafe fn send(net: *mut net, out: &Outgoing) -> bool {
    let mut msg = [0u8; MSG_LEN];
    out.msg.emit(&mut msg);
    let mut ext = [0u8; EXT_MAX_LEN];
    let n = out.ext.emit(&mut ext);
    let mut bytes = [0u8; MSG_LEN + EXT_MAX_LEN];
    let len = MSG_LEN + n;
    let (head, tail) = bytes.split_at_mut(MSG_LEN);
    head.copy_from_slice(&msg);
    tail.copy_from_slice(&ext);
    // SAFETY: `net` is live by the function's contract; `bytes` holds at
    // least the `len` bytes passed.
    unsafe {
        iprp_shim_send_msg(
            net,
            out.from.to_be(),
            out.to.to_be(),
            bytes.as_ptr().cast(),
            len as u32,
        ) == 0
    }
}

/// Queues the reset of local TCP connection `local` <-> `remote` (work
/// item, process context: `tcp_abort`); false when too many wait.
///
/// # Safety
///
/// `net` is a live network namespace with our pernet state.
pub(crate) unsafe fn reset_tcp(net: *mut net, local: (Ipv4, u16), remote: (Ipv4, u16)) -> bool {
    // SAFETY: `net` is live by the function's contract.
    unsafe {
        iprp_shim_reset_tcp(
            net,
            local.0.to_be(),
            local.1.to_be(),
            remote.0.to_be(),
            remote.1.to_be(),
        )
    }
}

/// Aborts local TCP connection `local` <-> `remote` now (`tcp_abort`, which
/// sends a reset); false if there is none. Process context, no spinlock
/// held.
///
/// # Safety
///
/// `net` is a live network namespace.
pub(crate) unsafe fn abort_tcp(net: *mut net, local: (Ipv4, u16), remote: (Ipv4, u16)) -> bool {
    // SAFETY: `net` is live by the function's contract.
    unsafe {
        iprp_shim_abort_tcp(
            net,
            local.0.to_be(),
            local.1.to_be(),
            remote.0.to_be(),
            remote.1.to_be(),
        )
    }
}

/// Starts the namespace's slow timer unless it is pending.
///
/// # Safety
///
/// `net` is a live network namespace with our pernet state.
pub(crate) unsafe fn timer_start(net: *mut net, ms: u32) {
    // SAFETY: by the function's contract.
    unsafe { iprp_shim_timer_start(net, ms) }
}

/// Lets other tasks run during a long loop in process context.
pub(crate) fn cond_resched() {
    // SAFETY: called only from process context (netlink handlers).
    unsafe { iprp_shim_cond_resched() }
}

/// Disables bottom halves (nests); pair with [`bh_enable`]. For the lock
/// guards of `crate::sync`, which pair them.
pub(crate) fn bh_disable() {
    // SAFETY: never called in hard-irq context; the caller pairs it.
    unsafe { iprp_shim_bh_disable() }
}

/// Enables bottom halves again after [`bh_disable`].
pub(crate) fn bh_enable() {
    // SAFETY: paired with an earlier `bh_disable` on this CPU.
    unsafe { iprp_shim_bh_enable() }
}

/// What [`SkbRef::has_socket`] asks of a 4-tuple; the values are
/// `IPRP_SK_*` in shim.h.
#[derive(Clone, Copy)]
#[repr(u8)]
pub(crate) enum SocketQuery {
    /// A socket takes its incoming packets: a TCP connection in any state
    /// but LISTEN, or any matching UDP socket.
    Takes = 0,
    /// As `Takes`, but a TCP connection only while connecting (SYN-SENT).
    Connecting = 1,
    /// A socket uses the tuple as its own: a TCP connection not in
    /// TIME_WAIT, or a UDP socket connected to exactly that peer.
    Uses = 2,
}

/// Outcome of [`SkbRef::icmp_error_set_addr`].
#[derive(PartialEq, Eq)]
pub(crate) enum IcmpRewrite {
    /// Translated.
    Done,
    /// The ICMP checksum was wrong: left untouched, for the stack to drop.
    BadChecksum,
    /// The packet could not be made writable.
    NoMemory,
}

/// A socket buffer lent to us for `'a`: by the stack for the duration of a
/// hook call, or borrowed from an [`OwnedSkb`] (which cannot be consumed,
/// reinjected or dropped while the borrow lives).
///
/// # Invariants
///
/// `ptr` is a valid `sk_buff` for `'a`. `head` is null, or `headlen` bytes
/// of its linear data starting at `skb->data`, unchanged while `head` is
/// set (every method that may change or move the data takes `&mut self`
/// and clears `head`).
pub(crate) struct SkbRef<'a> {
    ptr: *mut sk_buff,
    head: *const u8,
    headlen: usize,
    _lent: PhantomData<&'a mut sk_buff>,
}

impl<'a> SkbRef<'a> {
    /// An skb lent to a hook with its linear data.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid skb for `'a` (a hook passes its own call), and
    /// `head` is `skb->data` with `headlen` =
    /// `skb_headlen(skb)`: readable, and changed by no one else during
    /// `'a`.
    pub(crate) unsafe fn with_head(ptr: *mut sk_buff, head: *const u8, headlen: u32) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self {
            ptr,
            head,
            headlen: headlen as usize,
            _lent: PhantomData,
        }
    }

    /// The packet's linear data from the IP header on, as the hook got it
    /// (empty once the packet was changed, or for an skb without it).
    pub(crate) fn head(&self) -> &[u8] {
        if self.head.is_null() {
            return &[];
        }
        // SAFETY: by the type invariant `head` points to `headlen` bytes
        // that do not change while it is set; the slice borrows `self`, and
        // whatever changes the packet needs `&mut self`.
        unsafe { core::slice::from_raw_parts(self.head, self.headlen) }
    }

    /// Addresses and ports if this is a TCP/UDP packet we can translate
    /// (through the shim, for headers outside the linear data).
    pub(crate) fn parse(&self) -> Option<Pkt> {
        let mut pkt = Pkt::default();
        // SAFETY: `self.ptr` is valid (type invariant); `pkt` is writable.
        (unsafe { iprp_shim_parse(self.ptr, &mut pkt) } == 0).then_some(pkt)
    }

    /// Takes the packet over from the stack, to hold it.
    ///
    /// # Safety
    ///
    /// The skb was lent to a hook, which returns NF_STOLEN and does not use
    /// `self` again.
    pub(crate) unsafe fn steal(&self) -> OwnedSkb {
        // SAFETY: by the function's contract the stack gives the skb up to
        // us when the hook returns NF_STOLEN.
        unsafe { OwnedSkb::from_raw(self.ptr) }
    }

    /// Rewrites the source (`dst == false`) or destination address with
    /// incremental checksum updates; false if the packet could not be made
    /// writable.
    pub(crate) fn set_addr(&mut self, dst: bool, addr: Ipv4) -> bool {
        // INVARIANT: the data may move (`skb_ensure_writable`).
        self.head = core::ptr::null();
        // SAFETY: `self.ptr` is valid (type invariant).
        unsafe { iprp_shim_set_addr(self.ptr, dst, addr.to_be()) == 0 }
    }

    /// Inserts the 4-byte TCP option `opt` first among the options of this
    /// TCP segment (header, length and checksums adjusted); `Err` with the
    /// shim's negative errno when it cannot (no room, data in the segment,
    /// no memory), the packet then unchanged.
    pub(crate) fn tcp_insert_option(&mut self, opt: [u8; 4]) -> Result<(), i32> {
        // INVARIANT: the data may move and grow.
        self.head = core::ptr::null();
        // SAFETY: `self.ptr` is valid (type invariant).
        match unsafe { iprp_shim_tcp_insert_option(self.ptr, u32::from_ne_bytes(opt)) } {
            0 => Ok(()),
            e => Err(e),
        }
    }

    /// If the packet is an ICMP error of a class the stack acts on that
    /// quotes a TCP or UDP packet, the quoted packet's addresses and ports.
    pub(crate) fn parse_icmp_error(&self) -> Option<Pkt> {
        let mut pkt = Pkt::default();
        // SAFETY: `self.ptr` is valid (type invariant); `pkt` is writable.
        (unsafe { iprp_shim_parse_icmp_error(self.ptr, &mut pkt) } == 0).then_some(pkt)
    }

    /// Rewrites the quoted destination (`quoted_dst`) or source address of
    /// an ICMP error that [`Self::parse_icmp_error`] accepted, and the
    /// outer address facing it if it was the same, with every checksum.
    pub(crate) fn icmp_error_set_addr(&mut self, quoted_dst: bool, addr: Ipv4) -> IcmpRewrite {
        // INVARIANT: the data may move or change.
        self.head = core::ptr::null();
        // SAFETY: `self.ptr` is valid (type invariant).
        match unsafe { iprp_shim_icmp_error_set_addr(self.ptr, quoted_dst, addr.to_be()) } {
            0 => IcmpRewrite::Done,
            e if e == -(bindings::EINVAL as core::ffi::c_int) => IcmpRewrite::BadChecksum,
            _ => IcmpRewrite::NoMemory,
        }
    }

    /// Whether local sockets of `net` do `query` with the 4-tuple
    /// `local:lport` <-> `remote:rport` (host order), matched for the
    /// device `self` came in on (see [`SocketQuery`]).
    ///
    /// # Safety
    ///
    /// `net` is the live namespace the packet is in.
    pub(crate) unsafe fn has_socket(
        &self,
        net: *mut net,
        proto: Proto,
        (remote, rport): (Ipv4, u16),
        (local, lport): (Ipv4, u16),
        query: SocketQuery,
    ) -> bool {
        // SAFETY: `net` is live by the function's contract and `self.ptr`
        // is a valid skb (type invariant).
        unsafe {
            iprp_shim_sk_query(
                net,
                self.ptr,
                proto as u8,
                remote.to_be(),
                rport.to_be(),
                local.to_be(),
                lport.to_be(),
                query as u8,
            )
        }
    }

    /// Marks the packet untracked for conntrack (a first packet the
    /// redirector forwards: the flow's replies never pass here).
    pub(crate) fn untrack(&self) {
        // SAFETY: `self.ptr` is valid (type invariant).
        unsafe { iprp_shim_untrack(self.ptr) }
    }

    /// IPv4 source and destination.
    pub(crate) fn addrs(&self) -> (Ipv4, Ipv4) {
        // SAFETY: `self.ptr` is valid (type invariant) and has an IP header.
        unsafe {
            (
                Ipv4::from_be(iprp_shim_saddr(self.ptr)),
                Ipv4::from_be(iprp_shim_daddr(self.ptr)),
            )
        }
    }

    /// Bytes of packet data from `skb->data` on.
    pub(crate) fn len(&self) -> usize {
        // SAFETY: `self.ptr` is valid by the type invariant.
        unsafe { iprp_shim_skb_len(self.ptr) as usize }
    }

    /// Copies `to.len()` bytes starting at `offset`; false if the packet is
    /// shorter.
    pub(crate) fn copy_bits(&self, offset: usize, to: &mut [u8]) -> bool {
        let (Ok(off), Ok(len)) = (i32::try_from(offset), i32::try_from(to.len())) else {
            return false;
        };
        // SAFETY: `self.ptr` is valid by the type invariant and `to` is a
        // writable buffer of exactly `len` bytes.
        unsafe { iprp_shim_copy_bits(self.ptr, off, to.as_mut_ptr().cast(), len) == 0 }
    }
}

/// A socket buffer we own: held, or handed to our protocol handler.
///
/// # Invariants
///
/// `ptr` is a valid `sk_buff` owned by this value until it is consumed,
/// reinjected or dropped.
pub(crate) struct OwnedSkb {
    ptr: *mut sk_buff,
}

impl OwnedSkb {
    /// # Safety
    ///
    /// `ptr` must be a valid skb whose ownership passes to the new value.
    pub(crate) unsafe fn from_raw(ptr: *mut sk_buff) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self { ptr }
    }

    /// Borrows it for the helpers of [`SkbRef`].
    pub(crate) fn as_ref(&self) -> SkbRef<'_> {
        // INVARIANT: we own a valid skb, for as long as `self` is borrowed;
        // no head.
        SkbRef {
            ptr: self.ptr,
            head: core::ptr::null(),
            headlen: 0,
            _lent: PhantomData,
        }
    }

    fn into_raw(self) -> *mut sk_buff {
        let ptr = self.ptr;
        core::mem::forget(self);
        ptr
    }

    /// Frees a packet we accepted and processed (not a drop).
    pub(crate) fn consume(self) {
        // SAFETY: we own the pointer (type invariant) and give it up here.
        unsafe { iprp_shim_consume_skb(self.into_raw()) }
    }

    /// Hands a held packet back to IP input.
    pub(crate) fn reinject(self) {
        // SAFETY: we own the pointer (type invariant); netif_rx takes it.
        unsafe { iprp_shim_reinject(self.into_raw()) }
    }
}

// SAFETY: an skb we own is referenced by nobody else; it may be freed or
// reinjected on any CPU (the shards that hold packets move between CPUs
// under their locks).
unsafe impl Send for OwnedSkb {}

impl Drop for OwnedSkb {
    /// Dropping an owned skb is a packet drop.
    fn drop(&mut self) {
        // SAFETY: we own `self.ptr` (type invariant) and never use it again.
        unsafe { iprp_shim_kfree_skb(self.ptr) }
    }
}
