#!/usr/bin/env bash
# Deployability goals of the wildcard grants and the capability mark
# (docs/protocol.md, "Wildcard grants", "Capability mark"), D = 25 ms,
# geometry far, one boot. Every round runs the three blocks below in
# shuffled order, so every ratio compares medians of the same round:
#  granted  C's repeat flows to a granting service (VIP:8086 -> S1:8086,
#           grant 600, unmarked local; C marks its SYNs). The block flushes
#           C's client role, one first flow earns the grant (a new flow at
#           R), then one curl fetches, shuffled, K x /who (part "repeat",
#           curl time_connect) and B x 1 MB and 10 MB (parts "bulk-1m",
#           "bulk-10m", time_total) from the service (arm "granted": C binds
#           each flow from the grant, straight to S1) and from S1:8084 (arm
#           "direct"). Checked: client.granted_bound grows by every granted
#           flow and R starts none of them (redirector.flow_new).
#  legacy   L (no module) fetches K x /who from the same service (arm
#           "unmarked_local": R serves L's unmarked SYN itself at once) and
#           from R's own listener VIP:9090, not a service (arm "rlocal"),
#           shuffled. Checked: redirector.local_unmarked grows by K, R sends
#           no REQ (redirector.req_sent).
#  first    K pairs of C's first flows, each after a flush of C's client
#           role (no binding, no grant), pair order shuffled: to the
#           granting service with C marking its SYNs (arm "grant_mark") and
#           to a plain service VIP:8088 -> S1:8088 (no grant, unmarked
#           redirect) with C's marking off (arm "plain", the paper's
#           behaviour); curl time_connect. Checked: every one is a new flow
#           at R served by S1, only the grant_mark SYNs carry the mark
#           (redirector.flow_marked), none is bound from a grant, every
#           grant_mark flow earns one (client.grant_rx).
# Every connect is a new connection (curl num_connects) and every body is
# compared with the file of the server that must have sent it (each server
# has different random content). Both services have a 10 s response
# timeout (as 11-connect: a starved TCG guest may take more than 1 s for a
# handshake, and R would then serve the flow itself).
# Writes fig15-deploy-raw.csv: part,d_ms,round,arm,seq,connect_ms,total_ms
# (BENCH_DEPLOY_ROUNDS overrides the number of rounds; bench/report.py
# needs 6 or more for a 95 % interval over rounds).
set -euo pipefail
. "$REPO/bench/lib.sh"

# ROUNDS rounds; K connects per arm and block, B downloads per size and arm.
if [ "$MODE" = full ]; then ROUNDS=10; K=10; B=3
else ROUNDS=1; K=3; B=1; fi
ROUNDS=${BENCH_DEPLOY_ROUNDS:-$ROUNDS}
D=25
GPORT=8086	# granting service (grant 600, unmarked local), replica S1:8086
PPORT=8088	# plain service (paper behaviour), replica S1:8088
CSV=$OUT/fig15-deploy-raw.csv
echo "part,d_ms,round,arm,seq,connect_ms,total_ms" >"$CSV"
mkdir -p /tmp/dep
# Samples of the running round: part,arm,connect_s,total_s.
SAMPLES=/tmp/dep/samples
r=0

# stats_of NS NAME...: the core statistics NAME... of NS, space-separated
# (one iprpctl and one jq for all: exec is slow under TCG).
stats_of() {
	local h=$1
	shift
	n "$h" "$IPRPCTL" status -j |
		jq -er --arg k "$*" '[($k | split(" "))[] as $s | .stats[$s] // 0 | tostring] | join(" ")'
}

