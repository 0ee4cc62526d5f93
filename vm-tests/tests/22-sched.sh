# shellcheck shell=bash
# Every scheduler distributes real connections (20-redirect covers round
# robin): weighted round robin follows the weights exactly, source hash and
# Maglev keep each client address on one replica and spread addresses over
# the replicas, least connections balances the live entries at R. Three
# replicas: S1, S2 and L (L only serves here; it has no role).

SCHED_PORT=8090
# Extra addresses of C, one "client" each for the hashing schedulers.
SCHED_SOURCES=$(seq -f '10.0.0.%g' 31 42)

sched_setup() {
	local h a
	insmod "$MODULE"
	forwarding_host R
	for h in S1 S2 L; do
		mkdir -p "/tmp/www-$h"
		echo "$h" >"/tmp/www-$h/who"
		for port in 8091 8092 8093 8094; do
			n "$h" busybox httpd -p "$port" -h "/tmp/www-$h"
		done
	done
	for a in $SCHED_SOURCES; do n C ip addr add "$a/24" dev eth0; done
	n C "$IPRPCTL" role client
	n R "$IPRPCTL" role redirector
}

# tally PORT N [SRC]: N curls to VIP:PORT (from address SRC), "S1=a S2=b
# L=c other=d" by the replica that answered.
tally() {
	local port=$1 count=$2 src=${3:-${ADDR[C]}} s1=0 s2=0 l=0 other=0 who
	for _ in $(seq "$count"); do
		who=$(n C curl -sf --max-time 10 --interface "$src" "http://$VIP:$port/who") || who=failed
		case "$who" in S1) s1=$((s1 + 1)) ;; S2) s2=$((s2 + 1)) ;; L) l=$((l + 1)) ;; *) other=$((other + 1)) ;; esac
	done
	echo "S1=$s1 S2=$s2 L=$l other=$other"
}

# sched_service PORT SCHED REPLICA[:WEIGHT]...
sched_service() {
	local port=$1 sched=$2 r
	shift 2
	n R "$IPRPCTL" service add tcp "$VIP:$port" sched "$sched"
	for r in "$@"; do
		n R "$IPRPCTL" replica add tcp "$VIP:$port" "${ADDR[${r%%:*}]}" weight "${r#*:}"
	done
}

t_wrr() {
	local counts
	sched_service 8091 wrr S1:3 S2:1 L:0
	counts=$(tally 8091 40)
	echo "wrr 3:1:0, 40 connections: $counts"
	check "$counts" = "S1=30 S2=10 L=0 other=0" "the weights, exactly (weight 0 gets none)"
}

# sticky PORT: for each source address, 3 connections must reach one
# replica; prints "SOURCE REPLICA" lines.
sticky() {
	local port=$1 a c
	for a in $SCHED_SOURCES; do
		c=$(tally "$port" 3 "$a")
		case "$c" in
		"S1=3 S2=0 L=0 other=0") echo "$a S1" ;;
		"S1=0 S2=3 L=0 other=0") echo "$a S2" ;;
		"S1=0 S2=0 L=3 other=0") echo "$a L" ;;
		# On stderr too: the caller captures stdout, and the log must
		# say which address split.
		*) echo "$a split: $c" | tee /dev/stderr; return 1 ;;
		esac
	done
}

t_hashing() {
	local sched=$1 port=$2 map used
	sched_service "$port" "$sched" S1:1 S2:1 L:1
	map=$(sticky "$port")
	echo "$map"
	used=$(echo "$map" | awk '{ print $2 }' | sort -u | wc -l)
	# 12 addresses all on one of 3 replicas: probability 3^-11 for a hash
	# that spreads.
	check "$used" -ge 2 "$sched spreads 12 client addresses over the replicas"
}

t_lc() {
	# R cannot see a redirected connection end (its packets go C <-> S
	# directly), so lc balances what R can count: its entries, which live
	# until the service's idle timeout after the handshake. That timeout is
	# 10 min here, so that no entry expires between the tallies however
	# slow the kernel (on the debug kernel the default 60 s expired the
	# first tally's entries during the second, and lc sent a flow back to
	# S1).
	local counts
	sched_service 8094 lc S1:1 S2:1
	n R "$IPRPCTL" service edit tcp "$VIP:8094" idle-timeout 600000
	n R "$IPRPCTL" replica set tcp "$VIP:8094" "${ADDR[S2]}" down
	counts=$(tally 8094 4)
	check "$counts" = "S1=4 S2=0 L=0 other=0" "S2 down: S1 takes 4"
	n R "$IPRPCTL" replica set tcp "$VIP:8094" "${ADDR[S2]}" up
	counts=$(tally 8094 4)
	check "$counts" = "S1=0 S2=4 L=0 other=0" "S2 up again: the next 4 go to S2, which has fewer"
	counts=$(tally 8094 2)
	check "$counts" = "S1=1 S2=1 L=0 other=0" "at 4:4 they alternate"
	n R "$IPRPCTL" list
	check "$(conns_of 8094)" = "5 5" "R counts 5 entries on each"
}

t_sched_teardown() {
	pkill -f 'busybox httpd -p 809' || true
	rmmod iprp
}

topo_up 0
tap "schedulers setup: three replicas, 12 client addresses" sched_setup
tap "wrr distributes by weight" t_wrr
tap "sh keeps each client address on one replica and spreads them" t_hashing sh 8092
tap "maglev (mh) keeps each client address on one replica and spreads them" t_hashing mh 8093
tap "lc balances the entries R counts" t_lc
tap "rmmod after the scheduler tests" t_sched_teardown
topo_down
