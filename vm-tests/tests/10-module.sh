# shellcheck shell=bash
# Foundation: the module loads, its KUnit suites pass, hooks and the
# protocol-99 handler see real traffic, hooks exist only in namespaces with a
# role, status works per namespace, and load/unload under traffic is clean.

t_load() {
	dmesg -C
	insmod "$MODULE"
	grep -q '^iprp ' /proc/modules
	dmesg >"$RES/dmesg-load.txt"
}

t_kunit() {
	# The module's #[kunit_tests] suites run at insmod and report KTAP.
	grep -E '(not )?ok [0-9]+ iprp_' "$RES/dmesg-load.txt"
	local ok bad
	ok=$(grep -cE '\] +ok [0-9]+ iprp_' "$RES/dmesg-load.txt" || true)
	bad=$(grep -cE 'not ok [0-9]+ ' "$RES/dmesg-load.txt" || true)
	check "$ok" -ge 1 "KUnit suites of iprp passed"
	check "$bad" -eq 0 "no KUnit test failed"
}

# snmp NS FIELD: one field of the Ip: line of /proc/net/snmp in NS.
snmp() {
	n "$1" awk -v f="$2" '/^Ip:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 } else for (i = 1; i <= NF; i++) if (k[i] == f) print $i }' /proc/net/snmp
}

t_hook_counters() {
	local pre0 out0 in0 req0 pre1 out1 in1 req1
	n C "$IPRPCTL" role client
	mkdir -p /tmp/www && head -c 300000 /dev/urandom >/tmp/www/blob
	n S1 busybox httpd -p 8000 -h /tmp/www
	pre0=$(ctr C pre_routing_pkts); out0=$(ctr C local_out_pkts)
	in0=$(snmp C InReceives); req0=$(snmp C OutRequests)
	n C ping -c 20 -i 0.05 -q "${ADDR[S1]}"
	n C curl -sf -o /tmp/blob.got "http://${ADDR[S1]}:8000/blob"
	cmp /tmp/www/blob /tmp/blob.got
	pre1=$(ctr C pre_routing_pkts); out1=$(ctr C local_out_pkts)
	in1=$(snmp C InReceives); req1=$(snmp C OutRequests)
	check $((pre1 - pre0)) -ge $((in1 - in0)) "PRE_ROUTING saw every received IP packet"
	check $((out1 - out0)) -ge $((req1 - req0)) "LOCAL_OUT saw every sent IP packet"
	check $((in1 - in0)) -ge 30 "traffic really flowed (20 ping replies + the download)"
}

# iprp_hooks NS: the iprp hooks registered in NS, one "HOOK FUNCTION" line
# each, from the kernel's hook dump (nft list hooks).
iprp_hooks() {
	n "$1" nft list hooks ip | awk '/hook [a-z]+ \{/ { h = $2 } /\[iprp\]/ { print h, $2 }'
}

t_hooks_only_with_a_role() {
	# Hooks are registered per namespace while a role needs them: none
	# without a role, PRE_ROUTING for a redirector, PRE_ROUTING and
	# LOCAL_OUT for a client. L never had a role: its traffic ran no iprp
	# hook (the hooks count every packet they see).
	n C nft list hooks ip
	check "$(iprp_hooks C | sort | tr '\n' ' ')" = "output iprp_nf_local_out prerouting iprp_nf_pre_routing " "client: both hooks"
	check "$(iprp_hooks L | wc -l)" -eq 0 "no role: no hook"
	n L ping -c 10 -i 0.05 -q "${ADDR[C]}"
	check "$(ctr L pre_routing_pkts)" -eq 0 "no role: PRE_ROUTING ran for none of L's packets"
	check "$(ctr L local_out_pkts)" -eq 0 "no role: LOCAL_OUT ran for none of L's packets"
	n L "$IPRPCTL" role redirector
	check "$(iprp_hooks L | tr '\n' ' ')" = "prerouting iprp_nf_pre_routing " "redirector: PRE_ROUTING only"
	n L "$IPRPCTL" role client redirector
	check "$(iprp_hooks L | wc -l)" -eq 2 "both roles: both hooks"
	n L "$IPRPCTL" role none
	check "$(iprp_hooks L | wc -l)" -eq 0 "role none: the hooks are gone"
	local pre
	pre=$(ctr L pre_routing_pkts)
	n L ping -c 10 -i 0.05 -q "${ADDR[C]}"
	check "$(ctr L pre_routing_pkts)" -eq "$pre" "role none: no hook ran for L's packets"
	# A refused role change leaves the hooks as they were.
	! n L "$IPRPCTL" role client capacity 3 2>/dev/null
	check "$(iprp_hooks L | wc -l)" -eq 0 "a refused role change adds no hook"
}

