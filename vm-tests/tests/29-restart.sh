# shellcheck shell=bash
# Real restarts (docs/operations.md, "Restarts"), with flows of every kind
# open at the time:
#  - a confirmed download from C (redirected to a replica);
#  - a confirmed UDP flow from C;
#  - a flow in the middle of its handshake at C (C holds a CHECKING
#    binding: its CHKs are dropped at C until the restart is over);
#  - a download from the legacy host L, which R serves itself.
#
# (a) R's namespace is deleted (its iprp state and its sockets go with it)
#     and built again from `iprpctl save`'s output.
# (b) The module is unloaded and loaded again. This VM has one kernel, so
#     both roles restart at once: C's and R's state is lost together.
# (c) The client role is switched off at C while R keeps its state, the
#     case that shows C's own reset of its redirected connections
#     (docs/protocol.md C30): without it the download would wait for its
#     timeout.
#
# Asserted: what docs/operations.md says happens to each flow. Recovery
# times are printed, not asserted beyond the documented bounds (speed
# goals live in benchmarks).

RS_PORT=8080
RS_UDP=7100
RS_ECHO=7300
# C's client ports, per test (a binding outlives its connection, so each
# test has its own): the download, the mid-handshake flow, the UDP flow.
declare -A RS_BASE=([netns]=41000 [reload]=42000 [roleoff]=43000)
RS_CONF=/tmp/rs-R.conf
# The flows span the restart however long it and what comes before it
# take, up to RS_FLOW_S: when the restart is over the test creates
# /tmp/rs-TAG-up; the UDP and L's flows end 10 s later (at RS_FLOW_S at
# the latest), and C's download, read at 80 kB/s until then, is read at
# full speed. Its size, 100 kB per second of RS_FLOW_S (at most 50 MB),
# lasts RS_FLOW_S at that pace. A slower kernel (the debug one) needs a
# larger IPRP_RESTART_FLOW_S; on a fast one it costs nothing.
RS_FLOW_S=${IPRP_RESTART_FLOW_S:-40}
RS_DL_BYTES=$((RS_FLOW_S * 100000))
[ "$RS_DL_BYTES" -le 50000000 ] || RS_DL_BYTES=50000000

# A UDP echo server on RS_UDP and a TCP server on RS_ECHO answering each
# line, both with the host's name. rs_echo HOST [ADDR]: the UDP socket is
# bound to ADDR, so that its replies come from ADDR (R: the service
# address, not its primary one).
rs_echo() {
	n "$1" python3 - "$1" "$RS_UDP" "$RS_ECHO" "${2:-}" >"$RES/echo-$1.log" 2>&1 <<'PY' &
import socket, sys, threading
name = sys.argv[1].encode()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((sys.argv[4], int(sys.argv[2])))
def udp():
    while True:
        data, peer = u.recvfrom(2048)
        u.sendto(name + b" " + data, peer)
def conn(c):
    f = c.makefile("rb")
    try:
        for _ in f:
            c.sendall(name + b"\n")
    except OSError:
        pass
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("", int(sys.argv[3])))
t.listen(16)
threading.Thread(target=udp, daemon=True).start()
while True:
    c, _ = t.accept()
    threading.Thread(target=conn, args=(c,), daemon=True).start()
PY
}

rs_servers_R() {
	n R busybox httpd -p "$VIP:$RS_PORT" -h /tmp/rs-R
	rs_echo R "$VIP"
}

# R's link: the host (with the MAC address it had, as a rebooted host
# has), its addresses, the far redirector's 20 ms each way,
# forwarding (as topo_up and forwarding_host build it).
rs_link_R() {
	host_link sw R "${ADDR[R]}" "$RS_MAC"
	n R ip addr add "$VIP/24" dev eth0
	n R tc qdisc add dev eth0 root netem delay 20ms
	n sw tc qdisc add dev pR root netem delay 20ms
	forwarding_host R
}

# R's link comes up (once R serves and is configured, as a host that
# restores its configuration at boot).
rs_link_up_R() {
	n R ip link set eth0 up
	for _ in $(seq 50); do n C ping -c1 -W1 "${ADDR[R]}" >/dev/null 2>&1 && break; sleep 0.1; done
}

