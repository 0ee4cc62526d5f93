#!/usr/bin/env bash
# Host side of the benchmarks: boots the test kernel under QEMU (TCG) with
# virtme-ng like vm-tests/run.sh, runs bench/guest.sh inside (every
# bench/guest/*.sh in name order), then summarises and plots on the host
# (bench/report.py, gnuplot).
#
#   bench/run.sh --kernel KDIR [--mode quick|full] [--only NAME[,NAME]] [--env 'K=V ...']
#
# --only runs the guest scripts whose name contains one of the NAMEs;
# --env passes variables to them, comma-separated values for spaces
# (e.g. --env BENCH_BULK_PLAN=25:10,100:5).
# quick: results in bench/results/quick-<time>/ (scratch, not committed).
# full:  results first in bench/results/full-<time>/, copied to
#        docs/results/ only if every benchmark succeeded.
# Exit status non-zero if any benchmark failed or the guest crashed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=../vm-tests/vng-root.sh
. "$REPO/vm-tests/vng-root.sh"
KDIR=""
MODE=quick
ONLY=""
ENVS=""
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) KDIR=$2; shift 2 ;;
	--mode) MODE=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	--env) ENVS=$2; shift 2 ;;
	*) echo "usage: $0 --kernel KDIR [--mode quick|full] [--only NAME]" >&2; exit 64 ;;
	esac
done
case "$MODE" in quick | full) ;; *) echo "run.sh: mode must be quick or full" >&2; exit 64 ;; esac
[ -n "$KDIR" ] && [ -f "$KDIR/arch/x86/boot/bzImage" ] || { echo "run.sh: no kernel at '$KDIR'" >&2; exit 64; }
for f in iprp.ko target/release/iprpctl target/bench/connect-gen target/bench/udp-blast; do
	[ -e "$REPO/$f" ] || { echo "run.sh: $f not built (make module cli bench-tools)" >&2; exit 64; }
done
command -v gnuplot >/dev/null || { echo "run.sh: gnuplot missing (make deps)" >&2; exit 64; }

export PATH=${IPRP_VENV:-/opt/iprp-venv}/bin:$PATH
RES=$REPO/bench/results/$MODE-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RES"
echo "# results in $RES"
{
	echo "key,value"
	echo "host_cpu,\"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\""
	echo "host_cpus,$(nproc)"
	echo "qemu,\"$(qemu-system-x86_64 --version | head -1)\""
	echo "accel,tcg"
	echo "kernel_dir,$(basename "$KDIR")"
	echo "commit,$(git -C "$REPO" rev-parse --short HEAD)"
	echo "only,\"$ONLY\""
	echo "env,\"$ENVS\""
} >"$RES/meta-host.csv"

# Variables for the guest scripts travel in a file (quotes in --exec do not).
for kv in $ENVS; do printf 'export %q\n' "$kv"; done >"$RES/env.sh"
TIMEOUT=$([ "$MODE" = full ] && echo 6000 || echo 1500)
start=$(date +%s)
set +e
timeout --foreground "$TIMEOUT" vng --run "$KDIR/arch/x86/boot/bzImage" --disable-kvm "${VNG_ROOT[@]}" \
	--cpus 2 --memory 1536M --rwdir="$RES" \
	--exec "$HERE/guest.sh $MODE $RES $ONLY" </dev/null 2>&1 | tee "$RES/console.log"
rc=${PIPESTATUS[0]}
set -e
echo "elapsed_vm_s,$(( $(date +%s) - start ))" >>"$RES/meta-host.csv"

summary=$(grep -E '^bench: [0-9]+ ok, [0-9]+ failed' "$RES/console.log" | tail -1 || true)
if [ -z "$summary" ]; then
	echo "run.sh: the guest printed no summary (crash, hang or timeout; vng rc=$rc)"
	exit 1
fi
if [ "$rc" -ne 0 ]; then
	echo "run.sh: $summary (vng rc=$rc)"
	exit 1
fi

python3 "$HERE/report.py" "$RES"
if [ "$MODE" = full ] && [ -z "$ONLY" ]; then
	DOCS=$REPO/docs/results
	mkdir -p "$DOCS"
	# A complete run replaces every earlier result (also runs.csv, which
	# describes results assembled from several boots).
	rm -f "$DOCS"/*.csv "$DOCS"/*.svg "$DOCS"/console-*.log
	cp "$RES"/*.csv "$RES"/*.svg "$RES"/generated.md "$DOCS"/
	cp "$RES/console.log" "$DOCS/console-full.log"
	python3 "$HERE/report.py" --update-readme "$DOCS"
	echo "# full results copied to $DOCS"
fi
echo "# done in $(( $(date +%s) - start )) s: $summary"
