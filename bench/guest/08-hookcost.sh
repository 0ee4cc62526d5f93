#!/usr/bin/env bash
# Figures 8-10: per-packet cost of iprp's hooks, measured in the kernel.
#
# iprp is loaded with bench=1: each hook is timed in TSC cycles between
# two empty hooks called the same way (state lookup, call into Rust,
# verdict); packets alternate between "iprp's hook first" and "empty hook
# first" (the first hook pays for warming memory), so both costs come from
# the same packets in one boot, position for position. C's binding table is filled through the real
# client state machine (BENCH_FILL: REQ, CHK, CFM) with 0, 45, 1,000,
# 100,000 and 1,000,000 bindings to synthetic peers; small UDP datagrams
# (udp-blast) of flows that match none of them then go C -> S1 (LOCAL_OUT,
# figure 9) and S1 -> C (PRE_ROUTING, figure 8). "pass" packets go to an
# address no binding uses (the address filter answers); "lookup" packets go
# to the bindings' redirector on another port (the filter cannot help, the
# table is searched). Figure 10: one redirected UDP flow, translated at
# output and input. The redirector's PRE_ROUTING (rows "redirector-*" of
# figure 8, timed at R): datagrams to R's own address (no service there),
# datagrams that each start a new flow to a service (R creates an entry,
# picks a replica, forwards the datagram and sends a REQ), and datagrams
# of a legacy client's flow to a service, which R serves itself. At each table size, the slow timer's cost per tick. Last, busy
# CPU-us per datagram, module loaded vs not.
#
# Environment (bench/guest.sh): MODE quick|full, OUT results dir, REPO.
# Writes OUT/fig08-hookcost-raw.csv (figures 8-10) and OUT/fig08-cpu-raw.csv.
set -euo pipefail
MODE=${MODE:-quick}
OUT=${OUT:?}
REPO=${REPO:?}
RES=${RES:-$OUT}
# shellcheck source=../../vm-tests/lib.sh
. "$REPO/vm-tests/lib.sh"
GENL="/usr/bin/python3 $REPO/vm-tests/tools/iprp_genl.py"
BLAST=$REPO/target/bench/udp-blast
PY=/usr/bin/python3

if [ "$MODE" = quick ]; then
	# BENCH_HOOKCOST_ROUNDS (bench/run.sh --env) gives quick ratios an
	# interval: interleaved rounds of the same cells.
	LEVELS="0 1000 1000:500"; PKTS=50000; ROUNDS=${BENCH_HOOKCOST_ROUNDS:-1}; CPU_PKTS=50000
else
	# 6 interleaved rounds of 175,000 packets: more than 10^6 per cell in
	# all, and enough rounds for a 95 % interval of the median ratio.
	LEVELS="0 45 1000 100000 1000000 1000000:5000"; PKTS=175000; ROUNDS=6
	# /proc/stat counts in 10 ms ticks: 100,000 datagrams (seconds of
	# busy time) per round resolve the difference to well under 1 %.
	CPU_PKTS=100000
fi
CAPACITY=1048576
# New flows per round at R: one per source port of C (udp-blast flows).
NEWFLOWS=$((PKTS < 60000 ? PKTS : 60000))
FILL_REDIRECTOR=198.18.0.1	# first synthetic redirector of BENCH_FILL
CSV=$OUT/fig08-hookcost-raw.csv
CPUCSV=$OUT/fig08-cpu-raw.csv
TICKCSV=$OUT/fig08-tick-raw.csv
REROUTECSV=$OUT/fig10-reroute-raw.csv

log() { echo "# $(date +%T) hookcost: $*"; }
fail() { echo "BENCH FAILURE: hookcost: $*" >&2; exit 1; }

# stats NS: the bench.* and client.* stats of NS as "name value" lines.
stats() {
	n "$1" "$IPRPCTL" status -j | $PY -c '
import json, sys
for k, v in json.load(sys.stdin)["stats"].items():
    print(k, v)'
}