rs_config_R() {
	n R "$IPRPCTL" role redirector
	# C's CHKs are dropped on purpose while the mid-handshake flow waits,
	# and a restart on a slow kernel takes seconds: R must not learn C as
	# a legacy client from that (legacy-ttl 0 remembers none), or C's next
	# flows are served by R itself for the next minute (on the debug
	# kernel, the reload test's new flow and the role-off test's download).
	n R "$IPRPCTL" set legacy-ttl 0
	# 20 s: a flow held in its handshake (its CHKs dropped) stays a
	# redirection, not served by R, until R restarts.
	n R "$IPRPCTL" service add tcp "$VIP:$RS_PORT" sched rr response-timeout 20000
	n R "$IPRPCTL" replica add tcp "$VIP:$RS_PORT" "${ADDR[S1]}"
	n R "$IPRPCTL" replica add tcp "$VIP:$RS_PORT" "${ADDR[S2]}"
	n R "$IPRPCTL" service add udp "$VIP:$RS_UDP" sched rr
	n R "$IPRPCTL" replica add udp "$VIP:$RS_UDP" "${ADDR[S1]}"
	n R "$IPRPCTL" replica add udp "$VIP:$RS_UDP" "${ADDR[S2]}"
	# 1 s: L (no IPRP) is served by R after 1 s.
	n R "$IPRPCTL" service add tcp "$VIP:$RS_ECHO" sched rr response-timeout 1000
	n R "$IPRPCTL" replica add tcp "$VIP:$RS_ECHO" "${ADDR[S1]}"
}

rs_setup() {
	local h
	for h in S1 S2 R; do
		mkdir -p "/tmp/rs-$h"
		echo "$h" >"/tmp/rs-$h/who"
	done
	head -c "$RS_DL_BYTES" /dev/urandom >/tmp/rs-S1/big
	cp /tmp/rs-S1/big /tmp/rs-S2/big
	for h in S1 S2; do
		n "$h" busybox httpd -p "$RS_PORT" -h "/tmp/rs-$h"
		rs_echo "$h"
	done
	forwarding_host R
	rs_servers_R
	insmod "$MODULE"
	n C "$IPRPCTL" role client
	rs_config_R
	# What an operator restores R from.
	n R "$IPRPCTL" save >"$RS_CONF"
	cat "$RS_CONF"
	local who
	who=$(n C curl -sf --max-time 10 "http://$VIP:$RS_PORT/who")
	[ "$who" = S1 ] || [ "$who" = S2 ]
}

# binding_state CPORT: C's binding of that client port ("checking",
# "confirmed"), or nothing.
binding_state() {
	n C "$IPRPCTL" bindings -j | python3 -c '
import json, sys
for b in json.load(sys.stdin)["bindings"]:
    if b["cport"] == int(sys.argv[1]):
        print(b["state"])' "$1"
}

wait_binding() {
	local cport=$1 want=$2 s
	for _ in $(seq 100); do
		s=$(binding_state "$cport")
		[ "$s" = "$want" ] && return 0
		sleep 0.2
	done
	echo "C's binding of port $cport is '$s', not $want"
	return 1
}

# rs_start_mid TAG: a flow held in its handshake. C's CHKs go nowhere, so
# C's binding stays CHECKING and holds the replica's SYN-ACK.
rs_start_mid() {
	local tag=$1 base=${RS_BASE[$1]}
	n C nft add table ip rs
	n C nft add chain ip rs out '{ type filter hook output priority 0; }'
	n C nft add rule ip rs out ip protocol 99 drop
	n C python3 - "$VIP" "$RS_PORT" $((base + 2)) >"$RES/rs-$tag-mid.log" 2>&1 <<'PY' &
import socket, sys, time
c = socket.socket()
c.bind(("", int(sys.argv[3])))
c.settimeout(90)
try:
    c.connect((sys.argv[1], int(sys.argv[2])))
    c.sendall(b"GET /who HTTP/1.0\r\n\r\n")
    body = c.makefile("rb").read().split(b"\r\n\r\n", 1)[1].decode().strip()
    print(f"{time.time():.3f} connected {body}", flush=True)
except OSError as e:
    print(f"{time.time():.3f} failed {e.__class__.__name__}", flush=True)
PY
	RS_PIDS+=($!)
	wait_binding $((base + 2)) checking
}

