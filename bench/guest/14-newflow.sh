#!/usr/bin/env bash
# Item 6: CPU cost of a new flow. connect-gen (in C) opens connections as
# fast as it can for T seconds (PAR in flight, each closed with an RST once
# established), to one mechanism at a time, mechanisms shuffled in every
# round, no netem delay. /proc/stat deltas over the run (whole VM: C, R,
# S1/S2 and the generator share the 2 vCPUs) give busy CPU-us per new
# connection and the softirq share of busy CPU. Short idle timeouts keep
# the tables small; every redirected connection must be a new flow at R.
# Writes fig14-newflow-raw.csv:
#   round,mech,conns,errors,secs,user,nice,system,idle,iowait,irq,softirq,steal,flow_new
set -euo pipefail
. "$REPO/bench/lib.sh"

if [ "$MODE" = full ]; then ROUNDS=3; T=5; else ROUNDS=1; T=2; fi
PAR=16
MECHS="direct rlocal redirected dnat ipvsnat ipvsdr"
CSV=$OUT/fig14-newflow-raw.csv
echo "round,mech,conns,errors,secs,user,nice,system,idle,iowait,irq,softirq,steal,flow_new" >"$CSV"

# served_by_r: flows R has served itself (none of them redirected).
served_by_r() {
	n R "$IPRPCTL" status -j | jq -er '[.stats["redirector.to_accept", "redirector.local_no_replica",
		"redirector.local_table_full", "redirector.local_legacy", "redirector.unreach_to_accept"] // 0] | add'
}

bench_up 0 far
n C "$IPRPCTL" role client idle-timeout 1000
n R "$IPRPCTL" service edit tcp "$VIP:7000" idle-timeout 1000
# Warm-up: page cache, ARP, first-use allocations.
n C "$GEN" run -t 1 -p "$PAR" "${SINK[redirected]}" >/dev/null
sleep 2
for r in $(seq "$ROUNDS"); do
	for m in $(shuffled $MECHS); do
		# Few processes between runs (exec is slow under TCG); the 1 s
		# idle timeouts keep the tables small without a flush.
		before=0 after=0 local0=0 local1=0
		if [ "$m" = redirected ]; then
			before=$(stat R redirector.flow_new)
			local0=$(served_by_r)
		fi
		line=$(n C "$GEN" run -t "$T" -p "$PAR" "${SINK[$m]}") || fail "$m: connect-gen failed"
		if [ "$m" = redirected ]; then
			after=$(stat R redirector.flow_new)
			local1=$(served_by_r)
		fi
		conns=$(echo "$line" | sed 's/.*conns=\([0-9]*\).*/\1/')
		if [ "$m" = redirected ]; then
			# Every connection was redirected: R served none of them. A
			# connection either did the handshake at R or, when the kernel
			# reused a client port whose binding was still alive at C, went
			# straight to the replica; a port reused after C's binding
			# expired redoes the handshake (R8), however soon that is. So
			# the new flows at R are at most the connections (plus a few
			# SYNs of connects in flight at the end), at least one, and
			# nothing here depends on the connection rate.
			[ $((local1 - local0)) -eq 0 ] ||
				fail "redirected: R served $((local1 - local0)) of $conns connections itself"
			[ $((after - before)) -ge 1 ] ||
				fail "redirected: $conns connections but no new flow at R"
		fi
		echo "$r,$m,$(echo "$line" | sed 's/[a-z_]*=//g; s/ /,/g'),$((after - before))" >>"$CSV"
		log "round $r $m: $line flow_new=$((after - before))"
	done
done
n C "$IPRPCTL" stats | grep -E 'client\.(req_table_full|req_checking_limit|req_conflict)' || true
n R "$IPRPCTL" stats | grep -E 'redirector\.(drop_table_full|req_dup|to_accept)' || true
bench_down
