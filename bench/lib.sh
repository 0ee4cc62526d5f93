# shellcheck shell=bash
# Benchmark topology, sourced by every bench/guest/*.sh inside the VM.
#
# The hosts and addresses of vm-tests/lib.sh (one bridge in ns "sw"):
#
#   C 10.0.0.1 (module, client role)    S1 10.0.0.11  replica (redirected),
#   L 10.0.0.21 (legacy, no module)                   direct, IPVS-DR real server
#                \                      S2 10.0.0.12  NAT backend (DNAT, IPVS-NAT)
#                 br0 (ns sw) --------/
#                  \~~ D ms each way ~~ R 10.0.0.2 + VIP 10.0.0.100 (module,
#                                        redirector, nft DNAT, IPVS, own servers)
#
# Distance, two geometries (bench_up D GEOM):
#  far  (default, the paper's): R is far from everybody, C and the replicas
#       are near each other: netem D ms on R's link, both ways (as
#       vm-tests' topo_up). A middlebox at R then costs two far legs
#       (C-R and R-S), a redirected flow's bulk none.
#  near (the peers' recipe): R is far from C and L only, near S1/S2:
#       netem on an HTB class of C's, L's and R's eth0 that nftables
#       fills (meta priority) with the packets between {C, L} and R (the
#       kernel has no tc classifiers, hence HTB + nft).
# Why S2 for NAT: DNAT and IPVS-NAT need the backend's replies to go back
# through R; S2 routes C and L via R. S1 answers C directly (direct
# access, the redirected flows, IPVS-DR with the VIP on its lo).
#
# Services on R's VIP (same number = same kind of server behind it):
#   port  mechanism     backend        | port  mechanism     backend
#   8080  iprp redirect S1:8080 (http) | 7000  iprp redirect S1:7000 (sink)
#   8081  nft DNAT      S2:8080        | 7001  nft DNAT      S2:7000
#   8082  IPVS-NAT      S2:8085        | 7002  IPVS-NAT      S2:7005
#   8083  IPVS-DR       S1:8083        | 7003  IPVS-DR       S1:7003
#   9090  R's own http server          | 7009  R's own sink
#   8080  R's own http (legacy clients served locally)
#   8087  iprp redirect S1:8087 (http), | 7010  iprp redirect S1:7010 (sink),
#         granting (repeat flows)      |       granting (repeat flows)
#   direct: S1:8084 (http), S1:7004 (sink); direct_iprp, the same path
#   measured in the iprp arm (the repeat flows' baseline): S1:8089 (http),
#   S1:7004 (sink). Not the replica's port: a
#   direct flow and a redirected one to the same S1 port may pick the same
#   client port, and then share one 4-tuple on the wire (see README). For
#   the same reason DNAT and IPVS-NAT use different ports of S2: C picks
#   client ports per destination (VIP:7001, VIP:7002), both NATs keep them.
# http = busybox httpd; sink = connect-gen serve (accept and close).
#
# Arms: each mechanism is measured with only its own configuration in
# place (arm_on ARM), so no mechanism's hooks sit on another's path:
#   plain    nothing at all, iprp unloaded: direct C->S1, R's own listener
#   iprp     iprp loaded, C client, R redirector: redirected, repeat, and
#            direct C->S1 again (direct_iprp), the baseline of the repeat
#            flows in the same arm
#   dnat     iprp unloaded, nft DNAT at R
#   ipvsnat  iprp unloaded, IPVS-NAT services at R
#   ipvsdr   iprp unloaded, IPVS-DR services at R
# bench_up leaves the iprp arm on (what 12-legacy and 15-deploy measure).

REPO=${REPO:?}
OUT=${OUT:?}
MODE=${MODE:-quick}
# shellcheck source=../vm-tests/lib.sh
. "$REPO/vm-tests/lib.sh"
GEN=$REPO/target/bench/connect-gen
PY=/usr/bin/python3
BENCH_PIDS=""

log() { echo "# $(date +%T) $*"; }
fail() { echo "BENCH FAILURE: $*" >&2; exit 1; }

# Same-size but different random files per server, so a download's content
# proves which server sent it.
SIZES="10k 100k 1m 10m"
declare -A SIZE_BYTES=([10k]=10000 [100k]=100000 [1m]=1000000 [10m]=10000000)
make_www() {
	local h s
	for h in S1 S2 R; do
		mkdir -p "/tmp/www-$h"
		echo "$h" >"/tmp/www-$h/who"
		for s in $SIZES; do
			[ -f "/tmp/www-$h/$s" ] || head -c "${SIZE_BYTES[$s]}" /dev/urandom >"/tmp/www-$h/$s"
		done
	done
}

