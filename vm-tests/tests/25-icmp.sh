# shellcheck shell=bash
# ICMP errors follow the translation (rules C27, C28 in docs/protocol.md),
# and a translated flow's cached route follows routing changes
# (src/route.c). Own topology: between C and the replica S1 lies a path whose middle link
# has a 1280-byte MTU, so the endpoints negotiate a 1460-byte MSS and only
# path MTU discovery can make a full-size segment fit.
#
#   C 10.0.0.1 (client role) --+
#   R 10.0.0.2 (redirector,    +-- br0 (ns sw) -- X1 10.0.0.254
#     VIP 10.0.0.100) ---------+                   | 10.0.8.1   MTU 1280
#                                                  | 10.0.8.2
#                                                 X2 10.0.9.254
#                                                  |
#                                                 S1 10.0.9.11 (no role)

ICMP_HOSTS="C R X1 X2 S1"
ICMP_S1=10.0.9.11
ICMP_VIP=10.0.0.100

icmp_topo_up() {
	local h
	switch_up sw
	host_link sw C 10.0.0.1
	host_link sw R 10.0.0.2
	host_link sw X1 10.0.0.254
	for h in C R; do n "$h" ip link set eth0 up; done
	for h in X2 S1; do
		ip netns add "$h"
		n "$h" ip link set lo up
	done
	n R ip addr add "$ICMP_VIP/24" dev eth0
	ip link add eth1 netns X1 mtu 1280 type veth peer name eth0 netns X2 mtu 1280
	n X1 ip addr add 10.0.8.1/24 dev eth1
	n X2 ip addr add 10.0.8.2/24 dev eth0
	ip link add eth1 netns X2 type veth peer name eth0 netns S1
	n X2 ip addr add 10.0.9.254/24 dev eth1
	n S1 ip addr add "$ICMP_S1/24" dev eth0
	for h in X1 X2 S1; do n "$h" ip link set eth0 up; done
	for h in X1 X2; do
		n "$h" ip link set eth1 up
		n "$h" sysctl -qw net.ipv4.ip_forward=1
	done
	n C ip route add 10.0.9.0/24 via 10.0.0.254
	n R ip route add 10.0.9.0/24 via 10.0.0.254
	n X1 ip route add 10.0.9.0/24 via 10.0.8.2
	n X2 ip route add 10.0.0.0/24 via 10.0.8.1
	n S1 ip route add default via 10.0.9.254
	forwarding_host R
	for _ in $(seq 50); do n C ping -c1 -W1 "$ICMP_S1" >/dev/null 2>&1 && break; sleep 0.1; done
}

icmp_topo_down() {
	for h in $ICMP_HOSTS sw; do ip netns del "$h" 2>/dev/null || true; done
}

icmp_setup() {
	insmod "$MODULE"
	n C "$IPRPCTL" role client
	n R "$IPRPCTL" role redirector
	n R "$IPRPCTL" service add tcp "$ICMP_VIP:5001" response-timeout 2000
	n R "$IPRPCTL" replica add tcp "$ICMP_VIP:5001" "$ICMP_S1"
	n R "$IPRPCTL" service add udp "$ICMP_VIP:9999" response-timeout 2000
	n R "$IPRPCTL" replica add udp "$ICMP_VIP:9999" "$ICMP_S1"
	n R "$IPRPCTL" service add udp "$ICMP_VIP:9998" response-timeout 2000
	n R "$IPRPCTL" replica add udp "$ICMP_VIP:9998" "$ICMP_S1"
	n R "$IPRPCTL" service add udp "$ICMP_VIP:9997" response-timeout 2000
	n R "$IPRPCTL" replica add udp "$ICMP_VIP:9997" "$ICMP_S1"
}

t_pmtu_upload() {
	# 10 MB from C to the service address, redirected to S1 across the
	# 1280-byte link: X1's "fragmentation needed" quotes C -> S1, and only
	# if C's hook makes it quote the service address does the socket learn
	# the path MTU. Without that the upload stalls.
	local in0 out0 out reused0 reused t0 t1
	in0=$(stat C client.icmp_error_in)
	out0=$(stat C client.translated_out)
	reused0=$(stat C client.route_reused)
	n S1 python3 - "$ICMP_S1" 5001 >"$RES/pmtu-server.log" 2>&1 <<'PY' &
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2])))
srv.listen(1)
print("ready", flush=True)
c, _ = srv.accept()
n = 0
while chunk := c.recv(65536):
    n += len(chunk)
c.sendall(str(n).encode())
c.close()
print("received", n, flush=True)
PY
	for _ in $(seq 100); do grep -q ready "$RES/pmtu-server.log" && break; sleep 0.1; done
	t0=$EPOCHREALTIME
	n C python3 - "$ICMP_VIP" 5001 <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
s.sendall(b"x" * 10_000_000)
s.shutdown(socket.SHUT_WR)
got = s.recv(64).decode()
print("server received", got)
assert got == "10000000", got
PY
	t1=$EPOCHREALTIME
	echo "10 MB redirected upload across the 1280-byte link: $(python3 -c "print(f'{$t1 - $t0:.2f}')") s"
	n C ip route get "$ICMP_VIP" | tee "$RES/route-vip.txt"
	grep -q "mtu 1280" "$RES/route-vip.txt"
	check "$(( $(stat C client.icmp_error_in) - in0 ))" -ge 1 "C translated the fragmentation-needed error"
	out=$(( $(stat C client.translated_out) - out0 ))
	reused=$(( $(stat C client.route_reused) - reused0 ))
	check "$((reused * 2))" -gt "$out" "most of the upload's $out translated packets ($reused) reused their binding's route"
	n C "$IPRPCTL" bindings
}