# measure FIGURE HOOK CLASS LABEL ENTRIES ROUND -- SENDER...: zero the
# counters of namespace $AT (default C), run the sender, append the
# per-packet costs of HOOK/CLASS there against HOOK's empty hook as a CSV
# row.
measure() {
	local fig=$1 hook=$2 cls=$3 label=$4 entries=$5 round=$6 at=${AT:-C}
	shift 7
	n "$at" $GENL IPRP_CMD_ZERO_COUNTERS 2>/dev/null
	"$@" >/dev/null
	stats "$at" >/tmp/bench-stats
	$PY - "$fig" "$hook" "$cls" "$label" "$entries" "$round" "$PKTS" >>"$CSV" <<'PY' || fail "$hook.$cls: too few packets timed"
import sys
fig, hook, cls, label, entries, rnd, sent = sys.argv[1:]
s = dict(l.split() for l in open("/tmp/bench-stats"))
khz = int(s["bench.tsc_khz"])
pk = lambda k: int(s[f"bench.{hook}.{k}.pkts"])
ns = lambda k: int(s[f"bench.{hook}.{k}.cycles"]) / pk(k) * 1e6 / khz
# Packets alternate between "iprp's hook first" and "empty hook first";
# every sent datagram must have been timed in one of the two positions.
# The alternation is per CPU, not per namespace: when each datagram makes
# another namespace's hook run on the same CPU (R's REQ reaching C, in the
# new-flow row), the two positions get uneven shares, so each position
# needs only a tenth of the datagrams.
total = pk(f"{cls}.first") + pk(f"{cls}.second")
empty = pk("empty.first") + pk("empty.second")
for pos in ("first", "second"):
    if total < 0.8 * int(sent) or pk(f"{cls}.{pos}") < 0.1 * int(sent) or empty < 0.9 * total:
        timed = {k: v for k, v in s.items() if k.startswith(f"bench.{hook}.") and k.endswith(".pkts")}
        print(f"{sent} sent; timed: {timed}", file=sys.stderr)
        sys.exit(1)
o1, o2 = ns(f"{cls}.first"), ns(f"{cls}.second")
e1, e2 = ns("empty.first"), ns("empty.second")
n = pk(f"{cls}.first") + pk(f"{cls}.second")
print(f"{fig},{hook},{label},{entries},{rnd},{n},{o1:.1f},{e1:.1f},{o2:.1f},{e2:.1f},"
      f"{o1 / e1:.3f},{o2 / e2:.3f},{(o1 + o2) / (e1 + e2):.3f}")
PY
	log "$(tail -1 "$CSV")"
}

# fill N [REDIRECTORS]: N confirmed bindings at C (BENCH_FILL), spread over
# REDIRECTORS synthetic redirector addresses (default: one per 50,000).
fill() {
	n C "$IPRPCTL" flush >/dev/null
	[ "$1" -eq 0 ] && return 0
	n C $GENL IPRP_CMD_BENCH_FILL "IPRP_A_COUNT:I:$1" ${2:+"IPRP_A_REDIRECTORS:I:$2"} 2>/tmp/fill.err
	grep -q "^errno 0 " /tmp/fill.err || fail "fill $1 ${2:-}: $(cat /tmp/fill.err)"
	local got
	# The table's own count (a dump of 10^6 bindings costs minutes under TCG).
	got=$(stats C | awk '$1 == "client.bindings" { print $2 }')
	[ "$got" = "$1" ] || fail "fill $1: the table holds '$got' bindings"
	log "filled $1 bindings${2:+ over $2 redirectors}"
}

# tick ENTRIES ROUND: the slow timer's cost at C while it holds ENTRIES
# bindings (bench mode times every tick): 3 s of ticks, cycles per tick.
tick() {
	n C $GENL IPRP_CMD_ZERO_COUNTERS 2>/dev/null
	sleep 3
	stats C >/tmp/bench-stats
	$PY - "$1" "$2" >>"$TICKCSV" <<'PY' || fail "tick at $1 bindings: no tick timed"
import sys
s = dict(l.split() for l in open("/tmp/bench-stats"))
ticks = int(s["bench.tick.pkts"])
if ticks == 0:
    sys.exit(1)
us = int(s["bench.tick.cycles"]) / ticks / int(s["bench.tsc_khz"]) * 1e3
print(f"{sys.argv[1]},{sys.argv[2]},{ticks},{us:.1f}")
PY
	log "tick: $(tail -1 "$TICKCSV")"
}