# bg NS CMD...: a server in namespace NS, killed by bench_down.
bg() {
	local h=$1; shift
	# Not through n(): $! must be the server itself (ip netns exec execs).
	ip netns exec "$h" "$@" >/dev/null 2>&1 &
	BENCH_PIDS="$BENCH_PIDS $!"
}

# delay_link HOST DELAY_MS PEER...: HOST's packets to PEERs wait DELAY_MS.
delay_link() {
	local h=$1 d=$2; shift 2
	local peers
	peers=$(echo "$@" | sed 's/ /, /g')
	n "$h" tc qdisc add dev eth0 root handle 1: htb default 20 r2q 100000
	n "$h" tc class add dev eth0 parent 1: classid 1:10 htb rate 20gbit ceil 20gbit quantum 200000
	n "$h" tc class add dev eth0 parent 1: classid 1:20 htb rate 20gbit ceil 20gbit quantum 200000
	n "$h" tc qdisc add dev eth0 parent 1:10 handle 10: netem delay "${d}ms" limit 100000
	n "$h" tc qdisc add dev eth0 parent 1:20 handle 20: pfifo limit 10000
	n "$h" nft -f - <<NFT
table ip bench_delay {
	chain post {
		type filter hook postrouting priority 0; policy accept;
		ip daddr { $peers } meta priority set 1:10
	}
}
NFT
}

# bench_delay D [far|near]: (re)sets the distance; 0 = no delay.
BENCH_GEOM=none
bench_delay() {
	local d=$1 geom=${2:-far} h
	case $BENCH_GEOM in
	far)
		n R tc qdisc del dev eth0 root
		n sw tc qdisc del dev pR root ;;
	near)
		for h in C L R; do
			n "$h" tc qdisc del dev eth0 root
			n "$h" nft delete table ip bench_delay
		done ;;
	esac
	BENCH_GEOM=none
	[ "$d" -gt 0 ] && BENCH_GEOM=$geom
	if [ "$d" -gt 0 ] && [ "$geom" = far ]; then
		n R tc qdisc add dev eth0 root netem delay "${d}ms" limit 100000
		n sw tc qdisc add dev pR root netem delay "${d}ms" limit 100000
	elif [ "$d" -gt 0 ]; then
		delay_link C "$d" "$VIP" "${ADDR[R]}"
		delay_link L "$d" "$VIP" "${ADDR[R]}"
		delay_link R "$d" "${ADDR[C]}" "${ADDR[L]}"
	fi
	iprp_flush
	log "distance: $geom, D = $d ms"
}

# bench_up D [far|near]: the topology of vm-tests/lib.sh (built with few
# processes: exec is slow under TCG), every server of the table above
# started, the iprp arm on and checked, then bench_delay D GEOM.
bench_up() {
	local h
	make_www
	{
		echo "netns add sw"
		for h in $HOSTS; do
			echo "netns add $h"
		done
	} | ip -batch -
	{
		for h in $HOSTS; do
			echo "link add eth0 netns $h type veth peer name p$h netns sw"
		done
	} | ip -batch -
	{
		echo "link add br0 type bridge"
		echo "link set br0 up"
		for h in $HOSTS; do
			echo "link set p$h master br0 up"
		done
	} | ip -n sw -batch -
	for h in $HOSTS; do
		{
			echo "addr add ${ADDR[$h]}/24 dev eth0"
			echo "link set lo up"
			echo "link set eth0 up"
			case $h in
			R) echo "addr add $VIP/24 dev eth0" ;;
			# S2: NAT backend, replies to the clients through R.
			S2) echo "route add ${ADDR[C]}/32 via ${ADDR[R]}"
			    echo "route add ${ADDR[L]}/32 via ${ADDR[R]}" ;;
			# S1: IPVS-DR real server, VIP on lo (never answers ARP for it).
			S1) echo "addr add $VIP/32 dev lo" ;;
			esac
		} | ip -n "$h" -batch -
	done
	# No ICMP redirects: R forwards on the interface it received on.
	for h in R S1 S2; do
		n "$h" sh -c 'for k in all eth0; do
			echo 0 >/proc/sys/net/ipv4/conf/$k/send_redirects
			echo 0 >/proc/sys/net/ipv4/conf/$k/accept_redirects
		done'
	done
	n R sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
	n S1 sh -c 'for k in all eth0; do
		echo 1 >/proc/sys/net/ipv4/conf/$k/arp_ignore
		echo 2 >/proc/sys/net/ipv4/conf/$k/arp_announce
	done'
	log "links up"

	bg S1 busybox httpd -f -p 8080 -h /tmp/www-S1
	bg S1 busybox httpd -f -p 8083 -h /tmp/www-S1
	bg S1 busybox httpd -f -p 8084 -h /tmp/www-S1
	bg S1 busybox httpd -f -p 8087 -h /tmp/www-S1
	bg S1 busybox httpd -f -p 8089 -h /tmp/www-S1
	bg S2 busybox httpd -f -p 8080 -h /tmp/www-S2
	bg S2 busybox httpd -f -p 8085 -h /tmp/www-S2
	bg R busybox httpd -f -p "$VIP:8080" -h /tmp/www-R
	bg R busybox httpd -f -p "$VIP:9090" -h /tmp/www-R
	bg S1 "$GEN" serve 0.0.0.0:7000 0.0.0.0:7003 0.0.0.0:7004 0.0.0.0:7010
	bg S2 "$GEN" serve 0.0.0.0:7000 0.0.0.0:7005
	bg R "$GEN" serve "$VIP:7009"

	BENCH_ARM=none
	arm_on iprp
	[ "${1:-0}" -eq 0 ] || bench_delay "$1" "${2:-far}"
}

