// SPDX-License-Identifier: GPL-2.0

//! Requests and replies of the generic-netlink family, for the handlers
//! the generated ops table (src/netlink-gen.c, from the YNL spec) calls:
//! `iprp_nl_<cmd>_doit` and `iprp_nl_<cmd>_dumpit`, defined with
//! [`doit!`] and [`dumpit!`].
//!
//! Genetlink has validated the attributes against the op's generated policy
//! before a handler runs, so a present attribute has its type's length and
//! its range; [`Attrs`] reads them. [`Msg`] writes attributes into a reply
//! or dump message; a reply grows and is rebuilt when it does not fit, so
//! nothing counts sizes. The C side (src/genl.c) reaches what bindgen
//! cannot: static inlines and the fields of `genl_info`.

use crate::pernet::{self, NetState};
use core::marker::PhantomData;
use iprp_core::Ipv4;
use kernel::bindings::sk_buff;
use kernel::prelude::*;

/// `struct genl_info`, only handled through pointers.
#[repr(C)]
pub(crate) struct GenlInfo {
    _opaque: [u8; 0],
}

/// `struct netlink_callback`, only handled through pointers.
#[repr(C)]
pub(crate) struct NetlinkCallback {
    _opaque: [u8; 0],
}

/// `struct nlattr`: the header of an attribute, its payload follows.
#[repr(C)]
struct NlAttr {
    nla_len: u16,
    nla_type: u16,
}

/// `NLA_HDRLEN`.
const NLA_HDRLEN: usize = 4;

/// A named statistic for a reply; 0 or `-EMSGSIZE`.
pub(crate) type StatFn =
    unsafe extern "C" fn(ctx: *mut c_void, name: *const c_char, value: u64) -> c_int;

/// `struct iprp_hook_pkts` (shim.h): what the hooks count per CPU.
#[repr(C)]
#[derive(Default)]
pub(crate) struct HookPkts {
    /// IPv4 packets PRE_ROUTING saw.
    pub(crate) pre_routing: u64,
    /// IPv4 packets LOCAL_OUT saw.
    pub(crate) local_out: u64,
    /// Packets translated in by a lock-free lookup.
    pub(crate) translated_in: u64,
    /// Packets translated out by a lock-free lookup.
    pub(crate) translated_out: u64,
    /// Of those, routed with their binding's cached route.
    pub(crate) route_reused: u64,
    /// Of those, routed by a route lookup.
    pub(crate) route_looked_up: u64,
}

const _: () = assert!(core::mem::size_of::<HookPkts>() == 6 * 8);

extern "C" {
    fn iprp_nl_do_attrs(info: *const GenlInfo, maxattr: *mut u32) -> *const *const NlAttr;
    fn iprp_nl_dump_info(
        cb: *mut NetlinkCallback,
        attrs: *mut *const *const NlAttr,
        maxattr: *mut u32,
    ) -> *const GenlInfo;
    fn iprp_nl_state(info: *const GenlInfo) -> *mut c_void;
    fn iprp_nl_flags(info: *const GenlInfo) -> u16;
    fn iprp_nl_set_err_msg(info: *const GenlInfo, msg: *const c_char);
    fn iprp_nl_set_attr_missing(info: *const GenlInfo, ty: u32);
    fn iprp_nl_reply_new(
        info: *mut GenlInfo,
        size: usize,
        cmd: u8,
        hdr: *mut *mut c_void,
    ) -> *mut sk_buff;
    fn iprp_nl_reply_send(info: *mut GenlInfo, msg: *mut sk_buff, hdr: *mut c_void) -> c_int;
    fn iprp_nl_msg_free(msg: *mut sk_buff);
    fn iprp_nl_dump_put(skb: *mut sk_buff, cb: *mut NetlinkCallback, cmd: u8) -> *mut c_void;
    fn iprp_nl_msg_end(skb: *mut sk_buff, hdr: *mut c_void);
    fn iprp_nl_msg_cancel(skb: *mut sk_buff, hdr: *mut c_void);
    fn iprp_nl_skb_state(skb: *const sk_buff) -> *mut c_void;
    fn iprp_nl_skb_len(skb: *const sk_buff) -> c_uint;
    fn iprp_nl_dump_pos(cb: *const NetlinkCallback) -> u64;
    fn iprp_nl_dump_set_pos(cb: *mut NetlinkCallback, pos: u64);
    fn iprp_nl_put(skb: *mut sk_buff, ty: c_int, len: c_int, data: *const c_void) -> c_int;
    fn iprp_nl_put_u64(skb: *mut sk_buff, ty: c_int, value: u64, padattr: c_int) -> c_int;
    fn iprp_nl_nest_start(skb: *mut sk_buff, ty: c_int) -> *mut NlAttr;
    fn iprp_nl_nest_end(skb: *mut sk_buff, nest: *mut NlAttr);
    fn iprp_nl_hook_pkts(info: *const GenlInfo, sum: *mut HookPkts);
    fn iprp_nl_zero_c_counters(info: *const GenlInfo);
    fn iprp_nl_bench_stats(info: *const GenlInfo, put: StatFn, ctx: *mut c_void) -> c_int;
    fn iprp_nl_bench_mode() -> bool;
    fn iprp_nl_listening(net: *mut kernel::bindings::net) -> bool;
    fn iprp_nl_event_new(hdr: *mut *mut c_void) -> *mut sk_buff;
    fn iprp_nl_event_send(
        net: *mut kernel::bindings::net,
        msg: *mut sk_buff,
        hdr: *mut c_void,
    ) -> c_int;
    fn iprp_nl_hooks_add(info: *const GenlInfo, roles: u32) -> c_int;
    fn iprp_nl_hooks_sync(info: *const GenlInfo, roles: u32);
}