t_udp_port_unreachable() {
	# A connected UDP socket to the service address, redirected to S1,
	# where nothing listens on 9999: S1's port unreachable (from S1,
	# quoting C -> S1) must reach the application as ECONNREFUSED.
	n C python3 - "$ICMP_VIP" 9999 <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(1.0)
t0 = time.monotonic()
for i in range(6):
    try:
        s.send(b"ping %d" % i)
        s.recv(100)
    except ConnectionRefusedError:
        print(f"ECONNREFUSED after {i + 1} datagram(s), {time.monotonic() - t0:.2f} s")
        sys.exit(0)
    except socket.timeout:
        print(f"datagram {i + 1}: no answer")
sys.exit("no ECONNREFUSED for 6 datagrams")
PY
	n C "$IPRPCTL" bindings
	check "$(stat C client.icmp_error_in)" -ge 2 "C translated S1's port unreachable too"
}

t_udp_error_to_replica() {
	# C's socket is gone when S1's second answer arrives: C's stack sends
	# port unreachable about a datagram from "the service address". It must
	# go to S1 and quote S1, so S1's connected socket gets ECONNREFUSED.
	local out0
	out0=$(stat C client.icmp_error_out)
	n S1 python3 - "$ICMP_S1" 9998 >"$RES/udp-s1.log" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
data, peer = s.recvfrom(100)
s.connect(peer)
s.send(b"first")
time.sleep(1.5)
s.send(b"second")
s.settimeout(3.0)
try:
    s.recv(100)
    print("unexpected answer")
except ConnectionRefusedError:
    print("ECONNREFUSED at S1", flush=True)
except socket.timeout:
    print("no error at S1", flush=True)
PY
	local srv=$!
	for _ in $(seq 100); do grep -q ready "$RES/udp-s1.log" && break; sleep 0.1; done
	n C python3 - "$ICMP_VIP" 9998 <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(5.0)
s.send(b"hello")
print("C got", s.recv(100))
s.close()
PY
	wait "$srv" || true
	cat "$RES/udp-s1.log"
	grep -q "ECONNREFUSED at S1" "$RES/udp-s1.log"
	check "$(( $(stat C client.icmp_error_out) - out0 ))" -ge 1 "C sent its error to the replica"
}

# received: datagrams S1's counting server got so far.
received() {
	tail -n 1 "$RES/route-s1.log" | grep -o '^[0-9]*' || echo 0
}

t_route_change() {
	# A paced UDP flow to the service address, redirected to S1: its
	# packets reuse their binding's cached route. When C's route to S1
	# becomes unreachable, the cached route must go stale at once (no
	# datagram reaches S1 any more), and when the route comes back, the
	# flow must look it up again and reach S1. A cache that kept the old
	# route would go on delivering.
	local srv snd i c0 c1 c2 r0 r1 l0 l1
	n S1 python3 - "$ICMP_S1" 9997 >"$RES/route-s1.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(30.0)
print("0 ready", flush=True)
n = 0
while True:
    try:
        s.recv(100)
    except socket.timeout:
        break
    n += 1
    print(n, flush=True)
PY
	srv=$!
	for _ in $(seq 100); do grep -q ready "$RES/route-s1.log" && break; sleep 0.1; done
	n C python3 - "$ICMP_VIP" 9997 "$RES/route-stop" >"$RES/route-c.log" 2>&1 <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
sent = failed = 0
while not os.path.exists(sys.argv[3]):
    try:
        s.send(b"%d" % sent)
    except OSError:
        failed += 1
    sent += 1
    time.sleep(0.02)
print("sent", sent, "refused by the stack", failed, flush=True)
PY
	snd=$!
	# The flow is redirected and confirmed: S1 receives straight from C.
	for i in $(seq 300); do [ "$(received)" -ge 50 ] && break; sleep 0.1; done
	n C "$IPRPCTL" bindings
	r0=$(stat C client.route_reused)
	l0=$(stat C client.route_looked_up)
	sleep 1
	r1=$(stat C client.route_reused)
	check "$((r1 - r0))" -ge 10 "the confirmed flow's packets reuse their binding's route"
	n C ip route add unreachable "$ICMP_S1/32"
	sleep 1
	c1=$(received)
	sleep 2
	c2=$(received)
	check "$((c2 - c1))" -eq 0 "no datagram reached S1 while C's route to it was unreachable"
	n C ip route del unreachable "$ICMP_S1/32"
	for i in $(seq 100); do [ "$(received)" -gt "$c2" ] && break; sleep 0.1; done
	c0=$(received)
	l1=$(stat C client.route_looked_up)
	touch "$RES/route-stop"
	wait "$snd"
	kill "$srv" 2>/dev/null || true
	wait "$srv" 2>/dev/null || true
	cat "$RES/route-c.log"
	check "$c0" -gt "$c2" "S1 receives again once the route is back"
	check "$((l1 - l0))" -ge 2 "C looked the route up again after each change"
}

t_icmp_teardown() {
	rmmod iprp
}

icmp_topo_up
tap "ICMP topology: a 1280-byte link between C and the replica; roles and services" icmp_setup
tap "10 MB redirected TCP upload learns the path MTU" t_pmtu_upload
tap "a redirected UDP flow to a closed replica port gets ECONNREFUSED" t_udp_port_unreachable
tap "C's port unreachable about a translated datagram reaches the replica" t_udp_error_to_replica
tap "a translated flow's cached route follows a routing change" t_route_change
tap "rmmod after the ICMP tests" t_icmp_teardown
icmp_topo_down
