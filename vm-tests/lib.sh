# shellcheck shell=bash
# Helpers for tests running inside the VM: TAP output, namespaces, topology.
#
# Topology (one L2 segment through a bridge in namespace "sw"; netem on R's
# port makes the redirector far while the replicas stay near the client):
#
#      C 10.0.0.1 (client role)       S1 10.0.0.11 (no role)
#            \                       /
#             br0 (ns sw) --------- S2 10.0.0.12 (no role)
#            /    \
#   L 10.0.0.21    \~~ netem ~~ R 10.0.0.2 (redirector role, service
#   (legacy, no role)              address 10.0.0.100, own server for legacy)
#   A 10.0.0.66 (off-path attacker, no role) on the same bridge
#
# Each host is a network namespace; "n C cmd" runs cmd in host C. The
# module is loaded once for the whole VM, but a namespace has iprp hooks
# only while it has a role, so a host with no role runs no iprp code per
# packet, like a host without the module (10-module checks this). Only the
# protocol-99 handler is global: a host with no role drops protocol-99
# messages where a host without the module would answer ICMP protocol
# unreachable (vm-tests/tools/legacy_host.py makes L answer so).

REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
IPRPCTL=$REPO/target/release/iprpctl
MODULE=${MODULE:-$REPO/iprp.ko}
HOSTS="C R S1 S2 L A"
declare -A ADDR=([C]=10.0.0.1 [R]=10.0.0.2 [S1]=10.0.0.11 [S2]=10.0.0.12 [L]=10.0.0.21 [A]=10.0.0.66)
VIP=10.0.0.100

TAP_N=0
TAP_PASS=0
TAP_FAIL=0
# A test that cannot run here prints why as its last line and exits with
# this status (`skip REASON`); TAP shows it as "# SKIP REASON", never as a
# pass.
TAP_SKIP_RC=77
skip() { echo "$*"; exit "$TAP_SKIP_RC"; }

n() { local h=$1; shift; ip netns exec "$h" "$@"; }

# ok NAME CMD...: runs CMD, prints a TAP line; output goes to the log.
tap() {
	local name=$1; shift
	TAP_N=$((TAP_N + 1))
	local log=$RES/test-$TAP_N.log start=$SECONDS
	# Not inside "if": bash ignores set -e in a condition, which would let a
	# failing check in the middle of a test pass unnoticed.
	( set -e; "$@" ) >"$log" 2>&1
	local rc=$?
	# Each test's wall time, for finding where a slow kernel's time goes
	# (guest.sh prints the slowest at the end).
	printf '%d\t%d\t%s\n' $((SECONDS - start)) "$TAP_N" "$name" >>"$RES/test-times.txt"
	# Each result also goes to $RES/tap.txt, which survives a console the
	# host did not get (seen with two VMs at once).
	if [ "$rc" -eq "$TAP_SKIP_RC" ]; then
		# The test's last line says why.
		echo "ok $TAP_N - $name # SKIP $(tail -1 "$log")" | tee -a "$RES/tap.txt"
	elif [ "$rc" -eq 0 ]; then
		TAP_PASS=$((TAP_PASS + 1))
		echo "ok $TAP_N - $name" | tee -a "$RES/tap.txt"
	else
		TAP_FAIL=$((TAP_FAIL + 1))
		echo "not ok $TAP_N - $name" | tee -a "$RES/tap.txt"
		sed 's/^/#   /' "$log" | tail -40
	fi
	# The first kernel report is named with the test that caused it and
	# kept with the kernel log of that moment (dmesg.txt is written only
	# at the end, which a long debug-kernel run may not reach).
	if [ -z "${TAP_REPORTED:-}" ] && dmesg | grep -qE "$DMESG_BAD"; then
		TAP_REPORTED=$TAP_N
		dmesg >"$RES/dmesg-first-report.txt"
		echo "# dmesg: first kernel report during test $TAP_N ($name):"
		grep -m1 -A30 -E "$DMESG_BAD" "$RES/dmesg-first-report.txt" | sed 's/^/#   /'
	fi
}

# Fails with a message unless "$1 $2 $3" holds numerically (e.g. 5 -ge 3).
check() {
	if ! [ "$1" "$2" "$3" ] 2>/dev/null; then
		echo "check failed: $4 ($1 $2 $3)"
		return 1
	fi
	echo "check: $4 ($1 $2 $3)"
}

# switch_up SW: a namespace SW holding a bridge br0, up (no STP).
switch_up() {
	ip netns add "$1"
	n "$1" ip link add br0 type bridge
	n "$1" ip link set br0 up
}

# host_link SW HOST ADDR [MAC]: a namespace HOST whose eth0 (with MAC, if
# given) is a port (pHOST) of SW's bridge, with ADDR/24 and lo up. eth0
# stays down: the caller brings it up when HOST should be reachable.
host_link() {
	local sw=$1 h=$2 addr=$3 mac=${4:-}
	ip netns add "$h"
	ip link add eth0 netns "$h" ${mac:+address "$mac"} type veth peer name "p$h" netns "$sw"
	n "$sw" ip link set "p$h" master br0 up
	n "$h" ip addr add "$addr/24" dev eth0
	n "$h" ip link set lo up
}

