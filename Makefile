# SPDX-License-Identifier: GPL-2.0
#
# User-facing entry points. The kernel build itself reads Kbuild.
#
#   make demo      install deps, build kernel+module+CLI, run the VM demo
#   make test      install deps, build everything, run host and VM tests
#   make debug-test   every VM suite on the debug kernel (KASAN, lockdep, ...)
#   make bench     install deps, build, full benchmark run (< 30 min) -> docs/results
#   make bench-quick   the same, quick mode (< 5 min, CI smoke test) -> bench/results
#   make fuzz      the core's fuzz harness, 10^7 iterations
#   make robust    fuzz + every VM suite on the debug kernel

VARIANT ?= base
LLVM ?= -19
LINUX_SERIES := $(shell . scripts/versions.env && echo $$LINUX_SERIES)
IPRP_CACHE ?= /var/cache/iprp
export IPRP_VENV ?= /opt/iprp-venv
export PATH := $(HOME)/.cargo/bin:$(IPRP_VENV)/bin:$(PATH)
LINUX_SRC = $(IPRP_CACHE)/linux-source-$(LINUX_SERIES)

# Resolved on first use by a target that needs the kernel (building it, or
# hitting the cache), once per make run; a failed kernel build stops make
# here instead of handing an empty KDIR to the next command.
KDIR = $(or $(KDIR_RESOLVED),$(eval KDIR_RESOLVED := $(shell scripts/build-kernel.sh $(VARIANT)))$(or \
	$(KDIR_RESOLVED),$(error scripts/build-kernel.sh $(VARIANT) failed; its log is above)))

.PHONY: all deps kernel module cli tools core-test cli-test host-test vm-test test check demo lint clean \
	ynl-gen ynl-check \
	debug-test debug-module fuzz robust bench bench-quick bench-tools

all: module cli tools

deps:
	scripts/install-deps.sh

kernel:
	scripts/build-kernel.sh $(VARIANT)

# Kbuild compiles the core's crates.io dependencies itself; cargo only
# fetches them and tells where they are. crates-mk.py also stops the build
# when Kbuild's crate rules no longer match the dependency graph.
src/crates.mk: Cargo.lock Kbuild scripts/crates-mk.py
	cargo fetch --locked
	scripts/crates-mk.py $@

module: src/crates.mk
	$(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) modules

cli:
	cargo build --release -p iprpctl

# Test programs that run in the VM (a fast flood sender; python is too slow
# under TCG for a million packets).
tools: target/tools/iprp_flood

target/tools/iprp_flood: vm-tests/tools/iprp_flood.c
	mkdir -p $(@D)
	gcc -O2 -Wall -Wextra -o $@ $<

core-test:
	cargo test -p iprp-core

cli-test:
	cargo test -p iprpctl

host-test: core-test cli-test

# VM_ENV="VAR=VALUE ..." passes variables to the guest's tests (e.g.
# IPRP_FLOOD_COUNT=100000 for a shorter flood).
VM_ENV ?=
vm-test: module cli tools
	vm-tests/run.sh --kernel $(KDIR) --suite all $(foreach e,$(VM_ENV),--env $(e))

# The quick benchmark is CI's smoke test of the benchmark suite: it fails
# only if a mechanism does not work, never on a number.
# The kernel first: the YNL spec test needs its unpacked source, and must
# not skip here (IPRP_REQUIRE_YNL=1).
test: deps
	$(MAKE) kernel
	IPRP_REQUIRE_YNL=1 $(MAKE) host-test
	$(MAKE) lint
	$(MAKE) vm-test
	$(MAKE) bench-tools
	bench/run.sh --kernel $(KDIR) --mode quick

# The fast inner loop (< 5 min warm): host tests, lint (which builds the
# module), and the smoke VM suite (10-module with 5 reloads instead of 50).
check: deps
	$(MAKE) host-test
	$(MAKE) lint
	$(MAKE) module cli tools
	vm-tests/run.sh --kernel $(KDIR) --suite 10-module --env IPRP_RELOADS=5

# The whole VM suite on the debug kernel (KASAN, lockdep, atomic-sleep
# checks, kmemleak): any report fails the run. iprp.ko for that kernel is
# built in target/debug-tree (see debug-module). SUITE=NAME runs one suite.
# That kernel runs the suites ~7x slower under TCG, so it repeats less: every
# path still runs, but not every count of the base run (VM_ENV overrides).
DEBUG_VM_ENV ?= IPRP_RELOADS=5 IPRP_PARALLEL=10 IPRP_LOSS_FLOWS=50 IPRP_FLOOD_COUNT=100000 IPRP_ATTACK_GUESSES=10000 \
	IPRP_FLOOD_TUPLES=20000 IPRP_NLFUZZ_COUNT=5000 IPRP_IDLE_MS=15000 IPRP_REBIND_RUN_S=120 \
	IPRP_RESTART_FLOW_S=600
