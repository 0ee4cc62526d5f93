#!/usr/bin/env bash
# Fig 12: connect time of a legacy client (L, no module) to the redirected
# service versus the service's response timeout, D = 25 ms (geometry far).
# L ignores the REQ (its kernel has no protocol 99) and resets the
# replica's SYN-ACK; R serves L itself once the flow has moved to the
# accept table, i.e. from the first SYN retransmission after the timeout.
# K connects at the same time per timeout value (curl, time_connect), the
# timeout values shuffled in every round; each answer must come from R.
# Writes fig12-legacy-raw.csv: timeout_ms,round,seq,connect_ms, then the
# ICMP-answering client below.
set -euo pipefail
. "$REPO/bench/lib.sh"

if [ "$MODE" = full ]; then TIMEOUTS="100 250 500 1000 2000 3000"; ROUNDS=2; K=8
else TIMEOUTS="100 2000"; ROUNDS=1; K=4; fi
D=25
CSV=$OUT/fig12-legacy-raw.csv
echo "timeout_ms,round,seq,connect_ms" >"$CSV"

bench_up "$D" far
for r in $(seq "$ROUNDS"); do
	for t in $(shuffled $TIMEOUTS); do
		n R "$IPRPCTL" service edit tcp "$VIP:8080" response-timeout "$t"
		# The paper's path: R must not remember L from the round before.
		n R "$IPRPCTL" flush redirector
		n R "$IPRPCTL" legacy flush
		before=$(stat R redirector.to_accept)
		pids=""
		for i in $(seq "$K"); do
			n L curl -s --max-time 30 -o "/tmp/legacy.$i" -w '%{time_connect}\n' \
				"http://$VIP:8080/who" >"/tmp/legacy.$i.t" &
			pids="$pids $!"
		done
		# Only the curls: a bare "wait" would wait for the servers too.
		for p in $pids; do wait "$p" || fail "timeout $t: legacy curl failed"; done
		for i in $(seq "$K"); do
			[ "$(cat "/tmp/legacy.$i")" = R ] || fail "timeout $t: legacy connect $i not served by R"
			ms=$(awk '{ printf "%.3f", $1 * 1000 }' "/tmp/legacy.$i.t")
			echo "$t,$r,$i,$ms" >>"$CSV"
		done
		after=$(stat R redirector.to_accept)
		[ $((after - before)) -ge "$K" ] || fail "timeout $t: only $((after - before)) flows moved to the accept table"
		log "timeout $t ms round $r: $(grep "^$t,$r," "$CSV" | cut -d, -f4 | sort -n | tr '\n' ' ')ms"
	done
done

# The same client answering REQs with ICMP protocol unreachable, as the
# stack of a host without IPRP does (legacy_host.py: L's kernel here has the
# module): at a 1000 ms response timeout, the first connect after a flush of
# the flows and the client cache (R learns from the ICMP error) and the next
# one (R remembers L).
# Writes fig12-legacy-icmp-raw.csv: round,seq,first_ms,next_ms
ICSV=$OUT/fig12-legacy-icmp-raw.csv
echo "round,seq,first_ms,next_ms" >"$ICSV"
n R "$IPRPCTL" service edit tcp "$VIP:8080" response-timeout 1000
n L python3 "$REPO/vm-tests/tools/legacy_host.py" >/tmp/legacy-host.log 2>&1 &
for _ in $(seq 100); do grep -q ready /tmp/legacy-host.log && break; sleep 0.1; done
for r in $(seq "$ROUNDS"); do
	for i in $(seq "$K"); do
		n R "$IPRPCTL" flush redirector
		n R "$IPRPCTL" legacy flush
		first=$(n L curl -s --max-time 30 -o /tmp/legacy.a -w '%{time_connect}' "http://$VIP:8080/who")
		next=$(n L curl -s --max-time 30 -o /tmp/legacy.b -w '%{time_connect}' "http://$VIP:8080/who")
		[ "$(cat /tmp/legacy.a)" = R ] && [ "$(cat /tmp/legacy.b)" = R ] ||
			fail "ICMP-answering legacy client not served by R"
		awk -v r="$r" -v i="$i" -v a="$first" -v b="$next" \
			'BEGIN { printf "%s,%s,%.3f,%.3f\n", r, i, a * 1000, b * 1000 }' >>"$ICSV"
	done
done
pkill -f legacy_host.py || true
[ "$(stat R redirector.unreach_to_accept)" -ge $((ROUNDS * K)) ] ||
	fail "R did not learn from every ICMP error"
log "legacy client answering ICMP: $(tail -n +2 "$ICSV" | tr '\n' ' ')"
bench_down
