// SPDX-License-Identifier: GPL-2.0

//! iprp: client-oriented IP-level redirection (IPRP) for Linux.
//!
//! This crate is the thin kernel glue. Protocol logic lives in the sans-IO
//! `iprp_core` crate (src/core), which is linked into the same module; the C
//! glue (src/*.c, one file per concern) owns the registrations the kernel
//! crate has no abstraction for and calls the `iprp_rs_*` functions defined
//! here.

use kernel::prelude::*;

mod bench;
mod config;
mod dump;
mod hooks;
mod nl;
mod notify;
mod pernet;
mod proto;
mod route;
mod selftest;
mod shim;
mod status;
mod sync;
mod uapi;

module! {
    type: IprpModule,
    name: "iprp",
    authors: ["iprp developers"],
    description: "Client-oriented IP-level redirection (IPRP)",
    license: "GPL",
}

/// Module version reported over netlink (GET_STATUS).
pub(crate) const VERSION: &core::ffi::CStr = c"0.1.0";

struct IprpModule;

impl kernel::Module for IprpModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        shim::init()?;
        pr_info!("loaded, version {}\n", VERSION.to_str().unwrap_or("?"));
        Ok(IprpModule)
    }
}

impl Drop for IprpModule {
    fn drop(&mut self) {
        shim::exit();
        let live = pernet::LIVE_STATES.load(core::sync::atomic::Ordering::Relaxed);
        if live != 0 {
            pr_err!("leaked {} namespace states\n", live);
        }
        pr_info!("unloaded\n");
    }
}
