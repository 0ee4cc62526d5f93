# shellcheck shell=bash
# Redirector fleets (docs/protocol.md, "Redirector fleets"): two redirectors,
# F1 and F2, advertise one service address; C reaches it over an ECMP route
# through both, hashed on the ports (fib_multipath_hash_policy 1), so a
# flow's SYN reaches one member while C's CHKs (protocol 99, no ports)
# always reach the one its address hashes to. With one fleet seed both pick
# the same replica for every client and confirm each other's handshakes.
# Own topology: one bridge, C with 24 client addresses, F1, F2 and three
# replicas; the service address is on the members' loopback.

FLEET_HOSTS="C F1 F2 S1 S2 S3"
declare -A FADDR=([C]=10.0.0.1 [F1]=10.0.0.2 [F2]=10.0.0.3 [S1]=10.0.0.11 [S2]=10.0.0.12 [S3]=10.0.0.13)
FVIP=10.9.9.100
FSEED=0x6c1e2f0d9a3b5c47
FLEET_SOURCES=$(seq -f '10.0.0.%g' 31 54)
FMAP=/tmp/fleet-map
# Every download of the suite from its own client port: the client's
# binding is keyed by (redirector, protocol, client port, service port),
# not by the local address, so a new flow from another of C's addresses
# that reused a live binding's port would take that binding's replica
# (docs/protocol.md, "Client").
FPORT=/tmp/fleet-port
echo 20000 >"$FPORT"

# next_port: a client port no download of this suite has used.
next_port() {
	local p
	p=$(($(cat "$FPORT") + 1))
	echo "$p" >"$FPORT"
	echo "$p"
}

fleet_topo_up() {
	local h
	switch_up fsw
	for h in $FLEET_HOSTS; do
		host_link fsw "$h" "${FADDR[$h]}"
		n "$h" ip link set eth0 up
	done
	for h in F1 F2; do
		n "$h" ip addr add "$FVIP/32" dev lo
		n "$h" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
			net.ipv4.conf.eth0.send_redirects=0
	done
	for a in $FLEET_SOURCES; do n C ip addr add "$a/24" dev eth0; done
	n C sysctl -qw net.ipv4.fib_multipath_hash_policy=1
	fleet_route multipath
	for h in S1 S2 S3; do
		mkdir -p "/tmp/www-fleet-$h"
		echo "$h" >"/tmp/www-fleet-$h/who"
		n "$h" busybox httpd -p 80 -h "/tmp/www-fleet-$h"
	done
	for h in F1 F2 S1 S2 S3; do
		for _ in $(seq 50); do n C ping -c1 -W1 "${FADDR[$h]}" >/dev/null 2>&1 && break; sleep 0.1; done
	done
}

fleet_topo_down() {
	pkill -f 'busybox httpd -p 80 -h /tmp/www-fleet' || true
	for h in $FLEET_HOSTS fsw; do ip netns del "$h" 2>/dev/null || true; done
}

# fleet_route multipath|F1|F2: C's route to the service address.
fleet_route() {
	case "$1" in
	multipath) n C ip route replace "$FVIP/32" nexthop via "${FADDR[F1]}" dev eth0 \
		nexthop via "${FADDR[F2]}" dev eth0 ;;
	*) n C ip route replace "$FVIP/32" via "${FADDR[$1]}" dev eth0 ;;
	esac
}

# fleet_service SEED: the same service on both members, the replicas
# listed in another order on each (the seed must make that irrelevant).
fleet_service() {
	local seed=$1 h
	for h in F1 F2; do
		n "$h" "$IPRPCTL" service del tcp "$FVIP:80" 2>/dev/null || true
		n "$h" "$IPRPCTL" service add tcp "$FVIP:80" sched mh fleet "$seed" response-timeout 5000
	done
	for r in S1 S2 S3; do n F1 "$IPRPCTL" replica add tcp "$FVIP:80" "${FADDR[$r]}"; done
	for r in S3 S2 S1; do n F2 "$IPRPCTL" replica add tcp "$FVIP:80" "${FADDR[$r]}"; done
}