t_proto99() {
	local before after
	before=$(n C "$IPRPCTL" status -j)
	# From L, raw protocol-99 packets: valid REQ, valid CHK with trailing
	# bytes, 5 bytes (short), type 9 (unknown), protocol 1 (not TCP/UDP).
	n L python3 - "${ADDR[C]}" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 99)
def msg(t, proto, cport=40000, sport=80, replica="10.0.0.11", key=0):
    return struct.pack("!HHHH4sI", t, proto, cport, sport, socket.inet_aton(replica), key)
for m in (msg(1, 6), msg(2, 17, key=7) + b"extension", b"\x00\x01\x00\x06\x00",
          msg(9, 6), msg(1, 1)):
    s.sendto(m, (sys.argv[1], 0))
PY
	sleep 0.5
	after=$(n C "$IPRPCTL" status -j)
	python3 - "$before" "$after" <<'PY'
import json, sys
b, a = (json.loads(x)["counters"] for x in sys.argv[1:3])
d = {k: a[k] - b[k] for k in a}
want = {"proto_rx": 5, "proto_valid": 2, "drop_short": 1, "drop_bad_type": 1, "drop_bad_proto": 1}
print("deltas", d)
bad = {k: (d[k], v) for k, v in want.items() if d[k] != v}
sys.exit(f"unexpected counter deltas {bad}" if bad else 0)
PY
}

t_status_per_netns() {
	n C "$IPRPCTL" status
	n C "$IPRPCTL" status -j | python3 -m json.tool >/dev/null
	local c l
	c=$(ctr C local_out_pkts); l=$(ctr L local_out_pkts)
	check "$c" -ge "$((l + 20))" "C's counters are C's own: C sent 20 pings more than L (C=$c, L=$l)"
	check "$(ctr S2 proto_rx)" -eq 0 "S2 received no protocol-99 message"
}

# Reloads under traffic (IPRP_RELOADS: fewer on the debug kernel).
MOD_RELOADS=${IPRP_RELOADS:-50}

t_reload_under_traffic() {
	n S1 iperf3 -s -D -1 --logfile "$RES/iperf3-s.log"
	sleep 0.5
	n C iperf3 -c "${ADDR[S1]}" -t 60 >"$RES/iperf3-c.log" 2>&1 &
	local ip=$!
	n L ping -i 0.01 -q "${ADDR[C]}" >/dev/null 2>&1 &
	local pp=$!
	sleep 1
	for i in $(seq "$MOD_RELOADS"); do
		rmmod iprp || { echo "reload $i: rmmod failed"; return 1; }
		insmod "$MODULE" || { echo "reload $i: insmod failed"; return 1; }
		# Hooks registered with the roles, under traffic, and removed by
		# the next rmmod.
		n C "$IPRPCTL" role client || { echo "reload $i: role client failed"; return 1; }
		n L "$IPRPCTL" role redirector || { echo "reload $i: role redirector failed"; return 1; }
	done
	# $ip and $pp are the subshells around `ip netns exec`: signal the
	# programs themselves. iperf3 prints its summary on TERM; until then its
	# log may be empty (block-buffered), if the reloads beat its 60 s.
	pkill -f "ping -i 0.01 -q ${ADDR[C]}" || true
	pkill -TERM -f "iperf3 -c ${ADDR[S1]} -t 60" || true
	wait "$ip" "$pp" 2>/dev/null || true
	grep -E 'sender|receiver' "$RES/iperf3-c.log"
	check "$(dmesg | grep -c 'iprp: unloaded')" -ge "$MOD_RELOADS" "$MOD_RELOADS clean unloads"
}

t_unload_last() {
	rmmod iprp
	! grep -q '^iprp ' /proc/modules
	n C "$IPRPCTL" status 2>&1 | tee "$RES/status-unloaded.txt" || true
	grep -q 'not loaded' "$RES/status-unloaded.txt"
}

topo_up 0
tap "insmod iprp.ko" t_load
tap "KUnit suites in the module pass" t_kunit
tap "hook counters cover every packet of ping and curl" t_hook_counters
tap "hooks are registered only where a role needs them" t_hooks_only_with_a_role
tap "protocol-99 messages from another netns are counted by kind" t_proto99
tap "iprpctl status -j works and is per namespace" t_status_per_netns
tap "rmmod/insmod ${MOD_RELOADS}x under iperf3 and ping traffic" t_reload_under_traffic
tap "rmmod leaves nothing; iprpctl reports module not loaded" t_unload_last
topo_down
