#!/usr/bin/env bash
# Host side of the VM tests: boots the test kernel under QEMU (TCG; there is
# no usable KVM here) with virtme-ng, which shares the host's root
# filesystem read-only so the guest runs the host's curl, iperf3, socat,
# python3, tcpdump, nft, tc and ipvsadm, and runs vm-tests/guest.sh inside.
#
#   vm-tests/run.sh --kernel KDIR [--suite all|demo|NAME[,NAME...]] [--module KO] [--env VAR=VALUE]...
#
# --env sets a variable for the guest's tests (e.g. IPRP_FLOOD_COUNT).
# KO defaults to ./iprp.ko (built for the base kernel); `make debug-test`
# passes the one built for the debug kernel in target/debug-tree.
#
# Exit status: 0 only if every test passed and the guest printed its
# summary line (a crashed or hung guest prints none).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=vng-root.sh
. "$HERE/vng-root.sh"
KDIR=""
SUITE=all
MODULE=$REPO/iprp.ko
GUEST_ENV=""
TIMEOUT=${IPRP_VM_TIMEOUT:-4800}
# The guest's vCPUs (each a host thread under TCG).
CPUS=${IPRP_VM_CPUS:-2}
[[ $CPUS =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: bad IPRP_VM_CPUS '$CPUS'" >&2; exit 64; }
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) KDIR=$2; shift 2 ;;
	--suite) SUITE=$2; shift 2 ;;
	--module) MODULE=$(realpath "$2"); shift 2 ;;
	--env)
		[[ $2 =~ ^[A-Z_][A-Z0-9_]*=[A-Za-z0-9_.,:/-]*$ ]] || { echo "run.sh: bad --env '$2'" >&2; exit 64; }
		GUEST_ENV="$GUEST_ENV $2"; shift 2 ;;
	*) echo "usage: $0 --kernel KDIR [--suite all|demo|TEST] [--module KO] [--env VAR=VALUE]..." >&2; exit 64 ;;
	esac
done
[ -n "$KDIR" ] && [ -f "$KDIR/arch/x86/boot/bzImage" ] || { echo "run.sh: no kernel at '$KDIR'" >&2; exit 64; }
[ -f "$MODULE" ] || { echo "run.sh: $MODULE not built (make module)" >&2; exit 64; }

export PATH=${IPRP_VENV:-/opt/iprp-venv}/bin:$PATH
# The kernel source unpacked by scripts/build-kernel.sh, shared read-only at
# the same path: the guest's ynl test (30-cli) runs tools/net/ynl from it.
# virtme-ng would otherwise hide it (the guest's /var/cache is a tmpfs).
CACHE=${IPRP_CACHE:-/var/cache/iprp}
RODIR=()
[ -d "$CACHE" ] && RODIR=(--rodir="/var/cache/iprp=$CACHE")
RES=$REPO/vm-tests/results/$(date +%Y%m%d-%H%M%S)-${SUITE//[^A-Za-z0-9_-]/_}
mkdir -p "$RES"
echo "# results in $RES"

set +e
# IPRP_VM_VERBOSE=1 shows the guest kernel's boot log (slow debug kernels).
VERBOSE=()
[ "${IPRP_VM_VERBOSE:-0}" = 1 ] && VERBOSE=(--verbose)
# A kernel report during boot (guest.sh's BOOT-REPORT marker) is the
# kernel's or the emulator's, not iprp's, but it disables lockdep and
# further KASAN reports: boot again, at most IPRP_BOOT_RETRIES times.
retries=${IPRP_BOOT_RETRIES:-2}
for boot in $(seq 0 "$retries"); do
	timeout --foreground "$TIMEOUT" vng --run "$KDIR/arch/x86/boot/bzImage" --disable-kvm "${VERBOSE[@]}" \
		"${VNG_ROOT[@]}" \
		--cpus "$CPUS" --memory 1536M --rwdir="$RES" "${RODIR[@]}" \
		--exec "env$GUEST_ENV $HERE/guest.sh $SUITE $RES $MODULE" </dev/null 2>&1 | tee "$RES/console.log"
	rc=${PIPESTATUS[0]}
	grep -q '^# BOOT-REPORT' "$RES/console.log" || break
	mv "$RES/console.log" "$RES/console-boot$boot.log"
	mv "$RES/dmesg-boot-report.txt" "$RES/dmesg-boot$boot-report.txt" 2>/dev/null
	[ "$boot" -lt "$retries" ] && echo "run.sh: kernel report during boot $boot (see $RES/dmesg-boot$boot-report.txt); booting again"
done
set -e
if [ ! -f "$RES/console.log" ]; then
	echo "run.sh: all $((retries + 1)) boots had a kernel report before any test (see $RES/dmesg-boot*-report.txt)"
	echo "0 passed, 1 failed"
	exit 1
fi

summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$RES/console.log" | tail -1 || true)
if [ -z "$summary" ] && [ -f "$RES/tap.txt" ]; then
	# The guest's console can fail to reach us (seen with two VMs at
	# once); the guest also writes its results, summary last, to tap.txt.
	echo "run.sh: the guest's console did not arrive; its results from $RES/tap.txt:"
	cat "$RES/tap.txt"
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$RES/tap.txt" | tail -1 || true)
fi
if [ -z "$summary" ]; then
	echo "run.sh: the guest printed no summary (crash, hang or timeout; vng rc=$rc)"
	echo "0 passed, 1 failed"
	exit 1
fi
exit "$rc"