fleet_setup() {
	insmod "$MODULE"
	fleet_topo_up
	n C "$IPRPCTL" role client
	n F1 "$IPRPCTL" role redirector
	n F2 "$IPRPCTL" role redirector
	fleet_service "$FSEED"
	n F1 "$IPRPCTL" list
	n F2 "$IPRPCTL" list
	# Both members hold the same configuration; only the order given differs.
	[ "$(n F1 "$IPRPCTL" list -j)" = "$(n F2 "$IPRPCTL" list -j)" ] ||
		{ echo "the members list the service differently"; return 1; }
}

# who SRC: one download of /who from C's address SRC (the replica's name,
# or "failed").
who() {
	n C curl -sf --max-time 10 --interface "$1" --local-port "$(next_port)" "http://$FVIP/who" ||
		echo failed
}

# fstat NAME: a redirector stat summed over F1 and F2.
fstat() {
	echo $(($(stat F1 "$1") + $(stat F2 "$1")))
}

t_fleet_agree() {
	local a w first ok=1
	: >"$FMAP"
	for a in $FLEET_SOURCES; do
		first=""
		for _ in 1 2 3 4; do
			w=$(who "$a")
			[ "$w" != failed ] || { echo "$a: a download failed"; ok=0; }
			[ -n "$first" ] || first=$w
			[ "$w" = "$first" ] || { echo "$a: $first, then $w"; ok=0; }
		done
		echo "$a $first" >>"$FMAP"
	done
	cat "$FMAP"
	for h in F1 F2; do
		echo "$h: flow_new $(stat "$h" redirector.flow_new)," \
			"chk_fleet_confirmed $(stat "$h" redirector.chk_fleet_confirmed)," \
			"chk_no_entry $(stat "$h" redirector.chk_no_entry)"
	done
	check "$ok" -eq 1 "every download of each client address came from one replica"
	check "$(awk '{ print $2 }' "$FMAP" | sort -u | wc -l)" -ge 2 "the addresses spread over the replicas"
	check "$(stat F1 redirector.flow_new)" -gt 0 "F1 sent REQs"
	check "$(stat F2 redirector.flow_new)" -gt 0 "F2 sent REQs"
	check "$(fstat redirector.chk_fleet_confirmed)" -gt 0 \
		"a member confirmed handshakes the other one began"
	check "$(fstat redirector.chk_no_entry)" -eq 0 "no CHK was alarmed"
}

# Handshakes in flight while C's route flips between the members: 48
# downloads at once, each handshake slowed by 200 ms on the members' links,
# the route replaced every 150 ms. Every download completes, on its
# address's replica.
t_fleet_route_flips() {
	local i a w port bad=0 pids=()
	n fsw tc qdisc add dev pF1 root netem delay 100ms
	n fsw tc qdisc add dev pF2 root netem delay 100ms
	i=0
	for a in $FLEET_SOURCES; do
		for k in 1 2; do
			i=$((i + 1))
			port=$(next_port)
			( n C curl -sf --max-time 20 --interface "$a" --local-port "$port" "http://$FVIP/who" >"/tmp/fleet-flip.$i" 2>&1 ||
				echo failed >"/tmp/fleet-flip.$i"; echo "$a" >"/tmp/fleet-flip-src.$i" ) &
			pids+=($!)
		done
	done
	for r in F1 F2 multipath F2 F1 multipath F1 F2 multipath; do
		sleep 0.15
		fleet_route "$r"
	done
	wait "${pids[@]}"
	n fsw tc qdisc del dev pF1 root
	n fsw tc qdisc del dev pF2 root
	fleet_route multipath
	for j in $(seq "$i"); do
		a=$(cat "/tmp/fleet-flip-src.$j")
		w=$(cat "/tmp/fleet-flip.$j")
		if [ "$w" != "$(awk -v a="$a" '$1 == a { print $2 }' "$FMAP")" ]; then
			echo "$a: got '$w', its replica is $(awk -v a="$a" '$1 == a { print $2 }' "$FMAP")"
			bad=$((bad + 1))
		fi
	done
	echo "F1: $(n F1 "$IPRPCTL" flows | wc -l) flow lines, F2: $(n F2 "$IPRPCTL" flows | wc -l)"
	echo "chk_fleet_confirmed: $(fstat redirector.chk_fleet_confirmed)"
	check "$bad" -eq 0 "all $i downloads completed on their address's replica"
}