# The flows open during a restart; each writes its end to $RES/rs-$1-*.
# C's download: RS_DL_BYTES read at 80 kB/s until /tmp/rs-TAG-up
# exists, then at full speed; logged as "rc start end bytes" (rc 0
# complete, 1 reset or timeout).
rs_start_flows() {
	local tag=$1 base=${RS_BASE[$1]}
	rm -f "/tmp/rs-$tag-up"
	n C python3 - "$VIP" "$RS_PORT" $((base + 1)) "/tmp/rs-$tag-C.big" "/tmp/rs-$tag-up" \
		>"$RES/rs-$tag-dl-C.end" 2>"$RES/rs-$tag-dl-C.err" <<'PY' &
import os, socket, sys, time
t0 = time.time()
c = socket.socket()
c.bind(("", int(sys.argv[3])))
c.settimeout(60)
got = 0
rc = 1
data = bytearray()
try:
    c.connect((sys.argv[1], int(sys.argv[2])))
    c.sendall(b"GET /big HTTP/1.0\r\n\r\n")
    while True:
        b = c.recv(16384)
        if not b:
            break
        data += b
        if not os.path.exists(sys.argv[5]):
            time.sleep(0.2)
    body = data.split(b"\r\n\r\n", 1)[1]
    open(sys.argv[4], "wb").write(body)
    got, rc = len(body), 0
except OSError as e:
    got = len(data)
    print(e, file=sys.stderr)
print(rc, t0, time.time(), got)
PY
	RS_PIDS=($!)
	# L's flow, served by R itself (L speaks no IPRP): a line every 100 ms,
	# each answered; "time R" per answer, "time reset ERR" at the end.
	n L python3 - "$VIP" "$RS_ECHO" "$RS_FLOW_S" "/tmp/rs-$tag-up" >"$RES/rs-$tag-L.log" 2>&1 <<'PY' &
import os, socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
f = c.makefile("rb")
end = time.time() + int(sys.argv[3])
stop = sys.argv[4]
try:
    while time.time() < end:
        if stop and os.path.exists(stop):
            end, stop = min(end, time.time() + 10), ""
        c.sendall(b"x\n")
        line = f.readline()
        if not line:
            raise ConnectionResetError("EOF")
        print(f"{time.time():.3f} {line.decode().strip()}", flush=True)
        time.sleep(0.1)
    print(f"{time.time():.3f} end", flush=True)
except OSError as e:
    print(f"{time.time():.3f} reset {e.__class__.__name__}", flush=True)
PY
	RS_PIDS+=($!)
	# The UDP flow: a datagram every 20 ms until 10 s after the restart
	# (RS_FLOW_S at most); "time replica" per reply.
	udp_pinger C "$VIP" "$RS_UDP" "$base" "$RS_FLOW_S" "/tmp/rs-$tag-up" >"$RES/rs-$tag-udp.log" 2>&1 &
	RS_PIDS+=($!)
	wait_binding $((base + 1)) confirmed
	wait_binding "$base" confirmed
	# Mid-handshake, except for roleoff (where such a flow only waits for
	# R's response timeout).
	if [ "$tag" = roleoff ]; then
		echo "0 none" >"$RES/rs-$tag-mid.log"
	else
		rs_start_mid "$tag"
	fi
	# L's flow is under way, served by R.
	for _ in $(seq 100); do
		grep -q ' R$' "$RES/rs-$tag-L.log" 2>/dev/null && break
		sleep 0.2
	done
	grep -q ' R$' "$RES/rs-$tag-L.log" || { echo "L's flow is not served by R"; cat "$RES/rs-$tag-L.log"; return 1; }
	n C "$IPRPCTL" bindings
}

rs_release_chks() {
	n C nft delete table ip rs
}

# rs_counters NS: NS's counters that are not 0.
rs_counters() {
	n "$1" "$IPRPCTL" status -j | python3 -c '
import json, sys
d = json.load(sys.stdin)["counters"]
print(" ".join(f"{k}={v}" for k, v in sorted(d.items()) if v))'
}

