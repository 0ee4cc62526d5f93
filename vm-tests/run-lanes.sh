#!/usr/bin/env bash
# Runs groups of VM suites in parallel VMs ("lanes"), one run.sh each, and
# fails if any lane fails. Suites that spend much of their time waiting
# (timeouts, paced flows, idle expiry) overlap well even on 2 cores.
#
#   vm-tests/run-lanes.sh --kernel KDIR --lanes 'a,b c,d' [--module KO] [--env VAR=VALUE]...
#
# Each lane boots its own guest and writes its own results directory; the
# lane's console goes to vm-tests/results/lanes-<time>/laneN.log and its
# summary (per-suite wall times, "N passed, N failed") is printed at the end.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
LANES=""
ARGS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--lanes) LANES=$2; shift 2 ;;
	--kernel | --module | --env) ARGS+=("$1" "$2"); shift 2 ;;
	*) echo "usage: $0 --kernel KDIR --lanes 'a,b c,d' [--module KO] [--env VAR=VALUE]..." >&2; exit 64 ;;
	esac
done
[ -n "$LANES" ] || { echo "run-lanes.sh: no --lanes" >&2; exit 64; }

# vCPUs per lane: IPRP_VM_CPUS (run.sh's default, 2, unless set). One
# vCPU per lane was tried (docs/pipeline.md): no faster, and it starved
# the tests' concurrent programs.
export IPRP_VM_CPUS=${IPRP_VM_CPUS:-2}
LOGDIR=$REPO/vm-tests/results/lanes-$(date +%Y%m%d-%H%M%S)
mkdir -p "$LOGDIR"
echo "# lanes: $LANES; $IPRP_VM_CPUS vCPU(s) each; logs in $LOGDIR"
start=$(date +%s)
pids=()
n=0
for lane in $LANES; do
	n=$((n + 1))
	"$HERE/run.sh" "${ARGS[@]}" --suite "$lane" >"$LOGDIR/lane$n.log" 2>&1 &
	pids+=($!)
	echo "# lane $n ($lane): pid $!"
	# run.sh names its results directory after the second it starts.
	sleep 2
done

failed=0
n=0
for pid in "${pids[@]}"; do
	n=$((n + 1))
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || failed=$((failed + 1))
	echo "# lane $n: exit $rc after $(($(date +%s) - start)) s"
done

passed=0
fails=0
n=0
for lane in $LANES; do
	n=$((n + 1))
	echo "# lane $n ($lane):"
	grep -aE '^(not ok|# results in|#   [0-9]|# slowest|#     |run\.sh:)' "$LOGDIR/lane$n.log" | sed 's/^/  /' || true
	line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$LOGDIR/lane$n.log" | tail -1 || true)
	echo "  ${line:-no summary}"
	if [ -n "$line" ]; then
		passed=$((passed + ${line%% passed*}))
		f=${line#*, }
		fails=$((fails + ${f%% failed*}))
	fi
done
echo "# all lanes: $(($(date +%s) - start)) s"
echo "$passed passed, $fails failed"
[ "$failed" -eq 0 ]