# iprp_flush: empties C's and R's tables if iprp is loaded.
iprp_flush() {
	grep -q '^iprp ' /proc/modules || return 0
	n C "$IPRPCTL" flush client
	n R "$IPRPCTL" flush redirector
}

# The iprp arm's configuration; a script adds to it by defining
# bench_iprp_extra (called after, and after every reload).
iprp_config() {
	local p
	n C "$IPRPCTL" role client capacity 65536
	n R "$IPRPCTL" role redirector capacity 65536
	for p in 8080 7000; do
		n R "$IPRPCTL" service add tcp "$VIP:$p" sched rr response-timeout 1000 idle-timeout 60000
		n R "$IPRPCTL" replica add tcp "$VIP:$p" "${ADDR[S1]}"
	done
	# Repeat flows: a granting service, so that after a client's first flow
	# its next ones go straight to S1 (docs/protocol.md, "Wildcard grants").
	for p in 7010 8087; do
		n R "$IPRPCTL" service add tcp "$VIP:$p" sched rr response-timeout 10000 idle-timeout 60000 grant 600
		n R "$IPRPCTL" replica add tcp "$VIP:$p" "${ADDR[S1]}"
	done
	if declare -F bench_iprp_extra >/dev/null; then bench_iprp_extra; fi
}

# arm_mechs ARM MECH...: those MECHs that ARM measures, in their order.
arm_mechs() {
	local arm=$1 m
	shift
	for m in "$@"; do
		[ "${ARM_OF[$m]}" != "$arm" ] || echo "$m"
	done
}

# arm_on ARM: the configuration of ARM alone (see the table above), its
# mechanisms checked to answer from the right server. Nothing to do if
# ARM is on already.
BENCH_ARM=none
declare -A ARM_OF=([direct]=plain [rlocal]=plain [redirected]=iprp [repeat]=iprp [direct_iprp]=iprp [dnat]=dnat
	[ipvsnat]=ipvsnat [ipvsdr]=ipvsdr)
arm_on() {
	local arm=$1
	[ "$arm" != "$BENCH_ARM" ] || return 0
	if grep -q '^iprp ' /proc/modules; then rmmod iprp; fi
	n R nft delete table ip bench_nat 2>/dev/null || true
	n R ipvsadm -C
	case $arm in
	plain) ;;
	iprp)
		insmod "$MODULE"
		iprp_config ;;
	dnat)
		n R nft -f - <<NFT
table ip bench_nat {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr $VIP tcp dport 8081 dnat to ${ADDR[S2]}:8080
		ip daddr $VIP tcp dport 7001 dnat to ${ADDR[S2]}:7000
	}
}
NFT
		;;
	ipvsnat)
		n R ipvsadm -R <<IPVS
-A -t $VIP:8082 -s rr
-a -t $VIP:8082 -r ${ADDR[S2]}:8085 -m
-A -t $VIP:7002 -s rr
-a -t $VIP:7002 -r ${ADDR[S2]}:7005 -m
IPVS
		;;
	ipvsdr)
		n R ipvsadm -R <<IPVS
