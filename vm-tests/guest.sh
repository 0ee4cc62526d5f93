#!/usr/bin/env bash
# Guest side: runs inside the VM as root. Prints TAP and a final
# "N passed, N failed" line; exits non-zero on any failure, including a
# kernel warning or oops anywhere in dmesg.
#   guest.sh SUITE RESULTS_DIR [MODULE]   SUITE: all | demo | test-file stem[,stem...]
set -u
SUITE=$1
RES=$2
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
MODULE=${3:-$REPO/iprp.ko}
export REPO RES MODULE
# shellcheck source=lib.sh
. "$HERE/lib.sh"

echo "# kernel $(uname -r), $(nproc) CPUs, suite $SUITE"
echo "# root: $(awk '$2 == "/" { print $3, $4 }' /proc/mounts | tail -1)"
dmesg -n 1 2>/dev/null || true
# A report while the kernel booted, before iprp is loaded, is not ours, but
# it taints the kernel: lockdep switches itself off and KASAN reports only
# its first error, so the run could no longer find anything. run.sh boots
# again on this marker (seen on the debug kernel under TCG: a KASAN
# wild-memory-access in an early interrupt during identify_cpu).
if dmesg | grep -qE "$DMESG_BAD"; then
	dmesg >"$RES/dmesg-boot-report.txt"
	echo "# dmesg: kernel report during boot, before any test:"
	grep -m1 -A12 -E "$DMESG_BAD" "$RES/dmesg-boot-report.txt" | sed 's/^/#   /'
	echo "# BOOT-REPORT: the kernel is tainted before iprp was loaded"
	exit 75
fi

# Debug kernel: kmemleak's own thread scans all memory every 10 min, which
# under TCG takes CPU from the tests for nothing; one scan at the end (below)
# finds every leak that is still unreferenced then, and only those count.
KMEMLEAK=/sys/kernel/debug/kmemleak
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null
[ -w "$KMEMLEAK" ] && echo scan=off >"$KMEMLEAK"

case "$SUITE" in
all) files=$(ls "$HERE"/tests/*.sh) ;;
demo) files=$HERE/demo.sh ;;
*)	# One name or several, comma-separated (loss,lifecycle).
	files=""
	for s in ${SUITE//,/ }; do files="$files $(ls "$HERE"/tests/*"$s"*.sh 2>/dev/null)"; done
	files=$(echo $files) ;;
esac
[ -n "$files" ] || { echo "no tests match '$SUITE'"; echo "0 passed, 1 failed"; exit 1; }

echo "TAP version 13"
SUITE_TIMES=""
for f in $files; do
	echo "# --- $(basename "$f")"
	suite_t0=$(date +%s)
	# shellcheck disable=SC1090
	. "$f"
	SUITE_TIMES="$SUITE_TIMES$(basename "$f" .sh) $(( $(date +%s) - suite_t0 )) s
"
	# A kernel report is also named right after the suite that caused it
	# (long debug-kernel runs may be cut short before the final check).
	if dmesg | grep -qE "$DMESG_BAD"; then
		echo "# dmesg: kernel report after $(basename "$f")"
	else
		echo "# dmesg: clean after $(basename "$f")"
	fi
done

# Debug kernel: ask kmemleak for a scan after everything was unloaded; any
# unreferenced object is reported in dmesg (and fails the run below).
if [ -w "$KMEMLEAK" ]; then
	echo "# kmemleak: scanning"
	echo scan >"$KMEMLEAK"; sleep 5; echo scan >"$KMEMLEAK"
	cat "$KMEMLEAK" >"$RES/kmemleak.txt"
	tap "kmemleak finds no leak" bash -c "! grep -q 'unreferenced object' '$RES/kmemleak.txt'"
fi

dmesg >"$RES/dmesg.txt"
tap "no kernel warning, oops or leak report in dmesg" \
	bash -c "! grep -E '$DMESG_BAD' '$RES/dmesg.txt'"

{
	echo "# wall time per suite (in the guest):"
	printf '%s' "$SUITE_TIMES" | sed 's/^/#   /'
	echo "# slowest tests (in the guest; all in test-times.txt):"
	sort -rn "$RES/test-times.txt" | head -8 | awk -F '\t' '{ printf "#     %5d s  %d %s\n", $1, $2, $3 }'
	echo "1..$TAP_N"
	echo "$TAP_PASS passed, $TAP_FAIL failed"
} | tee -a "$RES/tap.txt"
[ "$TAP_FAIL" -eq 0 ]