/// A handler's error: an errno and, for extack, a static message.
pub(crate) struct NlError {
    pub(crate) err: Error,
    pub(crate) msg: Option<&'static CStr>,
}

impl From<Error> for NlError {
    fn from(err: Error) -> Self {
        Self { err, msg: None }
    }
}

impl From<(Error, &'static CStr)> for NlError {
    fn from((err, msg): (Error, &'static CStr)) -> Self {
        Self {
            err,
            msg: Some(msg),
        }
    }
}

/// What a handler returns.
pub(crate) type NlResult = Result<(), NlError>;

/// The attributes of a request, as genetlink parsed and validated them.
///
/// # Invariants
///
/// `attrs` is null or points to `max + 1` attribute pointers, each null or
/// a validated attribute, all valid for `'a`.
pub(crate) struct Attrs<'a> {
    attrs: *const *const NlAttr,
    max: u32,
    _request: PhantomData<&'a NlAttr>,
}

impl<'a> Attrs<'a> {
    /// The payload of attribute `ty` if the request has it.
    pub(crate) fn get(&self, ty: u32) -> Option<&'a [u8]> {
        if self.attrs.is_null() || ty > self.max {
            return None;
        }
        // SAFETY: `ty <= max`, so the slot is in the array (type invariant).
        let nla = unsafe { *self.attrs.add(ty as usize) };
        if nla.is_null() {
            return None;
        }
        // SAFETY: a non-null slot is a parsed attribute valid for `'a`
        // (type invariant); genetlink checked that `nla_len` covers the
        // header and lies within the message.
        unsafe {
            let len = usize::from((*nla).nla_len).saturating_sub(NLA_HDRLEN);
            Some(core::slice::from_raw_parts(
                nla.cast::<u8>().add(NLA_HDRLEN),
                len,
            ))
        }
    }

    fn fixed<const N: usize>(&self, ty: u32) -> Option<[u8; N]> {
        self.get(ty)?.get(..N)?.try_into().ok()
    }

    /// A `u8` attribute.
    pub(crate) fn u8(&self, ty: u32) -> Option<u8> {
        self.fixed::<1>(ty).map(|b| b[0])
    }

    /// A `u16` attribute (host order).
    pub(crate) fn u16(&self, ty: u32) -> Option<u16> {
        self.fixed(ty).map(u16::from_ne_bytes)
    }

    /// A `u32` attribute (host order).
    pub(crate) fn u32(&self, ty: u32) -> Option<u32> {
        self.fixed(ty).map(u32::from_ne_bytes)
    }

    /// A `u64` attribute (host order).
    pub(crate) fn u64(&self, ty: u32) -> Option<u64> {
        self.fixed(ty).map(u64::from_ne_bytes)
    }

    /// An IPv4 address attribute (four bytes in network order).
    pub(crate) fn ipv4(&self, ty: u32) -> Option<Ipv4> {
        self.fixed(ty).map(Ipv4::from_octets)
    }
}