# rs_report TAG T_DOWN T_UP: what became of each flow; asserts the
# expectations of the restart kind ("netns" or "reload").
rs_report() {
	local tag=$1 t_down=$2 t_up=$3
	# Every flow ends: the UDP and L's flows 10 s after the restart, the
	# others sooner.
	wait "${RS_PIDS[@]}"
	[ "$tag" != roleoff ] || n R "$IPRPCTL" flows
	local c_ok=0
	cmp -s "/tmp/rs-$tag-C.big" /tmp/rs-S1/big && c_ok=1
	cat "$RES/rs-$tag-dl-C.err"
	python3 - "$tag" "$t_down" "$t_up" "$c_ok" "$RES/rs-$tag-dl-C.end" \
		"$RES/rs-$tag-L.log" "$RES/rs-$tag-udp.log" "$RES/rs-$tag-mid.log" "$RES/rs-$tag-dl-C.err" <<'PY'
import sys
tag, down, up, c_ok = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "1"
c_rc, c_start, c_end, c_bytes = open(sys.argv[5]).read().split()
c_rc, c_end = int(c_rc), float(c_end)
print(f"C's download: {'complete' if c_rc == 0 else 'failed'} after {c_end - float(c_start):.2f} s, {c_bytes} bytes")
assert c_end > down, "C's download ended before the restart"
def lines(p):
    return [(float(t), w.strip()) for t, w in (l.split(None, 1) for l in open(p) if l.strip())]
legacy = lines(sys.argv[6])
udp = lines(sys.argv[7])
mid = open(sys.argv[8]).read().split()
print(f"{tag}: restart began at 0, done at {up - down:.2f} s")
# UDP: the longest silence, and the first reply after the restart.
gap, at = max((b[0] - a[0], a[0]) for a, b in zip(udp, udp[1:]))
print(f"UDP: longest silence {gap:.2f} s (from {at - down:.2f} s); replies by "
      + ", ".join(sorted({w for _, w in udp})))
after = [t for t, _ in udp if t > up]
assert after, "no UDP reply after the restart"
print(f"UDP: first reply {after[0] - up:.2f} s after the restart")
if tag != "roleoff":
    print(f"mid-handshake flow: {' '.join(mid[1:])}, {float(mid[0]) - up:.2f} s after the restart")
# The flow completes at a SYN retransmission: redirected once R is
# configured again; in the reload, a SYN that comes while R's module is
# back but its services are not yet is served by R itself.
assert tag == "roleoff" or mid[1] == "connected", mid
assert tag == "roleoff" or mid[2] in (("S1", "S2") if tag == "netns" else ("S1", "S2", "R")), mid
l_end, l_last = legacy[-1]
assert {w for _, w in legacy[:-1]} == {"R"}, legacy[:5]
if tag == "netns":
    # R was not on the confirmed flows' path.
    assert c_end > up, "C's download ended before R was back"
    assert c_rc == 0 and c_ok, f"C's download: rc {c_rc}, content ok {c_ok}"
    print("C's confirmed download: complete, byte-exact")
    assert gap < 1.0, f"the confirmed UDP flow was silent {gap:.2f} s"
    # R's sockets went with its namespace: the new R resets L's connection
    # at L's next send.
    assert l_last.startswith("reset"), f"L's flow: {l_last}"
    print(f"L's flow (R's own socket): {l_last} {l_end - up:.2f} s after R is back")
elif tag == "roleoff":
    # C30: R still has the flow's entry and forwards C's untranslated
    # packets to the replica, whose answers C's stack cannot match: only
    # the abort tells the application.
    err = open(sys.argv[9]).read().strip()
    assert c_rc == 1 and "reset" in err, f"C's download was not reset ({err})"
    print(f"C's confirmed download: reset {c_end - down:.2f} s after the role went")
    assert c_end - down < 5, c_end - down
    assert l_last == "end", f"L's flow: {l_last}"
    print("L's flow (R's own socket): answered throughout")
else:
    # C30: the unload resets C's redirected connection at once.
    err = open(sys.argv[9]).read().strip()
    assert c_rc == 1 and "reset" in err, f"C's download was not reset ({err})"
    print(f"C's confirmed download: reset {c_end - down:.2f} s after rmmod began")
    assert c_end - down < 10, c_end - down
    # R's sockets live on; the new R serves their packets itself.
    assert l_last == "end", f"L's flow: {l_last}"
    gap_l = max(b[0] - a[0] for a, b in zip(legacy, legacy[1:]))
    print(f"L's flow (R's own socket): answered throughout, longest silence {gap_l:.2f} s")
PY
}

