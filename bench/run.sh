#!/usr/bin/env bash
# Host side of the benchmarks: boots the test kernel under QEMU (TCG) with
# virtme-ng like vm-tests/run.sh, runs bench/guest.sh inside (every
# bench/guest/*.sh in name order), then summarises and plots on the host
# (bench/report.py, gnuplot).
#
#   bench/run.sh --kernel KDIR [--mode quick|full] [--half flows|datapath]
#                [--only NAME[,NAME]] [--env 'K=V ...']
#
# Full mode runs in two halves, each one boot under 30 min on an idle
# 2-core host: flows (figures 11-14: connect, legacy, bulk, new-flow CPU)
# and datapath (figures 8-10 and the deployability goals). `make bench`
# runs both at the same commit; --half runs one.
# --only runs the guest scripts whose name contains one of the NAMEs;
# --env passes variables to them, comma-separated values for spaces
# (e.g. --env BENCH_BULK_CELLS=far:25,near:25).
# quick: results in bench/results/quick-<time>/ (scratch, not committed).
# full:  results first in bench/results/full-<half>-<time>/; copied to
#        docs/results/ (that half's files replaced, runs.csv saying which
#        boot and commit each half comes from) only if every benchmark of
#        the half succeeded and the report's sanity checks passed.
# Exit status non-zero if any benchmark failed or the guest crashed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=../vm-tests/vng-root.sh
. "$REPO/vm-tests/vng-root.sh"
KDIR=""
MODE=quick
ONLY=""
HALF=""
ENVS=""
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) KDIR=$2; shift 2 ;;
	--mode) MODE=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	--half) HALF=$2; shift 2 ;;
	--env) ENVS=$2; shift 2 ;;
	*) echo "usage: $0 --kernel KDIR [--mode quick|full] [--only NAME]" >&2; exit 64 ;;
	esac
done
case "$MODE" in quick | full) ;; *) echo "run.sh: mode must be quick or full" >&2; exit 64 ;; esac
# The halves: which guest scripts, and which result files they own.
case "$HALF" in
"") ;;
flows) [ -z "$ONLY" ] || { echo "run.sh: --half or --only, not both" >&2; exit 64; }
	ONLY=11,12,13,14 FILES="fig11-* fig12-* fig13-* fig14-*" ;;
datapath) [ -z "$ONLY" ] || { echo "run.sh: --half or --only, not both" >&2; exit 64; }
	ONLY=08,15 FILES="fig08-* fig10* fig15-*" ;;
*) echo "run.sh: --half must be flows or datapath" >&2; exit 64 ;;
esac
[ -n "$KDIR" ] && [ -f "$KDIR/arch/x86/boot/bzImage" ] || { echo "run.sh: no kernel at '$KDIR'" >&2; exit 64; }
for f in iprp.ko target/release/iprpctl target/bench/connect-gen target/bench/udp-blast; do
	[ -e "$REPO/$f" ] || { echo "run.sh: $f not built (make module cli bench-tools)" >&2; exit 64; }
done
command -v gnuplot >/dev/null || { echo "run.sh: gnuplot missing (make deps)" >&2; exit 64; }

export PATH=${IPRP_VENV:-/opt/iprp-venv}/bin:$PATH
RES=$REPO/bench/results/$MODE${HALF:+-$HALF}-$(date +%Y%m%d-%H%M%S)
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
	echo "half,$HALF"
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

python3 "$HERE/report.py" "$RES" || { echo "run.sh: the report marked the run invalid (above)"; exit 1; }
if [ "$MODE" = full ] && [ -n "$HALF" ]; then
	DOCS=$REPO/docs/results
	mkdir -p "$DOCS"
	# This half's files replace the same files of an earlier run; runs.csv
	# keeps one row per half.
	(cd "$DOCS" && rm -f $FILES "console-$HALF.log")
	(cd "$RES" && cp $FILES "$DOCS"/ 2>/dev/null) || true
	cp "$RES/console.log" "$DOCS/console-$HALF.log"
	cp "$RES/meta-host.csv" "$DOCS/meta-host-$HALF.csv"
	cp "$RES/meta-guest.csv" "$DOCS/meta-guest-$HALF.csv"
	python3 - "$DOCS/runs.csv" "$HALF" "$RES" <<'PY'
import csv, os, sys
path, half, res = sys.argv[1], sys.argv[2], sys.argv[3]
meta = {}
for name in ("meta-host.csv", "meta-guest.csv"):
    with open(os.path.join(res, name)) as f:
        meta.update({r["key"]: r["value"] for r in csv.DictReader(f)})
head = ["files", "mode", "date_utc", "commit", "vm_seconds", "note"]
rows = []
if os.path.exists(path):
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if r["files"] != half]
rows.append(dict(files=half, mode="full", date_utc=meta.get("date_utc", "?"), commit=meta.get("commit", "?"),
                 vm_seconds=meta.get("elapsed_vm_s", "?"),
                 note=f"bench/run.sh --mode full --half {half}: one boot ({meta.get('only', '')})"))
with open(path, "w", newline="") as f:
    w = csv.DictWriter(f, head)
    w.writeheader()
    w.writerows(rows)
PY
	python3 "$HERE/report.py" "$DOCS" >/dev/null || echo "run.sh: docs/results as a whole fails a sanity check"
	python3 "$HERE/report.py" --update-readme "$DOCS"
	echo "# $HALF results copied to $DOCS"
fi
echo "# done in $(( $(date +%s) - start )) s: $summary"
