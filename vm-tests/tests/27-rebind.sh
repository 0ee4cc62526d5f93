# shellcheck shell=bash
# Re-binding (docs/protocol.md, R28, C29): a replica dies (its link goes
# down, so nothing answers and nothing resets), the health checker at R
# marks it down, R sends each confirmed flow's client a REBIND, and:
#  - a UDP flow keeps going: its next datagrams reach a live replica;
#  - a TCP connection is reset at once, and its client reconnects to a
#    live replica.
# Measured (printed, not asserted: speed goals live in benchmarks): the
# time from the replica's death to recovery, against the check interval
# (200 ms, fall 2). Asserted: both recover within the clients' run
# (IPRP_REBIND_RUN_S, default 12 s, of which 3 s before the death).
# Without re-binding, the UDP flow keeps sending to the dead replica for
# its idle timeout (2 min) and the TCP client waits for its
# retransmission timeout: the test fails.

CHECK_PORT=8080
UDP_PORT=7100
TCP_PORT=7200
RUN_S=${IPRP_REBIND_RUN_S:-12}

# svc_port udp|tcp: the port of that protocol's service.
svc_port() {
	if [ "$1" = tcp ]; then echo "$TCP_PORT"; else echo "$UDP_PORT"; fi
}

# A UDP echo server answering with the host's name; a TCP server that
# sends the host's name every 100 ms on each connection.
rb_servers() {
	local h=$1
	n "$h" python3 - "$h" "$UDP_PORT" "$TCP_PORT" >"$RES/servers-$h.log" 2>&1 <<'PY' &
import socket, sys, threading, time
name, udp_port, tcp_port = sys.argv[1].encode(), int(sys.argv[2]), int(sys.argv[3])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("", udp_port))
def udp():
    while True:
        data, peer = u.recvfrom(2048)
        u.sendto(name + b" " + data, peer)
def conn(c):
    try:
        while True:
            c.sendall(name + b"\n")
            time.sleep(0.1)
    except OSError:
        pass
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("", tcp_port))
t.listen(16)
threading.Thread(target=udp, daemon=True).start()
while True:
    c, _ = t.accept()
    threading.Thread(target=conn, args=(c,), daemon=True).start()
PY
	n "$h" busybox httpd -p "$CHECK_PORT" -h /tmp
}

rebind_setup() {
	insmod "$MODULE"
	forwarding_host R
	rb_servers S1
	rb_servers S2
	n C "$IPRPCTL" role client
	n R "$IPRPCTL" role redirector
	local p
	for p in udp tcp; do
		local port
		port=$(svc_port $p)
		n R "$IPRPCTL" service add $p "$VIP:$port" sched rr
		n R "$IPRPCTL" replica add $p "$VIP:$port" "${ADDR[S1]}"
		# S2 starts down, so that both flows are bound to S1.
		n R "$IPRPCTL" replica add $p "$VIP:$port" "${ADDR[S2]}" down
	done
	sleep 1
}

# replica_up PROTO PORT ADDR: "True" or "False" as R's list says.
replica_up() {
	n R "$IPRPCTL" list -j | python3 -c '
import json, sys
proto, port, addr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = [s for s in json.load(sys.stdin)["services"] if s["proto"] == proto and s["port"] == port][0]
print([r["up"] for r in s["replicas"] if r["addr"] == addr][0])' "$@"
}

# The UDP client: a connected socket from port 41000 sending a datagram
# every 20 ms for $1 s; each reply is logged as "time replica".
udp_client() {
	udp_pinger C "$VIP" "$UDP_PORT" 41000 "$1" >"$RES/udp-client.log" 2>&1
}

# The TCP client: reads the server's lines; on a reset or close it
# reconnects at once. Logs "time replica" per line and "time reset ERR".
tcp_client() {
	n C python3 - "$VIP" "$TCP_PORT" "$1" >"$RES/tcp-client.log" 2>&1 <<'PY'
import socket, sys, time
end = time.time() + float(sys.argv[3])
while time.time() < end:
    try:
        c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
        c.settimeout(None)
        f = c.makefile("rb")
        while time.time() < end:
            line = f.readline()
            if not line:
                print(f"{time.time():.3f} reset EOF", flush=True)
                break
            print(f"{time.time():.3f} {line.decode().strip()}", flush=True)
    except OSError as e:
        print(f"{time.time():.3f} reset {e.__class__.__name__}", flush=True)
        time.sleep(0.05)
PY
}