# fetch NS TAG ITEM...: one curl process in NS fetches every ITEM
# (PART,ARM,SERVER,URL) in the order given, each on a new connection, and
# checks that SERVER sent it (its /who, or its copy of the file). PRE, if
# set, is run by the same shell just before curl (e.g. iprpctl commands,
# "... && "). Appends PART,ARM,time_connect,time_total (s) to $SAMPLES.
fetch() {
	local h=$1 tag=$2 i=0 it part arm srv url u tc tt sz nc f got
	shift 2
	local args=()
	for it in "$@"; do
		i=$((i + 1))
		IFS=, read -r part arm srv url <<<"$it"
		args+=(-o "/tmp/dep/$tag.$i" "$url")
	done
	rm -f "/tmp/dep/$tag".*
	local cargs=(-sS -f --max-time 120 -H 'Connection: close'
		-w '%{url_effective} %{time_connect} %{time_total} %{size_download} %{num_connects}\n' "${args[@]}")
	if [ -n "${PRE:-}" ]; then
		n "$h" sh -c "${PRE}exec curl \"\$@\"" curl "${cargs[@]}" >"/tmp/dep/$tag.out" 2>"/tmp/dep/$tag.err"
	else
		n "$h" curl "${cargs[@]}" >"/tmp/dep/$tag.out" 2>"/tmp/dep/$tag.err"
	fi || fail "round $r: $tag: curl in $h failed: $(tr '\n' ' ' <"/tmp/dep/$tag.err")"
	got=$(wc -l <"/tmp/dep/$tag.out")
	[ "$got" -eq $# ] || fail "round $r: $tag: $got of $# transfers"
	i=0
	while read -r u tc tt sz nc; do
		i=$((i + 1))
		IFS=, read -r part arm srv url <<<"${!i}"
		[ "$u" = "$url" ] || fail "round $r: $tag: transfer $i fetched $u, want $url"
		[ "$nc" = 1 ] || fail "round $r: $part $arm: $url made $nc new connections, want 1"
		f=${url##*/}
		if [ "$f" = who ]; then
			got=""
			read -r got <"/tmp/dep/$tag.$i" || true
			[ "$got" = "$srv" ] || fail "round $r: $part $arm: $url answered by '$got', want $srv"
		else
			[ "$sz" -eq "${SIZE_BYTES[$f]}" ] && cmp -s "/tmp/dep/$tag.$i" "/tmp/www-$srv/$f" ||
				fail "round $r: $part $arm: $url: wrong content ($sz bytes; not from $srv)"
		fi
		echo "$part,$arm,$tc,$tt" >>"$SAMPLES"
	done <"/tmp/dep/$tag.out"
}

blk_granted() {
	local i s items=() rx0 rx1 b0 b1 b2 new0 new1 new2 ng
	n C "$IPRPCTL" flush client
	read -r rx0 b0 <<<"$(stats_of C client.grant_rx client.granted_bound)"
	new0=$(stats_of R redirector.flow_new)
	SAMPLES=/dev/null fetch C earn "earn,earn,S1,http://$VIP:$GPORT/who"
	read -r rx1 b1 <<<"$(stats_of C client.grant_rx client.granted_bound)"
	new1=$(stats_of R redirector.flow_new)
	[ $((new1 - new0)) -eq 1 ] && [ $((b1 - b0)) -eq 0 ] ||
		fail "round $r: the first flow to the granting service was no new flow at R (flow_new +$((new1 - new0)), granted_bound +$((b1 - b0)))"
	[ $((rx1 - rx0)) -ge 1 ] || fail "round $r: the first flow to the granting service earned no grant"
	for i in $(seq "$K"); do
		items+=("repeat,granted,S1,http://$VIP:$GPORT/who" "repeat,direct,S1,$(http_url direct who)")
	done
	for s in 1m 10m; do
		for i in $(seq "$B"); do
			items+=("bulk-$s,granted,S1,http://$VIP:$GPORT/$s" "bulk-$s,direct,S1,$(http_url direct "$s")")
		done
	done
	ng=$((K + 2 * B))
	# Unquoted: the items have no blanks or glob characters.
	# shellcheck disable=SC2046
	fetch C granted $(shuffled "${items[@]}")
	b2=$(stats_of C client.granted_bound)
	new2=$(stats_of R redirector.flow_new)
	[ $((b2 - b1)) -eq "$ng" ] ||
		fail "round $r: $ng flows on the grant but client.granted_bound +$((b2 - b1))"
	[ $((new2 - new1)) -eq 0 ] || fail "round $r: R started $((new2 - new1)) of the granted flows"
}

blk_legacy() {
	local i items=() u0 u1 q0 q1
	read -r u0 q0 <<<"$(stats_of R redirector.local_unmarked redirector.req_sent)"
	for i in $(seq "$K"); do
		items+=("legacy,unmarked_local,R,http://$VIP:$GPORT/who" "legacy,rlocal,R,$(http_url rlocal who)")
	done
	# shellcheck disable=SC2046
	fetch L legacy $(shuffled "${items[@]}")
	read -r u1 q1 <<<"$(stats_of R redirector.local_unmarked redirector.req_sent)"
	[ $((u1 - u0)) -eq "$K" ] ||
		fail "round $r: $K unmarked flows of L but redirector.local_unmarked +$((u1 - u0))"
	[ $((q1 - q0)) -eq 0 ] || fail "round $r: R sent $((q1 - q0)) REQs for L's unmarked flows"
}

blk_first() {
	local i arm m port rx0 rx1 b0 b1 new0 new1 mk0 mk1
	read -r rx0 b0 <<<"$(stats_of C client.grant_rx client.granted_bound)"
	read -r new0 mk0 <<<"$(stats_of R redirector.flow_new redirector.flow_marked)"
	for i in $(seq "$K"); do
		for arm in $(shuffled grant_mark plain); do
			case $arm in
			grant_mark) m=on port=$GPORT ;;
			plain) m=off port=$PPORT ;;
			esac
			PRE="$IPRPCTL set mark-syns $m && $IPRPCTL flush client && " \
				fetch C first "first,$arm,S1,http://$VIP:$port/who"
		done
	done
	n C "$IPRPCTL" set mark-syns on
	read -r rx1 b1 <<<"$(stats_of C client.grant_rx client.granted_bound)"
	read -r new1 mk1 <<<"$(stats_of R redirector.flow_new redirector.flow_marked)"
	[ $((new1 - new0)) -eq $((2 * K)) ] ||
		fail "round $r: $((2 * K)) first flows but redirector.flow_new +$((new1 - new0))"
	[ $((mk1 - mk0)) -eq "$K" ] ||
		fail "round $r: $K marked first flows but redirector.flow_marked +$((mk1 - mk0))"
	[ $((b1 - b0)) -eq 0 ] || fail "round $r: $((b1 - b0)) first flows were bound from a grant"
	[ $((rx1 - rx0)) -ge "$K" ] ||
		fail "round $r: $K first flows to the granting service but client.grant_rx +$((rx1 - rx0))"
}