# rs_new_flow_redirected: after a restart, a new flow from C is served by
# a replica.
rs_new_flow_redirected() {
	local who
	who=$(n C curl -sf --max-time 10 "http://$VIP:$RS_PORT/who")
	[ "$who" = S1 ] || [ "$who" = S2 ] || { echo "a new flow was served by '$who'"; return 1; }
}

# rs_finish TAG T_DOWN T_UP: the end of a restart with both roles back:
# the report, the counters, a new flow.
rs_finish() {
	rs_report "$@"
	echo "C: $(rs_counters C)"
	echo "R: $(rs_counters R)"
	rs_new_flow_redirected
	rm -f "/tmp/rs-$1-"*.big
}

# (a) R's namespace is deleted with the flows open, and built again.
t_redirector_netns_rebuilt() {
	rs_start_flows netns
	local t_down t_up
	t_down=$EPOCHREALTIME
	# A crash: the link goes first, so R's dying sockets send nothing, and
	# then the link is deleted. The namespace lingers (without a link)
	# until its orphaned sockets give up; its iprp state then goes too.
	n R ip link set eth0 down
	ip netns pids R | xargs -r kill -9
	n sw ip link del pR
	ip netns del R
	sleep 3
	rs_link_R
	rs_servers_R
	n R "$IPRPCTL" restore "$RS_CONF"
	t_up=$EPOCHREALTIME
	touch /tmp/rs-netns-up
	rs_link_up_R
	rs_release_chks
	# New flows are redirected by the new R.
	rs_finish netns "$t_down" "$t_up"
}

# (b) The module is unloaded and loaded again with the flows open.
t_module_reloaded() {
	rs_start_flows reload
	local t_down t_up
	t_down=$EPOCHREALTIME
	rmmod iprp
	insmod "$MODULE"
	n C "$IPRPCTL" role client
	n R "$IPRPCTL" restore "$RS_CONF"
	t_up=$EPOCHREALTIME
	touch /tmp/rs-reload-up
	rs_release_chks
	rs_finish reload "$t_down" "$t_up"
}

# (c) The client role is switched off at C with the flows open; R keeps
# its state. Then it is switched on again.
t_client_role_off() {
	rs_start_flows roleoff
	local t_down t_up
	t_down=$EPOCHREALTIME
	n C "$IPRPCTL" role none
	t_up=$EPOCHREALTIME
	touch /tmp/rs-roleoff-up
	rs_report roleoff "$t_down" "$t_up"
	echo "C: $(rs_counters C)"
	check "$(ctr C client_stop_reset)" -ge 1 "client_stop_reset counts the reset"
	n C "$IPRPCTL" role client
	rs_new_flow_redirected
	rm -f /tmp/rs-roleoff-*.big
}

rs_teardown() {
	pkill -f "python3 - S1" || true
	pkill -f "python3 - S2" || true
	pkill -f "httpd -p" || true
	rmmod iprp
}

topo_up 20
RS_MAC=$(n R cat /sys/class/net/eth0/address)
# C knows R's MAC address for good, as it would a router's: a restart
# that takes long (49 s on the debug kernel) otherwise lets C's ARP for R
# fail, and the failure aborts the mid-handshake flow's connect with
# EHOSTUNREACH (as for any server that is away that long), which is not
# what these tests are about.
n C ip neigh replace "$VIP" lladdr "$RS_MAC" dev eth0 nud permanent
n C ip neigh replace "${ADDR[R]}" lladdr "$RS_MAC" dev eth0 nud permanent
tap "restart setup: TCP and UDP services, R's configuration saved" rs_setup
tap "R's namespace deleted and rebuilt: confirmed TCP and UDP flows go on, the mid-handshake flow completes, L's flow (R's own socket) is reset" t_redirector_netns_rebuilt
tap "module reloaded: C's redirected TCP connection is reset at once, UDP and the mid-handshake flow are bound again, L's flow served by R goes on" t_module_reloaded
tap "client role switched off (R keeps its state): C's redirected TCP connection is reset at once, UDP goes on through R" t_client_role_off
tap "servers stop, module unloads" rs_teardown
topo_down
