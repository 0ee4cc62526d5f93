#!/usr/bin/env bash
# Item 6: CPU cost of a new flow. connect-gen (in C) opens connections as
# fast as it can for T seconds (PAR in flight, each closed with an RST once
# established), to one mechanism at a time, each measured alone (its arm,
# bench/lib.sh), arms and their mechanisms shuffled in every round, no
# netem delay. /proc/stat deltas over the run (whole VM: C, R,
# S1/S2 and the generator share the 2 vCPUs) give busy CPU-us per new
# connection and the softirq share of busy CPU. Short idle timeouts keep
# the tables small; every redirected connection must be a new flow at R.
# R's own share is measured apart: R's receive path runs on vCPU 1 (RPS on
# R's eth0) and R's processes are pinned there; every other interface's
# receive path, the generator and the other hosts' processes run on vCPU 0.
# vCPU 1's busy ticks over the run are then R's CPU for the connections
# (its hooks, NAT or IPVS, forwarding, R's own listener for R-local).
# Writes fig14-newflow-raw.csv:
#   round,mech,conns,errors,secs,user,nice,system,idle,iowait,irq,softirq,steal,flow_new,r_busy,r_idle
set -euo pipefail
. "$REPO/bench/lib.sh"

if [ "$MODE" = full ]; then ROUNDS=6; T=5; else ROUNDS=1; T=2; fi
PAR=16
ARMS="plain iprp dnat ipvsnat ipvsdr"
CSV=$OUT/fig14-newflow-raw.csv
echo "round,mech,conns,errors,secs,user,nice,system,idle,iowait,irq,softirq,steal,flow_new,r_busy,r_idle" >"$CSV"

# served_by_r: flows R has served itself (none of them redirected).
served_by_r() {
	n R "$IPRPCTL" status -j | jq -er '[.stats["redirector.to_accept", "redirector.local_no_replica",
		"redirector.local_table_full", "redirector.local_legacy", "redirector.unreach_to_accept"] // 0] | add'
}

# Short idle timeouts keep the tables small without a flush.
bench_iprp_extra() {
	n C "$IPRPCTL" role client idle-timeout 1000
	n R "$IPRPCTL" service edit tcp "$VIP:7000" idle-timeout 1000
}

# steer_r: R's receive path and processes to vCPU 1, everything else to
# vCPU 0 (see above).
steer_r() {
	local h p mask
	[ "$(nproc)" -ge 2 ] || fail "R's cost needs 2 vCPUs"
	for h in $HOSTS sw; do
		mask=1
		[ "$h" != R ] || mask=2
		n "$h" sh -c "for q in /sys/class/net/*/queues/rx-*/rps_cpus; do echo $mask >\$q; done"
		for p in $(ip netns pids "$h"); do taskset -p "$mask" "$p" >/dev/null; done
	done
}

# cpu1: vCPU 1's busy and idle ticks (USER_HZ) so far.
cpu1() { awk '$1 == "cpu1" { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }

bench_up 0 far
steer_r
# Warm-up: page cache, ARP, first-use allocations.
n C "$GEN" run -t 1 -p "$PAR" "${SINK[redirected]}" >/dev/null
sleep 2
for r in $(seq "$ROUNDS"); do
	for m in $(for arm in $(shuffled $ARMS); do
		# shellcheck disable=SC2046
		shuffled $(arm_mechs "$arm" direct rlocal redirected dnat ipvsnat ipvsdr)
	done); do
		arm_on "${ARM_OF[$m]}"
		# Few processes between runs (exec is slow under TCG); the 1 s
		# idle timeouts keep the tables small without a flush.
		before=0 after=0 local0=0 local1=0
		if [ "$m" = redirected ]; then
			before=$(stat R redirector.flow_new)
			local0=$(served_by_r)
		fi
		read -r rb0 ri0 < <(cpu1)
		line=$(n C taskset 1 "$GEN" run -t "$T" -p "$PAR" "${SINK[$m]}") || fail "$m: connect-gen failed"
		read -r rb1 ri1 < <(cpu1)
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
		echo "$r,$m,$(echo "$line" | sed 's/[a-z_]*=//g; s/ /,/g'),$((after - before)),$((rb1 - rb0)),$((ri1 - ri0))" >>"$CSV"
		log "round $r $m: $line flow_new=$((after - before)) R: busy $((rb1 - rb0)) idle $((ri1 - ri0)) ticks"
	done
done
n C "$IPRPCTL" stats | grep -E 'client\.(req_table_full|req_checking_limit|req_conflict)' || true
n R "$IPRPCTL" stats | grep -E 'redirector\.(drop_table_full|req_dup|to_accept)' || true
bench_down