bench_up "$D" far
bg S1 busybox httpd -f -p "$GPORT" -h /tmp/www-S1
bg S1 busybox httpd -f -p "$PPORT" -h /tmp/www-S1
bg R busybox httpd -f -p "$VIP:$GPORT" -h /tmp/www-R
n R "$IPRPCTL" service add tcp "$VIP:$GPORT" sched rr response-timeout 10000 idle-timeout 60000 \
	grant 600 unmarked local
n R "$IPRPCTL" replica add tcp "$VIP:$GPORT" "${ADDR[S1]}"
n R "$IPRPCTL" service add tcp "$VIP:$PPORT" sched rr response-timeout 10000 idle-timeout 60000
n R "$IPRPCTL" replica add tcp "$VIP:$PPORT" "${ADDR[S1]}"
n C "$IPRPCTL" set mark-syns on
# The new servers answer (retried while they start); L's flow to the
# granting service is served by R at once (unmarked local).
for try in $(seq 20); do
	rm -f /tmp/dep/ready.*
	n L curl -s --max-time 5 -o /tmp/dep/ready.1 "http://${ADDR[S1]}:$GPORT/who" \
		-o /tmp/dep/ready.2 "http://${ADDR[S1]}:$PPORT/who" \
		-o /tmp/dep/ready.3 "http://$VIP:$GPORT/who" >/dev/null 2>&1 || true
	[ "$(cat /tmp/dep/ready.1 /tmp/dep/ready.2 /tmp/dep/ready.3 2>/dev/null | tr '\n' ' ')" = "S1 S1 R " ] && break
	[ "$try" -lt 20 ] || fail "the servers of the new services did not answer"
	sleep 0.5
done
log "granting service $VIP:$GPORT and plain service $VIP:$PPORT up"

for r in $(seq "$ROUNDS"); do
	n C "$IPRPCTL" flush client
	n R "$IPRPCTL" flush redirector
	: >"$SAMPLES"
	for blk in $(shuffled granted legacy first); do
		"blk_$blk"
	done
	awk -F, -v d="$D" -v r="$r" '{ k = $1 SUBSEP $2; s[k]++
		printf "%s,%s,%s,%s,%d,%.3f,%.3f\n", $1, d, r, $2, s[k], $3 * 1000, $4 * 1000 }' "$SAMPLES" >>"$CSV"
	# Per part and arm: the median connect time (bulk: total time).
	awk -F, '{ printf "%s/%s,%d,%.3f\n", $1, $2, NR, ($1 ~ /^bulk/ ? $4 : $3) * 1000 }' \
		"$SAMPLES" >/tmp/dep/round.csv
	log "D=$D round $r: $(medians /tmp/dep/round.csv)"
done
n C "$IPRPCTL" stats | grep -E 'client\.grant' || true
n R "$IPRPCTL" stats | grep -E 'redirector\.(grant|local_unmarked|flow_marked)' || true
bench_down