# reroute ROUND: of the translated output packets just measured (figure
# 10), the route lookup of their verdict (ip_route_me_harder, timed apart
# in bench mode) against the whole hook and the empty hook.
reroute() {
	$PY - "$1" >>"$REROUTECSV" <<'PY' || fail "reroute: no translated packet timed"
import sys
s = dict(l.split() for l in open("/tmp/bench-stats"))
khz = int(s["bench.tsc_khz"])
ns = lambda k: int(s[f"bench.local_out.{k}.cycles"]) / int(s[f"bench.local_out.{k}.pkts"]) * 1e6 / khz
n = int(s["bench.local_out.reroute.pkts"])
if n == 0:
    sys.exit(1)
xlat = (ns("xlat.first") + ns("xlat.second")) / 2
empty = (ns("empty.first") + ns("empty.second")) / 2
print(f"{sys.argv[1]},{n},{ns('reroute'):.1f},{xlat:.1f},{empty:.1f}")
PY
	log "reroute: $(tail -1 "$REROUTECSV")"
}

busy_us() { # busy CPU time of the whole VM in us, from /proc/stat
	awk -v hz="$(getconf CLK_TCK)" '/^cpu /{ printf "%.0f\n", ($2+$3+$4+$7+$8) * 1e6 / hz }' /proc/stat
}

# quiet: waits (up to 60 s) until the VM is idle for a second (< 5 % of its
# CPUs busy). The previous round's namespaces are torn down by a kernel
# worker after `ip netns del` returns; that work must not land in a window.
quiet() {
	local b0 b1 cpus i
	cpus=$(nproc)
	for i in $(seq 60); do
		b0=$(busy_us); sleep 1; b1=$(busy_us)
		[ $((b1 - b0)) -lt $((cpus * 50000)) ] && return 0
	done
	log "the VM did not become idle (last second: $((b1 - b0)) us busy)"
}

echo "figure,hook,class,entries,round,pkts,first_ns,empty_first_ns,second_ns,empty_second_ns,ratio_first,ratio_second,ratio" >"$CSV"
echo "state,round,pkts,busy_us,busy_us_per_pkt" >"$CPUCSV"
echo "entries,round,ticks,us_per_tick" >"$TICKCSV"
echo "round,pkts,reroute_ns,xlat_ns,empty_ns" >"$REROUTECSV"