topo_up() {
	local delay_ms=${1:-0}
	switch_up sw
	for h in $HOSTS; do
		host_link sw "$h" "${ADDR[$h]}"
		n "$h" ip link set eth0 up
	done
	n R ip addr add "$VIP/24" dev eth0
	if [ "$delay_ms" -gt 0 ]; then
		# Both directions of the R link: R's egress and the switch port to R.
		n R tc qdisc add dev eth0 root netem delay "${delay_ms}ms"
		n sw tc qdisc add dev pR root netem delay "${delay_ms}ms"
	fi
	# Wait for the bridge ports to forward (no STP, so this is quick).
	for h in R S1; do
		for _ in $(seq 50); do n C ping -c1 -W1 "${ADDR[$h]}" >/dev/null 2>&1 && break; sleep 0.1; done
	done
}

# udp_pinger NS ADDR PORT CPORT SECONDS [STOPFILE]: from NS, a UDP socket
# bound to CPORT and connected to ADDR:PORT sends a datagram every 20 ms
# for SECONDS, or until 10 s after STOPFILE exists, and prints "time host"
# for each reply, host being the reply's first word (the servers of
# 27-rebind and 29-restart answer with their host's name).
udp_pinger() {
	n "$1" python3 - "$2" "$3" "$4" "$5" "${6:-}" <<'PY'
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", int(sys.argv[3])))
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(0.02)
end = time.time() + float(sys.argv[4])
stop = sys.argv[5]
seq = 0
while time.time() < end:
    if stop and os.path.exists(stop):
        end, stop = min(end, time.time() + 10), ""
    s.send(b"%d" % seq)
    seq += 1
    try:
        while True:
            who = s.recv(2048).split()[0].decode()
            print(f"{time.time():.3f} {who}", flush=True)
    except (socket.timeout, ConnectionRefusedError):
        pass
PY
}

# conns_of PORT: the live connection counts of the TCP service's replicas at
# R, space-separated in replica order.
conns_of() {
	n R "$IPRPCTL" list -j | python3 -c '
import json, sys
port = int(sys.argv[1])
s = [s for s in json.load(sys.stdin)["services"] if s["proto"] == "tcp" and s["port"] == port][0]
print(" ".join(str(r["conns"]) for r in s["replicas"]))' "$1"
}

# forwarding_host NS: NS forwards IPv4 (a redirector forwards a flow's first
# packets to the replica) without telling its clients to use the replica's
# address directly (ICMP redirects).
forwarding_host() {
	n "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
		net.ipv4.conf.eth0.send_redirects=0
}

topo_down() {
	for h in $HOSTS sw; do ip netns del "$h" 2>/dev/null || true; done
}

# stat NS NAME: one core statistic (e.g. client.confirmed) from status -j
# (compact JSON). grep, not python: python's start-up took seconds on the
# debug kernel, longer than the idle-expiry test's timeout.
stat() {
	n "$1" "$IPRPCTL" status -j | grep -o "\"$2\":[0-9]*" | cut -d: -f2
}

# ctr NS NAME: one counter from "iprpctl status -j" in namespace NS.
ctr() {
	n "$1" "$IPRPCTL" status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"][sys.argv[1]])' "$2"
}

# Kernel problems that fail the run wherever they appear. Specific phrases,
# not subsystem names: the debug kernel's boot log says "RCU lockdep
# checking is enabled" and "kmemleak: Kernel memory leak detector
# initialized". Lockdep's and KASAN's reports start with BUG: or WARNING:.
DMESG_BAD='BUG:|WARNING:|Oops|Call Trace|general protection|KASAN|UBSAN|unreferenced object|suspected memory leak|kmemleak: .*(disabled|[Cc]annot)|leaked|refcount_t|detected stall|blocked for more than|possible circular|sleeping function called|DEBUG_LOCKS_WARN_ON'

# parallel_curl COUNT TAG MAX_TIME URL: COUNT downloads of URL at once from
# namespace C. Download i goes to /tmp/TAG.i; /tmp/TAG.res.i holds
# "i rc=RC connect_s total_s bytes". Prints the elapsed time.
parallel_curl() {
	local count=$1 tag=$2 max_time=$3 url=$4 i t0=$SECONDS
	local -a pids=()
	for i in $(seq "$count"); do
		(
			rc=0
			w=$(n C curl -sf --max-time "$max_time" \
				-w '%{time_connect} %{time_total} %{size_download}' \
				-o "/tmp/$tag.$i" "$url") || rc=$?
			echo "$i rc=$rc $w" >"/tmp/$tag.res.$i"
		) &
		pids+=($!)
	done
	wait "${pids[@]}"
	echo "$count downloads took $((SECONDS - t0)) s"
}
