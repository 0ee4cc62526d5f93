# shellcheck shell=bash
# keepalived drives iprp (docs/operations.md): two redirectors K1 and K2,
# a VRRP pair for the service address, each running keepalived with
#  - a VRRP instance that holds 10.0.0.100 on the master (K1, priority
#    150; K2 100), and
#  - TCP health checks of the replicas (an IPVS firewall-mark service that
#    no packet carries, so that keepalived runs its checkers while IPVS
#    forwards nothing), whose notify_up / notify_down hooks set the
#    replica up or down with iprpctl.
# Both redirectors have the same fleet service (sched mh, one seed), so a
# handshake that crosses a failover still completes (R27).
# Own topology: one bridge, C, K1, K2, S1, S2.

KA_HOSTS="C K1 K2 S1 S2"
declare -A KADDR=([C]=10.0.0.1 [K1]=10.0.0.2 [K2]=10.0.0.3 [S1]=10.0.0.11 [S2]=10.0.0.12)
KVIP=10.0.0.100
KSEED=0x1e2f0d9a3b5c4768

ka_topo_up() {
	local h
	switch_up ksw
	for h in $KA_HOSTS; do
		host_link ksw "$h" "${KADDR[$h]}"
		n "$h" ip link set eth0 up
	done
	for h in S1 S2; do
		mkdir -p "/tmp/www-ka-$h"
		echo "$h" >"/tmp/www-ka-$h/who"
		head -c 4000000 /dev/zero >"/tmp/www-ka-$h/blob"
		n "$h" busybox httpd -p 80 -h "/tmp/www-ka-$h"
	done
	for h in K1 K2 S1 S2; do
		for _ in $(seq 50); do n C ping -c1 -W1 "${KADDR[$h]}" >/dev/null 2>&1 && break; sleep 0.1; done
	done
}

ka_topo_down() {
	for h in $KA_HOSTS ksw; do ip netns del "$h" 2>/dev/null || true; done
}