/// A doit request.
///
/// # Invariants
///
/// `info` is the valid `genl_info` of the request being handled.
pub(crate) struct Request<'a> {
    info: *mut GenlInfo,
    attrs: Attrs<'a>,
}

impl<'a> Request<'a> {
    /// # Safety
    ///
    /// `info` is the `genl_info` genetlink passed to a doit of our family,
    /// valid for the returned value's life.
    pub(crate) unsafe fn from_raw(info: *mut GenlInfo) -> Self {
        let mut max = 0;
        // SAFETY: `info` is valid by the function's contract.
        let attrs = unsafe { iprp_nl_do_attrs(info, &mut max) };
        // INVARIANT: `info` by the contract; genl.c returns the op's attribute
        // array with its size.
        Self {
            info,
            attrs: Attrs {
                attrs,
                max,
                _request: PhantomData,
            },
        }
    }

    /// The request's attributes.
    pub(crate) fn attrs(&self) -> &Attrs<'_> {
        &self.attrs
    }

    /// The state of the namespace the request came from.
    pub(crate) fn state(&self) -> &'a NetState {
        // SAFETY: `info` is valid (type invariant); the namespace of a
        // request outlives its handling, and so does its state.
        unsafe { pernet::state(iprp_nl_state(self.info)) }
    }

    /// Whether the request has `NLM_F_REPLACE`.
    pub(crate) fn replace(&self) -> bool {
        // SAFETY: `info` is valid (type invariant).
        let flags = unsafe { iprp_nl_flags(self.info) };
        flags & kernel::bindings::NLM_F_REPLACE as u16 != 0
    }

    /// Fails with `EINVAL` naming the first attribute of `types` the
    /// request lacks (extack's missing-attribute field).
    pub(crate) fn require(&self, types: &[u32]) -> NlResult {
        match types.iter().find(|&&t| self.attrs.get(t).is_none()) {
            None => Ok(()),
            Some(&t) => {
                // SAFETY: `info` is valid (type invariant).
                unsafe { iprp_nl_set_attr_missing(self.info, t) };
                Err(EINVAL.into())
            }
        }
    }

    /// The errno for genetlink; a message goes to extack.
    pub(crate) fn finish(&self, res: NlResult) -> c_int {
        match res {
            Ok(()) => 0,
            Err(e) => {
                if let Some(msg) = e.msg {
                    // SAFETY: `info` is valid (type invariant); the message
                    // is static, as extack keeps the pointer.
                    unsafe { iprp_nl_set_err_msg(self.info, msg.as_char_ptr()) };
                }
                e.err.to_errno()
            }
        }
    }

    /// Sends a reply of command `cmd` that `build` fills. A reply starts
    /// at NLMSG_GOODSIZE; if it does not fit, it is built again in a
    /// larger buffer.
    pub(crate) fn reply(&self, cmd: u32, build: impl Fn(&mut Msg<'_>) -> Result) -> NlResult {
        // 0: NLMSG_GOODSIZE; then larger, up to 64 KiB.
        for size in [0, 16 << 10, 64 << 10] {
            let mut hdr = core::ptr::null_mut();
            // SAFETY: `info` is valid (type invariant); `hdr` is writable.
            let skb = unsafe { iprp_nl_reply_new(self.info, size, cmd as u8, &mut hdr) };
            if skb.is_null() {
                return Err(ENOMEM.into());
            }
            // INVARIANT: we own the new message until it is sent or freed.
            let mut msg = Msg {
                skb,
                _msg: PhantomData,
            };
            match build(&mut msg) {
                Ok(()) => {
                    // SAFETY: `skb`/`hdr` are the reply just built; this
                    // sends and frees it.
                    return kernel::error::to_result(unsafe {
                        iprp_nl_reply_send(self.info, skb, hdr)
                    })
                    .map_err(NlError::from);
                }
                Err(e) => {
                    // SAFETY: the reply is ours and not sent.
                    unsafe { iprp_nl_msg_free(skb) };
                    if e != EMSGSIZE {
                        return Err(e.into());
                    }
                }
            }
        }
        Err(EMSGSIZE.into())
    }

    /// The namespace's per-CPU hook counts, summed over CPUs.
    pub(crate) fn hook_pkts(&self) -> HookPkts {
        let mut sum = HookPkts::default();
        // SAFETY: `info` is valid (type invariant); `sum` is writable and
        // has the layout of `struct iprp_hook_pkts`.
        unsafe { iprp_nl_hook_pkts(self.info, &mut sum) };
        sum
    }

    /// Zeroes the counters the C side keeps (hook packets, bench timings).
    pub(crate) fn zero_c_counters(&self) {
        // SAFETY: `info` is valid (type invariant).
        unsafe { iprp_nl_zero_c_counters(self.info) }
    }

    /// Adds the benchmark statistics (bench=1 only) to `msg`.
    pub(crate) fn put_bench_stats(&self, msg: &mut Msg<'_>) -> Result {
        // SAFETY: `info` is valid (type invariant); `put_stat_cb` gets back
        // `msg` as its context during this call only.
        let ret =
            unsafe { iprp_nl_bench_stats(self.info, put_stat_cb, core::ptr::from_mut(msg).cast()) };
        kernel::error::to_result(ret)
    }

    /// Registers the hooks `roles` need, keeping those in place.
    pub(crate) fn hooks_add(&self, roles: u32) -> Result {
        // SAFETY: `info` is valid (type invariant); we run under genl_mutex.
        kernel::error::to_result(unsafe { iprp_nl_hooks_add(self.info, roles) })
    }

    /// Leaves exactly the hooks `roles` need (only removes: cannot fail).
    pub(crate) fn hooks_sync(&self, roles: u32) {
        // SAFETY: `info` is valid (type invariant); we run under genl_mutex.
        unsafe { iprp_nl_hooks_sync(self.info, roles) }
    }
}

