# SPDX-License-Identifier: GPL-2.0
#
# User-facing entry points. The kernel build itself reads Kbuild.
#
#   make demo      install deps, build kernel+module+CLI, run the VM demo
#   make test      install deps, build everything, run host and VM tests
#   make VARIANT=debug test   same on the debug kernel (KASAN, lockdep, ...)
#   make bench     install deps, build, full benchmark run (< 30 min) -> docs/results
#   make bench-quick   the same, quick mode (< 5 min, CI smoke test) -> bench/results

VARIANT ?= base
LLVM ?= -19
export PATH := $(HOME)/.cargo/bin:/opt/iprp-venv/bin:$(PATH)

# Resolved lazily: builds the kernel on first use, then hits the cache.
KDIR = $(shell scripts/build-kernel.sh $(VARIANT))

.PHONY: all deps kernel module cli core-test cli-test host-test vm-test test demo lint clean debug-test \
	bench bench-quick bench-tools

all: module cli

deps:
	scripts/install-deps.sh

kernel:
	scripts/build-kernel.sh $(VARIANT)

# Kbuild compiles the core's crates.io dependencies itself; cargo only
# fetches them and tells where they are.
src/crates.mk: Cargo.lock scripts/crates-mk.py
	cargo fetch --locked
	scripts/crates-mk.py $@

module: src/crates.mk
	$(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) modules

cli:
	cargo build --release -p iprpctl

core-test:
	cargo test -p iprp-core

cli-test:
	cargo test -p iprpctl

host-test: core-test cli-test

vm-test: module cli
	vm-tests/run.sh --kernel $(KDIR) --suite all

# The quick benchmark is CI's smoke test of the benchmark suite: it fails
# only if a mechanism does not work, never on a number.
test: deps
	$(MAKE) host-test
	$(MAKE) vm-test
	$(MAKE) bench-tools
	bench/run.sh --kernel $(KDIR) --mode quick

# The whole VM suite on the debug kernel (KASAN, lockdep, atomic-sleep
# checks, kmemleak): any report fails the run. iprp.ko is rebuilt against
# that kernel (and back against the base kernel by the next `make module`).
debug-test: VARIANT := debug
debug-test: deps
	$(MAKE) VARIANT=debug module cli
	vm-tests/run.sh --kernel $(KDIR) --suite all

demo: deps
	$(MAKE) module cli
	vm-tests/run.sh --kernel $(KDIR) --suite demo

# Benchmarks (bench/): the connection generator is a host-built C program
# that the guest runs from the shared root filesystem.
bench-tools: target/bench/connect-gen target/bench/udp-blast

target/bench/%: bench/%.c
	mkdir -p target/bench
	gcc -O2 -Wall -Wextra -o $@ $<

bench: deps
	$(MAKE) module cli bench-tools
	bench/run.sh --kernel $(KDIR) --mode full

bench-quick: deps
	$(MAKE) module cli bench-tools
	bench/run.sh --kernel $(KDIR) --mode quick

lint:
	cargo fmt --all --check
	rustfmt --edition 2021 --check \
		--config-path $${IPRP_CACHE:-/var/cache/iprp}/linux-source-7.2/.rustfmt.toml src/iprp_main.rs
	cargo clippy --workspace --all-targets -- -D warnings
	$(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) CLIPPY=1 modules

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) clean
	cargo clean