# Maglev's disruption bound across the fleet: S3 removed from both members;
# only S3's client addresses should move (Maglev may move a few more).
t_fleet_remove_replica() {
	local a w before moved=0 kept=0 on_s3=0
	for h in F1 F2; do n "$h" "$IPRPCTL" replica del tcp "$FVIP:80" "${FADDR[S3]}"; done
	for a in $FLEET_SOURCES; do
		before=$(awk -v a="$a" '$1 == a { print $2 }' "$FMAP")
		w=$(who "$a")
		[ "$w" != failed ] && [ "$w" != S3 ] || { echo "$a: '$w' after S3 left"; return 1; }
		if [ "$before" = S3 ]; then
			on_s3=$((on_s3 + 1))
		elif [ "$w" = "$before" ]; then
			kept=$((kept + 1))
		else
			echo "$a moved from $before to $w"
			moved=$((moved + 1))
		fi
	done
	echo "S3 removed: $on_s3 addresses had S3; of the others $kept kept their replica, $moved moved"
	# 24 addresses: allow Maglev's few extra moves, but most must stay.
	check "$moved" -le 2 "at most 2 addresses not on S3 moved"
	for h in F1 F2; do n "$h" "$IPRPCTL" replica add tcp "$FVIP:80" "${FADDR[S3]}"; done
}

# The same test without the fleet seed: each member hashes with its own
# key, so handshakes that cross members are alarmed (the paper's R15) and
# addresses split between replicas. This stage shows the first test fails
# with the feature off.
t_fleet_off() {
	local a w first split=0 failed=0
	fleet_service 0
	for h in F1 F2; do n "$h" "$IPRPCTL" flush redirector; n "$h" "$IPRPCTL" zero; done
	n C "$IPRPCTL" flush client
	for a in $FLEET_SOURCES; do
		first=""
		for _ in 1 2 3 4; do
			w=$(n C curl -sf --max-time 4 --interface "$a" --local-port "$(next_port)" "http://$FVIP/who" ||
				echo failed)
			[ "$w" != failed ] || failed=$((failed + 1))
			[ -n "$first" ] || first=$w
			[ "$w" = "$first" ] || split=1
		done
		# A failed download costs the curl's 4 s: one disagreement is enough.
		[ "$((split + failed))" -eq 0 ] || break
	done
	echo "without the seed: failed downloads $failed, an address split: $split," \
		"ALMs for CHKs without entry: $(fstat redirector.chk_no_entry)"
	check "$(fstat redirector.chk_no_entry)" -gt 0 "crossing CHKs are alarmed"
	check "$((failed + split))" -gt 0 "the members disagree"
	fleet_service "$FSEED"
}

t_fleet_teardown() {
	fleet_topo_down
	rmmod iprp
}

tap "fleet setup: two redirectors behind an ECMP route, one seed, three replicas" fleet_setup
tap "fleet: both members pick the same replica for every client address; CHKs cross members" t_fleet_agree
tap "fleet: 48 handshakes in flight while the route flips between members all complete on their replica" t_fleet_route_flips
tap "fleet: removing a replica from both members moves only its clients (Maglev)" t_fleet_remove_replica
tap "fleet: without the seed the members disagree (crossing CHKs alarmed)" t_fleet_off
tap "rmmod after the fleet tests" t_fleet_teardown