# ka_conf NAME PRIORITY: keepalived's configuration for redirector NAME.
ka_conf() {
	local s
	cat <<EOF
global_defs {
	router_id iprp-$1
	script_user root
	enable_script_security
}

vrrp_instance iprp_service {
	state BACKUP
	interface eth0
	virtual_router_id 51
	priority $2
	advert_int 1
	virtual_ipaddress {
		$KVIP/24 dev eth0
	}
}

# A firewall-mark service that no packet carries: keepalived runs its
# checkers for it, IPVS forwards nothing; iprp redirects the service.
virtual_server fwmark 6839 {
	delay_loop 1
	lb_algo rr
	lb_kind NAT
EOF
	for s in S1 S2; do
		cat <<EOF
	real_server ${KADDR[$s]} 80 {
		weight 1
		notify_up "$IPRPCTL replica set tcp $KVIP:80 ${KADDR[$s]} up"
		notify_down "$IPRPCTL replica set tcp $KVIP:80 ${KADDR[$s]} down"
		TCP_CHECK {
			connect_port 80
			connect_timeout 1
			retry 1
			delay_before_retry 1
		}
	}
EOF
	done
	echo "}"
}

# has_vip NS: whether NS holds the service address.
has_vip() {
	n "$1" ip -4 addr show dev eth0 | grep -q " $KVIP/"
}

# replica_state NS ADDR: True or False, NS's up flag of replica ADDR.
replica_state() {
	n "$1" "$IPRPCTL" list -j | python3 -c '
import json, sys
s = json.load(sys.stdin)["services"][0]
print([r["up"] for r in s["replicas"] if r["addr"] == sys.argv[1]][0])' "$2"
}

ka_setup() {
	command -v keepalived >/dev/null || skip "keepalived is not installed (scripts/install-deps.sh)"
	insmod "$MODULE"
	n C "$IPRPCTL" role client
	local h
	for h in K1 K2; do
		n "$h" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
			net.ipv4.conf.eth0.send_redirects=0
		n "$h" "$IPRPCTL" role redirector
		n "$h" "$IPRPCTL" service add tcp "$KVIP:80" sched mh fleet "$KSEED"
		n "$h" "$IPRPCTL" replica add tcp "$KVIP:80" "${KADDR[S1]}"
		n "$h" "$IPRPCTL" replica add tcp "$KVIP:80" "${KADDR[S2]}"
	done
	ka_conf K1 150 >/tmp/ka-K1.conf
	ka_conf K2 100 >/tmp/ka-K2.conf
	n K1 keepalived -t -f /tmp/ka-K1.conf
	for h in K1 K2; do
		n "$h" keepalived --dont-fork --log-console --log-detail -f "/tmp/ka-$h.conf" \
			-p "/tmp/ka-$h.pid" -c "/tmp/ka-$h-checkers.pid" -r "/tmp/ka-$h-vrrp.pid" \
			>"$RES/keepalived-$h.log" 2>&1 &
	done
	for _ in $(seq 100); do has_vip K1 && break; sleep 0.1; done
	has_vip K1
	! has_vip K2
	local who
	who=$(n C curl -sf --max-time 10 "http://$KVIP/who")
	echo "served by $who"
	[ "$who" = S1 ] || [ "$who" = S2 ]
	check "$(n K1 "$IPRPCTL" status -j | grep -o '"redirector.flow_new":[0-9]*' | cut -d: -f2)" -ge 1 \
		"the master K1 redirected the flow"
}

# S1's server stops: both keepalived instances mark S1 down through
# iprpctl (notify_down), and every new flow goes to S2; S1 comes back and
# is marked up again (notify_up).
t_ka_health() {
	local t0=$EPOCHREALTIME down="" h
	pkill -f "httpd -p 80 -h /tmp/www-ka-S1"
	for _ in $(seq 100); do
		if [ "$(replica_state K1 "${KADDR[S1]}")" = False ] &&
			[ "$(replica_state K2 "${KADDR[S1]}")" = False ]; then
			down=$EPOCHREALTIME
			break
		fi
		sleep 0.1
	done
	[ -n "$down" ]
	echo "S1 marked down on both redirectors $(python3 -c "print(f'{$down - $t0:.1f}')") s after its server stopped (delay_loop 1 s, connect_timeout 1 s, retry 1)"
	local i who
	for i in $(seq 6); do
		who=$(n C curl -sf --max-time 10 --local-port $((30000 + i)) "http://$KVIP/who")
		echo "flow $i: $who"
		[ "$who" = S2 ]
	done
	n S1 busybox httpd -p 80 -h /tmp/www-ka-S1
	for _ in $(seq 100); do
		[ "$(replica_state K1 "${KADDR[S1]}")" = True ] &&
			[ "$(replica_state K2 "${KADDR[S1]}")" = True ] && break
		sleep 0.1
	done
	for h in K1 K2; do
		[ "$(replica_state "$h" "${KADDR[S1]}")" = True ]
	done
	grep -c "notify" "$RES/keepalived-K1.log" || true
}

# K1 dies (its link goes down) during a download: K2 takes the service
# address by VRRP, the download (confirmed, C <-> replica) completes
# byte-exact, and C's next flow is redirected by K2.
t_ka_failover() {
	n C curl -sf --max-time 60 --limit-rate 1M -o /tmp/ka-blob "http://$KVIP/blob" &
	local dl=$!
	sleep 1
	local t0=$EPOCHREALTIME up=""
	n K1 ip link set eth0 down
	for _ in $(seq 150); do has_vip K2 && { up=$EPOCHREALTIME; break; }; sleep 0.1; done
	[ -n "$up" ]
	echo "K2 holds the service address $(python3 -c "print(f'{$up - $t0:.1f}')") s after K1 died (advert_int 1 s)"
	wait "$dl"
	cmp /tmp/ka-blob /tmp/www-ka-S1/blob
	echo "the download begun through K1 completed byte-exact"
	local new0 who
	new0=$(n K2 "$IPRPCTL" status -j | grep -o '"redirector.flow_new":[0-9]*' | cut -d: -f2)
	for _ in $(seq 30); do
		who=$(n C curl -sf --max-time 3 --local-port 31000 "http://$KVIP/who") && break
		sleep 0.5
	done
	echo "after the failover served by $who"
	[ "$who" = S1 ] || [ "$who" = S2 ]
	check "$(n K2 "$IPRPCTL" status -j | grep -o '"redirector.flow_new":[0-9]*' | cut -d: -f2)" -gt "$new0" \
		"K2 redirected the new flow"
}

ka_teardown() {
	pkill -f "keepalived --dont-fork" || true
	sleep 1
	pkill -f "httpd -p 80 -h /tmp/www-ka" || true
	rmmod iprp
}

ka_topo_up
tap "keepalived: VRRP gives K1 the service address, the checkers watch S1 and S2, C is redirected" ka_setup
tap "keepalived marks a replica whose server stopped down on both redirectors, and up when it is back" t_ka_health
tap "VRRP failover: K2 takes the address, a download begun through K1 completes, K2 redirects new flows" t_ka_failover
tap "keepalived stops, module unloads" ka_teardown
ka_topo_down
