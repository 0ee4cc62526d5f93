// SPDX-License-Identifier: GPL-2.0

//! iprpctl: configure and observe iprp. See docs/cli.md.

fn main() {
    std::process::exit(iprpctl::run(
        std::env::args_os()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned()),
    ));
}