# Figures 8-10, then the busy-CPU comparison; BENCH_HOOKCOST_PARTS=cpu
# (bench/run.sh --env) runs only the latter.
hook_rounds() {
	insmod "$MODULE" bench=1
	topo_up 0
	n C ip route add 198.18.0.0/15 dev eth0
	n C "$BLAST" sink 9000 &
	n S1 "$BLAST" sink 9000 &
	n S1 "$BLAST" sink 7777 &
	n R "$BLAST" sink 9000 &
	n R "$BLAST" sink 7777 &
	n C "$IPRPCTL" role client capacity "$CAPACITY" idle-timeout 86400000
	n R sysctl -qw net.ipv4.ip_forward=1
	n R "$IPRPCTL" role redirector capacity 131072
	for port in 7777 7778; do
		n R "$IPRPCTL" service add udp "$VIP:$port" sched rr response-timeout 1000 idle-timeout 600000
		n R "$IPRPCTL" replica add udp "$VIP:$port" "${ADDR[S1]}"
	done
	sleep 0.5

	for round in $(seq "$ROUNDS"); do
		for level in $LEVELS; do
			# N or N:R, N bindings over R redirector addresses (rows
			# "pass-spread" and "lookup-spread"; the address filter has 1,024
			# counters per side, so R in the thousands fills most of them).
			entries=${level%%:*} redirs="" sfx=""
			[ "$level" = "$entries" ] || { redirs=${level#*:}; sfx=-spread; }
			fill "$entries" "$redirs"
			measure 9 local_out pass "pass$sfx" "$entries" "$round" -- n C "$BLAST" send "${ADDR[S1]}" 9000 "$PKTS"
			measure 8 pre_routing pass "pass$sfx" "$entries" "$round" -- n S1 "$BLAST" send "${ADDR[C]}" 9000 "$PKTS"
			[ "$entries" -eq 0 ] && continue
			measure 9 local_out pass "lookup$sfx" "$entries" "$round" -- n C "$BLAST" send "$FILL_REDIRECTOR" 9000 "$PKTS"
			# The timer's cost depends on the bindings, not their addresses.
			[ -n "$sfx" ] || tick "$entries" "$round"
		done
		# Figure 10: one redirected flow and no other binding, as in the paper.
		# R forgets the previous round's flows too, so the flow's first
		# datagram starts a fresh handshake at once (with R's CONFIRMED entry
		# left, R would resend CFMs for a response timeout first, R8).
		fill 0
		n R "$IPRPCTL" flush redirector
		measure 10 local_out xlat xlat 0 "$round" -- n C "$BLAST" send "$VIP" 7777 "$PKTS" 18 40001
		reroute "$round"
		# Input: C opens the flow (to 7778, which S1 does not serve), then S1
		# sends from the service port to C's port, translated at C.
		n C "$BLAST" send "$VIP" 7778 3 18 40002 >/dev/null
		sleep 1
		n C "$IPRPCTL" bindings | grep -q 40002 || fail "no binding for the input flow"
		n C "$BLAST" sink 40002 &
		sleep 0.2
		measure 10 pre_routing xlat xlat 0 "$round" -- n S1 "$BLAST" send "${ADDR[C]}" 40002 "$PKTS" 18 7778
		# By name: $! would be the shell running `ip netns exec`, not the sink.
		pkill -f "udp-blast sink 40002"
		sleep 0.2
		# The redirector's hook, at R: a datagram to no service address,
		# then a legacy flow. L has no role, so R's REQ goes unanswered and
		# after the response timeout (1 s) the flow is R's own.
		AT=R measure 8 pre_routing pass redirector-other 0 "$round" -- \
			n C "$BLAST" send "${ADDR[R]}" 9000 "$PKTS"
		# New flows: each datagram from C comes from the next source port
		# (a raw socket), so none has an entry at R; C drops R's REQs (no
		# local socket opens those flows). R's table starts empty.
		n R "$IPRPCTL" flush redirector
		PKTS=$NEWFLOWS AT=R measure 8 pre_routing xlat redirector-new 0 "$round" -- \
			n C "$BLAST" flows "$VIP" 7777 "$NEWFLOWS"
		got=$(stats R | awk '$1 == "redirector.flow_new" { print $2 }')
		[ "${got:-0}" -ge $((NEWFLOWS / 2)) ] || fail "new flows at R: only '$got' flows started"
		n R "$IPRPCTL" flush redirector
		n L "$BLAST" send "$VIP" 7777 1 18 40003 >/dev/null
		sleep 2
		n R "$IPRPCTL" flows -j | grep -q '"state": *"accept"' ||
			fail "the legacy flow is not in R's accept table"
		AT=R measure 8 pre_routing pass redirector-legacy 0 "$round" -- \
			n L "$BLAST" send "$VIP" 7777 "$PKTS" 18 40003
	done
	n C "$IPRPCTL" flush
	pkill -f "udp-blast sink" || true
	topo_down
	rmmod iprp
}

# Busy CPU per small datagram C -> S1 with the module loaded (client role
# at C, no bindings, no bench timing) vs not loaded, interleaved.
cpu_round() {
	local state=$1 round=$2 b0 b1
	topo_up 0
	if [ "$state" = loaded ]; then
		insmod "$MODULE"
		n C "$IPRPCTL" role client
	fi
	n S1 "$BLAST" sink 9000 &
	sleep 0.5
	quiet
	b0=$(busy_us)
	n C "$BLAST" send "${ADDR[S1]}" 9000 "$CPU_PKTS" >/dev/null
	b1=$(busy_us)
	echo "$state,$round,$CPU_PKTS,$((b1 - b0)),$($PY -c "print(f'{($b1 - $b0) / $CPU_PKTS:.3f}')")" >>"$CPUCSV"
	log "$(tail -1 "$CPUCSV")"
	pkill -f "udp-blast sink" || true
	topo_down
	if [ "$state" = loaded ]; then rmmod iprp; fi
}
PARTS=${BENCH_HOOKCOST_PARTS:-hooks,cpu}
[[ ,$PARTS, == *,hooks,* ]] && hook_rounds
if [[ ,$PARTS, == *,cpu,* ]]; then
	for round in $(seq "$ROUNDS"); do
		cpu_round unloaded "$round"
		cpu_round loaded "$round"
	done
fi
log "done"