/// Whether iprp was loaded with bench=1.
pub(crate) fn bench_mode() -> bool {
    // SAFETY: reads a module parameter; no preconditions.
    unsafe { iprp_nl_bench_mode() }
}

/// Whether anybody in namespace `net` listens to the events group.
pub(crate) fn listening(net: *mut kernel::bindings::net) -> bool {
    // SAFETY: `net` is a live namespace (the caller's, whose state it
    // holds); the check only reads its netlink listeners.
    unsafe { iprp_nl_listening(net) }
}

/// Sends an event message that `build` fills to the events group of
/// namespace `net`, from any context (atomic allocation). `ESRCH` when
/// nobody listens any more.
pub(crate) fn multicast(
    net: *mut kernel::bindings::net,
    build: impl FnOnce(&mut Msg<'_>) -> Result,
) -> Result {
    let mut hdr = core::ptr::null_mut();
    // SAFETY: `hdr` is writable.
    let skb = unsafe { iprp_nl_event_new(&mut hdr) };
    if skb.is_null() {
        return Err(ENOMEM);
    }
    // INVARIANT: we own the new message until it is sent or freed.
    let mut msg = Msg {
        skb,
        _msg: PhantomData,
    };
    if let Err(e) = build(&mut msg) {
        // SAFETY: the message is ours and not sent.
        unsafe { iprp_nl_msg_free(skb) };
        return Err(e);
    }
    // SAFETY: `skb`/`hdr` are the message just built, which this sends
    // and frees; `net` is live (as above).
    kernel::error::to_result(unsafe { iprp_nl_event_send(net, skb, hdr) })
}

/// `iprp_stat_fn` for the C side's statistics: `ctx` is a [`Msg`].
///
/// # Safety
///
/// `ctx` is the `&mut Msg` [`Request::put_bench_stats`] passed, `name` a
/// NUL-terminated string, both valid for the call.
unsafe extern "C" fn put_stat_cb(ctx: *mut c_void, name: *const c_char, value: u64) -> c_int {
    // SAFETY: `put_bench_stats` passes its `&mut Msg` as `ctx`, and C passes
    // a NUL-terminated name, both valid for this call.
    let (msg, name) = unsafe { (&mut *ctx.cast::<Msg<'_>>(), CStr::from_char_ptr(name)) };
    match put_stat(msg, name.to_bytes_with_nul(), value) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// One `IPRP_A_STAT` nest: `name` (NUL-terminated) and its value.
pub(crate) fn put_stat(msg: &mut Msg<'_>, name: &[u8], value: u64) -> Result {
    use crate::uapi::iprp_attr as a;
    msg.nest(a::IPRP_A_STAT, |m| {
        m.put(a::IPRP_A_STAT_NAME, name)?;
        m.put_u64(a::IPRP_A_STAT_VALUE, value, a::IPRP_A_PAD)
    })
}

/// A netlink message being built: a reply, or one message of a dump.
///
/// # Invariants
///
/// `skb` is a valid message buffer we may append attributes to for `'a`.
pub(crate) struct Msg<'a> {
    skb: *mut sk_buff,
    _msg: PhantomData<&'a mut sk_buff>,
}

impl Msg<'_> {
    /// Appends attribute `ty` with payload `data`; `EMSGSIZE` when full.
    pub(crate) fn put(&mut self, ty: u32, data: &[u8]) -> Result {
        let len = c_int::try_from(data.len()).map_err(|_| EMSGSIZE)?;
        // SAFETY: `skb` is valid (type invariant); `data` is readable for
        // `len` bytes.
        let ret = unsafe { iprp_nl_put(self.skb, ty as c_int, len, data.as_ptr().cast()) };
        if ret != 0 {
            return Err(EMSGSIZE);
        }
        Ok(())
    }

    /// A `u8` attribute.
    pub(crate) fn put_u8(&mut self, ty: u32, v: u8) -> Result {
        self.put(ty, &[v])
    }

    /// A `u16` attribute (host order).
    pub(crate) fn put_u16(&mut self, ty: u32, v: u16) -> Result {
        self.put(ty, &v.to_ne_bytes())
    }

    /// A `u32` attribute (host order).
    pub(crate) fn put_u32(&mut self, ty: u32, v: u32) -> Result {
        self.put(ty, &v.to_ne_bytes())
    }

    /// An IPv4 address attribute (four bytes in network order).
    pub(crate) fn put_ipv4(&mut self, ty: u32, addr: Ipv4) -> Result {
        self.put(ty, &addr.octets())
    }

    /// A `u64` attribute, 64-bit aligned with a `pad` attribute if needed.
    pub(crate) fn put_u64(&mut self, ty: u32, v: u64, pad: u32) -> Result {
        // SAFETY: `skb` is valid (type invariant).
        let ret = unsafe { iprp_nl_put_u64(self.skb, ty as c_int, v, pad as c_int) };
        if ret != 0 {
            return Err(EMSGSIZE);
        }
        Ok(())
    }

    /// A nest `ty` whose attributes `f` puts.
    pub(crate) fn nest(&mut self, ty: u32, f: impl FnOnce(&mut Self) -> Result) -> Result {
        // SAFETY: `skb` is valid (type invariant).
        let nest = unsafe { iprp_nl_nest_start(self.skb, ty as c_int) };
        if nest.is_null() {
            return Err(EMSGSIZE);
        }
        // A failure leaves the nest open; the caller then drops the whole
        // message (a reply) or cancels it (a dump message).
        f(self)?;
        // SAFETY: `nest` was started in this message above.
        unsafe { iprp_nl_nest_end(self.skb, nest) };
        Ok(())
    }
}

/// A dump call: fills `skb` with messages from the position kept in `cb`.
///
/// # Invariants
///
/// `skb` and `cb` are the valid arguments of a dumpit of our family.
pub(crate) struct Dump<'a> {
    skb: *mut sk_buff,
    cb: *mut NetlinkCallback,
    cmd: u8,
    attrs: Attrs<'a>,
}

impl<'a> Dump<'a> {
    /// # Safety
    ///
    /// `skb` and `cb` are what genetlink passed to a dumpit of our family
    /// (for command `cmd`), valid for the returned value's life.
    pub(crate) unsafe fn from_raw(skb: *mut sk_buff, cb: *mut NetlinkCallback, cmd: u32) -> Self {
        let (mut attrs, mut max) = (core::ptr::null(), 0);
        // SAFETY: `cb` is valid by the function's contract; both are writable.
        unsafe { iprp_nl_dump_info(cb, &mut attrs, &mut max) };
        // INVARIANT: by the contract; genl.c returns the op's attribute
        // array with its size.
        Self {
            skb,
            cb,
            cmd: cmd as u8,
            attrs: Attrs {
                attrs,
                max,
                _request: PhantomData,
            },
        }
    }

    /// The dump request's attributes (filters).
    pub(crate) fn attrs(&self) -> &Attrs<'_> {
        &self.attrs
    }

    /// The state of the namespace the request came from.
    pub(crate) fn state(&self) -> &'a NetState {
        // SAFETY: `skb` is valid (type invariant); its socket's namespace
        // outlives the dump call, and so does its state.
        unsafe { pernet::state(iprp_nl_skb_state(self.skb)) }
    }

    /// Where the previous call of this dump stopped (0 at first).
    pub(crate) fn pos(&self) -> u64 {
        // SAFETY: `cb` is valid (type invariant).
        unsafe { iprp_nl_dump_pos(self.cb) }
    }

    /// Where the next call resumes.
    pub(crate) fn set_pos(&mut self, pos: u64) {
        // SAFETY: `cb` is valid (type invariant).
        unsafe { iprp_nl_dump_set_pos(self.cb, pos) }
    }

    /// Adds one message that `f` fills; `EMSGSIZE` (and the message
    /// removed) when it does not fit.
    pub(crate) fn message(&mut self, f: impl FnOnce(&mut Msg<'_>) -> Result) -> Result {
        // SAFETY: `skb`/`cb` are valid (type invariant).
        let hdr = unsafe { iprp_nl_dump_put(self.skb, self.cb, self.cmd) };
        if hdr.is_null() {
            return Err(EMSGSIZE);
        }
        // INVARIANT: the dump's buffer, appended to only during this call.
        let mut msg = Msg {
            skb: self.skb,
            _msg: PhantomData,
        };
        match f(&mut msg) {
            // SAFETY: `hdr` is the message just started in `skb`.
            Ok(()) => unsafe { iprp_nl_msg_end(self.skb, hdr) },
            Err(e) => {
                // SAFETY: as above; removes the partial message.
                unsafe { iprp_nl_msg_cancel(self.skb, hdr) };
                return Err(e);
            }
        }
        Ok(())
    }

    /// The dumpit return value: the bytes written (0 ends the dump), or an
    /// error other than a full buffer.
    pub(crate) fn finish(&self, res: Result) -> c_int {
        match res {
            Err(e) if e != EMSGSIZE => e.to_errno(),
            // SAFETY: `skb` is valid (type invariant).
            _ => (unsafe { iprp_nl_skb_len(self.skb) }) as c_int,
        }
    }
}