SUITE ?= all
# SUITE=all runs in two VMs at once (DEBUG_LANES: 30-cli, the longest suite
# there, with the short ones in one; 40-attacks and 20-redirect, the next
# longest, in the other); SUITE=a,b runs those suites in one VM.
DEBUG_LANES ?= 30-cli,35-dump,25-icmp,80-nlfuzz,22-sched,26-fleet,29-restart,60-loss \
	40-attacks,10-module,20-redirect,27-rebind,28-keepalived,36-events,70-lifecycle,50-floods
debug-test: VARIANT := debug
debug-test: deps
	$(MAKE) debug-module cli tools
ifeq ($(SUITE),all)
	IPRP_VM_TIMEOUT=$${IPRP_VM_TIMEOUT:-10800} vm-tests/run-lanes.sh --kernel $(KDIR) \
		--module $(DEBUG_TREE)/iprp.ko --lanes '$(DEBUG_LANES)' \
		$(foreach e,$(DEBUG_VM_ENV) $(VM_ENV),--env $(e))
else
	IPRP_VM_TIMEOUT=$${IPRP_VM_TIMEOUT:-14400} vm-tests/run.sh --kernel $(KDIR) \
		--module $(DEBUG_TREE)/iprp.ko --suite '$(SUITE)' \
		$(foreach e,$(DEBUG_VM_ENV) $(VM_ENV),--env $(e))
endif

# iprp.ko for the debug kernel, built in a copy of the module's sources under
# target/ so it does not clobber the base kernel's ./iprp.ko (Kbuild builds
# in the source tree; tar keeps the mtimes, so the copy rebuilds
# incrementally).
DEBUG_TREE = $(CURDIR)/target/debug-tree
debug-module: src/crates.mk
	mkdir -p $(DEBUG_TREE)
	tar -c --exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
		--exclude='.*.cmd' --exclude='*.rmeta' --exclude='*.d' \
		--exclude='src/uapi_generated.rs' Kbuild include src | tar -x -C $(DEBUG_TREE)
	$(MAKE) -C $(shell scripts/build-kernel.sh debug) M=$(DEBUG_TREE) LLVM=$(LLVM) modules

# The core's fuzz harness (parser, both state machines, table invariants)
# for 10^7 iterations: about 25 s including the release build.
FUZZ_ITERS ?= 10000000
fuzz:
	IPRP_FUZZ_ITERS=$(FUZZ_ITERS) cargo test --release -p iprp-core --test fuzz -- fuzz_default --nocapture

# The robustness run in one target: host fuzz 10^7, then every VM suite (attacks,
# floods, loss at the issue's 30 %, lifecycle, netlink fuzzer included) on
# the debug kernel, where any KASAN/lockdep/atomic-sleep/kmemleak report
# fails the run. Not in CI (hours under TCG); see docs/pipeline.md.
robust: fuzz
	$(MAKE) debug-test VM_ENV="IPRP_LOSS_PCT=30 $(VM_ENV)"

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
	bench/run.sh --kernel $(KDIR) --mode full --half flows
	bench/run.sh --kernel $(KDIR) --mode full --half datapath

bench-quick: deps
	$(MAKE) module cli bench-tools
	bench/run.sh --kernel $(KDIR) --mode quick

# The netlink code generated from the YNL spec include/uapi/linux/iprp.yaml
# by the kernel's ynl_gen_c.py: the UAPI header include/uapi/linux/iprp.h
# and the policies and ops table src/netlink-gen.[ch]. Edit the spec, run
# make ynl-gen, commit all four; make ynl-check (in lint) fails when the
# files in the tree are not what the spec generates.
ynl-gen:
	scripts/ynl-gen.sh $(LINUX_SRC)

ynl-check:
	scripts/ynl-gen.sh --check $(LINUX_SRC)

lint: src/crates.mk ynl-check
	cargo fmt --all --check
	rustfmt --edition 2021 --check \
		--config-path $(LINUX_SRC)/.rustfmt.toml src/iprp_main.rs
	cargo clippy --workspace --all-targets -- -D warnings
	$(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) CLIPPY=1 modules
	$(LINUX_SRC)/scripts/checkpatch.pl --no-tree -q -f src/*.c src/*.h

# Never builds the kernel: with no built kernel there is no module to clean.
clean:
	kd=$$(scripts/build-kernel.sh --built $(VARIANT)) && \
		$(MAKE) -C $$kd M=$(CURDIR) LLVM=$(LLVM) clean || true
	cargo clean