t_replica_death_rebinds_udp_and_resets_tcp() {
	udp_client "$RUN_S" &
	local uc=$!
	tcp_client "$RUN_S" &
	local tc=$!
	sleep 2
	local p
	for p in udp tcp; do
		local port
		port=$(svc_port $p)
		n R "$IPRPCTL" replica set $p "$VIP:$port" "${ADDR[S2]}" up
	done
	n C "$IPRPCTL" bindings
	# The health checkers: TCP connects to each replica's check port.
	for p in udp tcp; do
		local port
		port=$(svc_port $p)
		n R "$IPRPCTL" healthcheck service $p "$VIP:$port" interval 200 timeout 300 fall 2 rise 2 \
			port "$CHECK_PORT" >"$RES/healthcheck-$p.log" 2>&1 &
	done
	# R's events, each with the time it arrived: when S1 was marked down.
	n R sh -c "$IPRPCTL monitor -j | python3 -u -c 'import sys, time
for l in sys.stdin: print(f\"{time.time():.3f} {l.strip()}\", flush=True)'" \
		>"$RES/monitor-R.log" 2>&1 &
	sleep 1
	# S1 dies: no answer, no reset, from now on.
	local t0=$EPOCHREALTIME
	n S1 ip link set eth0 down
	wait "$uc" "$tc" || true
	for p in udp tcp; do
		local port
		port=$(svc_port $p)
		[ "$(replica_up $p "$port" "${ADDR[S1]}")" = False ]
	done
	pkill -f "iprpctl monitor" || true
	pkill -f 'iprpctl healthcheck' || true
	n S1 ip link set eth0 up
	n R "$IPRPCTL" stats | grep -E "rebind|failed_sent" || true
	n C "$IPRPCTL" stats | grep -E "rebind" || true
	# What an operator graphs: each service re-bound its flow off S1.
	n R "$IPRPCTL" stats -j | python3 -c '
import json, sys
for s in json.load(sys.stdin)["services"]:
    r = {x["addr"]: x for x in s["replicas"]}
    print(s["proto"], "flows_rebound", s["stats"]["flows_rebound"], "S1 confirmed/rebound",
          r[sys.argv[1]]["confirmed"], r[sys.argv[1]]["rebound"])
    assert s["stats"]["flows_rebound"] >= 1 and r[sys.argv[1]]["rebound"] >= 1, s
    assert r[sys.argv[1]]["confirmed"] >= r[sys.argv[1]]["rebound"], s' "${ADDR[S1]}"
	python3 - "$t0" "$RES/monitor-R.log" "$RES/udp-client.log" "$RES/tcp-client.log" "${ADDR[S1]}" <<'PY'
import json, sys
t0 = float(sys.argv[1])
downs = []
for l in open(sys.argv[2]):
    t, _, ev = l.partition(" ")
    try:
        e = json.loads(ev)
    except ValueError:
        continue
    if e.get("event") == "replica-set" and e.get("replica") == sys.argv[5] and not e.get("up"):
        downs.append(float(t))
assert downs, "no replica-set event marking S1 down"
down = min(downs)
def lines(p):
    return [l.split(None, 1) for l in open(p).read().splitlines() if l.strip()]
udp = [(float(t), w.strip()) for t, w in lines(sys.argv[3])]
tcp = [(float(t), w.strip()) for t, w in lines(sys.argv[4])]
print(f"S1 marked down {down - t0:.2f} s after it died (checks every 0.2 s, fall 2)")
before = {w for t, w in udp if t < t0}
print("UDP replies before:", sorted(before))
assert before == {"S1"}, before
after = [t for t, w in udp if t > t0 and w == "S2"]
assert after, "the UDP flow never reached S2"
print(f"UDP: first reply from S2 {after[0] - t0:.2f} s after S1 died, {after[0] - down:.2f} s after it was marked down")
tb = {w for t, w in tcp if t < t0}
assert tb == {"S1"}, tb
resets = [(t, w) for t, w in tcp if t > t0 and w.startswith("reset")]
assert resets, "the TCP connection to S1 was never reset"
print(f"TCP: reset ({resets[0][1]}) {resets[0][0] - t0:.2f} s after S1 died, {resets[0][0] - down:.2f} s after it was marked down")
s2 = [t for t, w in tcp if t > t0 and w == "S2"]
assert s2, "the TCP client never reached S2"
print(f"TCP: first line from S2 {s2[0] - t0:.2f} s after S1 died")
PY
}

rebind_teardown() {
	pkill -f "python3 - S1" || true
	pkill -f "python3 - S2" || true
	pkill -f "httpd -p $CHECK_PORT" || true
	rmmod iprp
}

topo_up
tap "re-binding setup: UDP and TCP services, S2 down at first" rebind_setup
tap "a replica dies: the checker marks it down, its UDP flow goes on to S2, its TCP connection is reset and reconnects to S2" t_replica_death_rebinds_udp_and_resets_tcp
tap "servers stop, module unloads" rebind_teardown
topo_down