/// Defines `iprp_nl_<cmd>_doit` for the generated ops table: `$f` takes
/// the [`Request`] and returns an [`NlResult`].
macro_rules! doit {
    ($($name:ident => $f:expr;)*) => {$(
        /// A doit of the generated ops table (src/netlink-gen.c).
        ///
        /// # Safety
        ///
        /// Called by genetlink with the request's valid `info`.
        #[no_mangle]
        pub(crate) unsafe extern "C" fn $name(
            _skb: *mut kernel::bindings::sk_buff,
            info: *mut $crate::nl::GenlInfo,
        ) -> kernel::ffi::c_int {
            // SAFETY: genetlink passes the valid info of this request.
            let req = unsafe { $crate::nl::Request::from_raw(info) };
            let res = ($f)(&req);
            req.finish(res)
        }
    )*};
}

/// Defines `iprp_nl_<cmd>_dumpit` for the generated ops table: `$f` takes
/// the [`Dump`] and returns a `Result` (`EMSGSIZE` when the buffer filled).
macro_rules! dumpit {
    ($($name:ident($cmd:expr) => $f:expr;)*) => {$(
        /// A dumpit of the generated ops table (src/netlink-gen.c).
        ///
        /// # Safety
        ///
        /// Called by genetlink with the dump's valid `skb` and `cb`.
        #[no_mangle]
        pub(crate) unsafe extern "C" fn $name(
            skb: *mut kernel::bindings::sk_buff,
            cb: *mut $crate::nl::NetlinkCallback,
        ) -> kernel::ffi::c_int {
            // SAFETY: genetlink passes the valid arguments of this dump.
            let mut dump = unsafe { $crate::nl::Dump::from_raw(skb, cb, $cmd) };
            let res = ($f)(&mut dump);
            dump.finish(res)
        }
    )*};
}

pub(crate) use {doit, dumpit};
