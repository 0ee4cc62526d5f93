#!/usr/bin/env bash
# Guest side of the benchmarks: runs inside the VM as root. Runs every
# bench/guest/*.sh in name order, each in its own bash process with MODE,
# OUT and REPO in the environment; each writes its own CSVs into OUT and
# exits non-zero if a mechanism did not work. Prints "bench: N ok, N failed"
# last; exits non-zero on any failure or kernel warning.
#   guest.sh MODE OUT [NAME-FILTER]
set -u
MODE=$1
OUT=$2
FILTER=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
export MODE OUT REPO
# Variables from bench/run.sh --env.
# shellcheck disable=SC1091
[ -f "$OUT/env.sh" ] && . "$OUT/env.sh"
. "$REPO/vm-tests/lib.sh"

echo "# bench mode $MODE, kernel $(uname -r), $(nproc) CPUs"
dmesg -n 1 2>/dev/null || true
{
	echo "key,value"
	echo "mode,$MODE"
	echo "date_utc,$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel,$(uname -r)"
	echo "guest_cpus,$(nproc)"
	echo "guest_mem_kb,$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
	echo "root_mount,\"$(awk '$2 == "/" { print $3, $4 }' /proc/mounts | tail -1)\""
	echo "tcp_syn_linear_timeouts,$(cat /proc/sys/net/ipv4/tcp_syn_linear_timeouts 2>/dev/null || echo none)"
} >"$OUT/meta-guest.csv"

ok=0 bad=0
for f in "$HERE"/guest/*.sh; do
	name=$(basename "$f" .sh)
	if [ -n "$FILTER" ]; then
		keep=0
		for f1 in ${FILTER//,/ }; do [[ "$name" == *"$f1"* ]] && keep=1; done
		[ "$keep" = 1 ] || continue
	fi
	echo "# --- $name ($(date +%T))"
	start=$(date +%s)
	bash "$f"
	rc=$?
	echo "# --- $name: exit $rc after $(( $(date +%s) - start )) s"
	if [ "$rc" -eq 0 ]; then ok=$((ok + 1)); else bad=$((bad + 1)); echo "BENCH $name FAILED"; fi
	# Leave nothing behind for the next script.
	for h in $HOSTS sw; do ip netns del "$h" 2>/dev/null; done
	grep -q '^iprp ' /proc/modules && rmmod iprp
done

dmesg >"$OUT/dmesg.txt"
if grep -E "$DMESG_BAD" "$OUT/dmesg.txt"; then
	echo "BENCH kernel warnings in dmesg"
	bad=$((bad + 1))
fi
echo "bench: $ok ok, $bad failed"
[ "$bad" -eq 0 ] && [ "$ok" -gt 0 ]