-A -t $VIP:8083 -s rr
-a -t $VIP:8083 -r ${ADDR[S1]}:8083 -g
-A -t $VIP:7003 -s rr
-a -t $VIP:7003 -r ${ADDR[S1]}:7003 -g
IPVS
		;;
	*) fail "arm_on: unknown arm $arm" ;;
	esac
	BENCH_ARM=$arm
	# shellcheck disable=SC2046
	arm_check $(arm_mechs "$arm" $MECHS_HTTP)
	iprp_flush
	log "arm $arm on"
}

# arm_check MECH...: each MECH answers "who" from the server it must reach
# (one curl for all; retried while servers and rules settle).
arm_check() {
	local m args=() ok=0 try
	for m in "$@"; do
		args+=(-o "/tmp/who.$m" "$(http_url "$m" who)")
	done
	for try in $(seq 20); do
		rm -f /tmp/who.*
		n C curl -s --max-time 5 "${args[@]}" >/dev/null 2>&1 || true
		ok=1
		for m in "$@"; do
			[ "$(cat "/tmp/who.$m" 2>/dev/null)" = "$(http_server "$m")" ] || ok=0
		done
		[ "$ok" = 1 ] && return 0
		sleep 0.5
	done
	for m in "$@"; do
		[ "$(cat "/tmp/who.$m" 2>/dev/null)" = "$(http_server "$m")" ] ||
			fail "$m: $(http_url "$m" who) answered '$(cat "/tmp/who.$m" 2>/dev/null)', want $(http_server "$m")"
	done
}

bench_down() {
	local p
	for p in $BENCH_PIDS; do kill "$p" 2>/dev/null || true; done
	# wait returns the killed server's status (143): not a failure.
	for p in $BENCH_PIDS; do wait "$p" 2>/dev/null || true; done
	BENCH_PIDS=""
	topo_down
}

# The mechanisms compared for downloads, and where each one is reached.
# repeat: a client's flows to a granting service after its first one
# (grant_first earns it).
MECHS_HTTP="direct rlocal redirected repeat direct_iprp dnat ipvsnat ipvsdr"
http_url() {
	case "$1" in
	direct) echo "http://${ADDR[S1]}:8084/$2" ;;
	direct_iprp) echo "http://${ADDR[S1]}:8089/$2" ;;
	redirected) echo "http://$VIP:8080/$2" ;;
	repeat) echo "http://$VIP:8087/$2" ;;
	dnat) echo "http://$VIP:8081/$2" ;;
	ipvsnat) echo "http://$VIP:8082/$2" ;;
	ipvsdr) echo "http://$VIP:8083/$2" ;;
	rlocal) echo "http://$VIP:9090/$2" ;;
	esac
}
http_server() {
	case "$1" in
	direct | direct_iprp | redirected | repeat | ipvsdr) echo S1 ;;
	dnat | ipvsnat) echo S2 ;;
	rlocal) echo R ;;
	esac
}
# grant_first: C's first flow to the granting http service, which earns C
# the grant its repeat flows then use (after every flush).
grant_first() {
	n C curl -sf --max-time 20 -o /dev/null "$(http_url repeat who)" ||
		fail "no first flow to the granting service $(http_url repeat who)"
}

# Connection sinks (connect-gen serve) per mechanism.
# repeat: a client's flows to a granting service after its first one.
declare -A SINK=([direct]=${ADDR[S1]}:7004 [direct_iprp]=${ADDR[S1]}:7004 [rlocal]=$VIP:7009 [redirected]=$VIP:7000
	[repeat]=$VIP:7010 [dnat]=$VIP:7001 [ipvsnat]=$VIP:7002 [ipvsdr]=$VIP:7003)

# stat NS NAME: one core statistic from iprpctl status -j.
# (jq: python starts in ~1 s under TCG.)
stat() {
	n "$1" "$IPRPCTL" status -j | jq -er --arg k "$2" '.stats[$k] // 0'
}

# medians FILE: "name median ..." of a NAME,SEQ,VALUE csv, one line.
medians() {
	sort -t, -k1,1 -k3,3n "$1" | awk -F, '
		{ v[$1, ++c[$1]] = $3 }
		END { for (m in c) printf "%s %.2f, ", m, v[m, int((c[m] + 1) / 2)]; print "(median ms)" }'
}

# shuffled WORD...: the words in random order (interleaving).
shuffled() { printf '%s\n' "$@" | shuf | tr '\n' ' '; }
