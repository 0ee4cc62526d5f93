# shellcheck shell=bash
# Lifecycle: module reloads with both roles configured and
# redirected iperf3 traffic flowing; namespaces deleted while they hold live
# bindings and entries; a redirector that loses all its state while
# confirmed flows keep running at the client.
#
# The last test is the light case of a redirector restart: R loses all
# its state inside the running module (role off, tables flushed, services
# deleted, then configured again). 29-restart does the real ones (R's
# namespace rebuilt, the module reloaded); see docs/decisions.md.

YPORT=8080
IPORT=5201
LC_RELOADS=${IPRP_RELOADS:-20}
LC_DL_CPORT=40999

lc_config() {
	n C "$IPRPCTL" role client
	lc_config_redirector
}

# R's role and services (also the redirector-restart test's reconfiguration).
lc_config_redirector() {
	n R "$IPRPCTL" role redirector
	# 5 s, not 1 s: room for slow handshakes on the debug kernel (one
	# reload's iperf3 got no redirected data in time with 1 s).
	n R "$IPRPCTL" service add tcp "$VIP:$YPORT" response-timeout 5000 idle-timeout 30000
	n R "$IPRPCTL" replica add tcp "$VIP:$YPORT" "${ADDR[S1]}"
	n R "$IPRPCTL" service add tcp "$VIP:$IPORT" response-timeout 5000 idle-timeout 30000
	n R "$IPRPCTL" replica add tcp "$VIP:$IPORT" "${ADDR[S1]}"
}

lc_setup() {
	forwarding_host R
	mkdir -p /tmp/lc-S1 /tmp/lc-R
	head -c 4000000 /dev/urandom >/tmp/lc-S1/big
	echo S1 >/tmp/lc-S1/who
	echo R >/tmp/lc-R/who
	n S1 busybox httpd -p "$YPORT" -h /tmp/lc-S1
	n R busybox httpd -p "$VIP:$YPORT" -h /tmp/lc-R
	insmod "$MODULE"
	lc_config
	[ "$(n C curl -sf --max-time 10 "http://$VIP:$YPORT/who")" = S1 ]
}

t_reload_with_roles() {
	# Redirected iperf3 (C -> VIP:5201, served by S1) restarted in a loop,
	# since an unload takes the client's translation away and ends the run;
	# plus a direct iperf3 C -> S1 that spans all reloads.
	n S1 iperf3 -s -D -p "$IPORT" --logfile "$RES/lc-iperf3-s.log"
	n S1 iperf3 -s -D -p 5202 --logfile "$RES/lc-iperf3-s2.log"
	sleep 0.5
	# (set -e is inherited: a failed run must not end the loop.)
	(while :; do n C iperf3 -c "$VIP" -p "$IPORT" -t 3 >>"$RES/lc-iperf3-c.log" 2>&1 || true; sleep 0.2; done) &
	local loop=$!
	n C iperf3 -c "${ADDR[S1]}" -p 5202 -t 300 >"$RES/lc-iperf3-direct.log" 2>&1 &
	local direct=$!
	# shellcheck disable=SC2064
	trap "kill -TERM $loop $direct 2>/dev/null || true" EXIT
	local i unloads0 bound=0 t0=$SECONDS
	unloads0=$(dmesg | grep -c 'iprp: unloaded' || true)
	for i in $(seq "$LC_RELOADS"); do
		# Traffic is flowing through the roles: wait (up to 20 s) for a
		# confirmed binding carrying iperf3's data (200 translated skbs).
		local t1=$SECONDS conf=0 out=0
		while [ $((SECONDS - t1)) -lt 20 ]; do
			conf=$(stat C client.confirmed)
			out=$(stat C client.translated_out)
			[ "${conf:-0}" -ge 1 ] && [ "${out:-0}" -ge 200 ] && break
			sleep 0.2
		done
		if [ "${conf:-0}" -ge 1 ] && [ "${out:-0}" -ge 200 ]; then
			bound=$((bound + 1))
		else
			echo "reload $i: no redirected traffic after $((SECONDS - t1)) s (confirmed $conf, translated out $out)"
			n C "$IPRPCTL" status -j | grep -o '"client\.[a-z_]*":[1-9][0-9]*' | paste -sd' '
			n R "$IPRPCTL" status -j | grep -o '"redirector\.[a-z_]*":[1-9][0-9]*' | paste -sd' '
			tail -3 "$RES/lc-iperf3-c.log"
		fi
		rmmod iprp
		! grep -q '^iprp ' /proc/modules
		insmod "$MODULE"
		lc_config
		# The unload cut the redirected iperf3 mid-test: its server at S1
		# now waits for a client that is gone (C's packets no longer
		# reach it) and answers every new client "busy" — iperf3 serves
		# one test at a time. A real server would time the connection
		# out; here it is restarted so the next reload sees new traffic.
		pkill -f "iperf3 -s -D -p $IPORT" || true
		while pgrep -f "iperf3 -s -D -p $IPORT" >/dev/null; do sleep 0.1; done
		n S1 iperf3 -s -D -p "$IPORT" --logfile "$RES/lc-iperf3-s.log"
	done
	kill -TERM "$loop" 2>/dev/null || true
	wait "$loop" 2>/dev/null || true
	kill -TERM "$direct" 2>/dev/null || true
	wait "$direct" 2>/dev/null || true
	pkill -TERM -f "iperf3 -c $VIP" 2>/dev/null || true
	echo "$LC_RELOADS reloads took $((SECONDS - t0)) s"
	grep -E 'sender|receiver' "$RES/lc-iperf3-c.log" | tail -4
	check "$bound" -eq "$LC_RELOADS" "redirected iperf3 traffic flowed before every unload"
	check "$(( $(dmesg | grep -c 'iprp: unloaded' || true) - unloads0 ))" -eq "$LC_RELOADS" "$LC_RELOADS clean unloads"
	# After the last reload the service still works.
	[ "$(n C curl -sf --max-time 10 "http://$VIP:$YPORT/who")" = S1 ]
}

# C's and R's nonzero stats, for a wait that gave up.
lc_nonzero_stats() {
	local h
	for h in C R; do
		echo "$h's nonzero stats:"
		n "$h" "$IPRPCTL" status -j | python3 -c 'import json,sys; print({k: v for k, v in json.load(sys.stdin)["stats"].items() if v})'
	done
}

# lc_dl_confirmed NS bindings|flows: NS's dump shows the download's flow
# (client port LC_DL_CPORT) confirmed.
lc_dl_confirmed() {
	n "$1" "$IPRPCTL" "$2" -j | grep -q "\"cport\":$LC_DL_CPORT,[^}]*\"state\":\"confirmed\""
}

# Memory in use (kB) without the page cache: tables of this size come from
# kvmalloc, i.e. whole pages from kmalloc or vmalloc, outside Slab.
used_kb() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	awk '/^MemTotal:/ { t = $2 } /^MemFree:/ { f = $2 } END { print t - f }' /proc/meminfo
}

t_netns_delete_live() {
	# Four more namespaces with large tables (2 x 131072 entries each, so
	# their memory stands out of the noise),
	# then C and R themselves while a download holds a live binding.
	local v0 v1 v2 h
	v0=$(used_kb)
	for h in X1 X2 X3 X4; do
		ip netns add "$h"
		n "$h" ip link set lo up
		n "$h" "$IPRPCTL" role client redirector capacity 131072
		n "$h" "$IPRPCTL" service add udp 10.9.9.9:7
	done
	v1=$(used_kb)
	echo "memory in use: $v0 kB before, $v1 kB with 4 namespaces of 2 x 131072 entries"
	check $((v1 - v0)) -ge 8192 "the namespaces' tables are visible"
	# Wait for the download's own binding and entry, told apart from the
	# reload test's by a fixed client port. The binaries are read again
	# first: used_kb dropped the page cache, after which the debug kernel's
	# download started so late that a 20 s wait gave up.
	local t1 found=""
	n C curl --version >/dev/null
	n C "$IPRPCTL" bindings -j >/dev/null
	n R "$IPRPCTL" flows -j >/dev/null
	n C curl -sf --local-port "$LC_DL_CPORT" --limit-rate 200k --max-time 120 -o /dev/null "http://$VIP:$YPORT/big" &
	local dl=$!
	t1=$SECONDS
	while [ $((SECONDS - t1)) -lt 60 ]; do
		if lc_dl_confirmed C bindings && lc_dl_confirmed R flows; then
			found=yes
			break
		fi
		sleep 0.2
	done
	echo "download's binding and entry confirmed: ${found:-no} after $((SECONDS - t1)) s"
	if [ -z "$found" ]; then
		n C "$IPRPCTL" bindings; n R "$IPRPCTL" flows
		lc_nonzero_stats
	fi
	check "${found:-no}" = yes "C holds the download's confirmed binding, R its confirmed entry"
	# Processes keep a namespace alive: end them, then delete.
	kill -TERM "$dl" 2>/dev/null || true
	wait "$dl" 2>/dev/null || true
	for h in C R X1 X2 X3 X4; do
		local p
		for p in $(ip netns pids "$h" 2>/dev/null); do kill -TERM "$p" 2>/dev/null || true; done
		ip netns del "$h"
	done
	# cleanup_net runs in a workqueue: wait for the memory to come back.
	for _ in $(seq 20); do
		v2=$(used_kb)
		[ $((v2 - v0)) -le 4096 ] && break
		sleep 0.5
	done
	echo "memory in use after deleting the namespaces: $v2 kB"
	check $((v2 - v0)) -le 4096 "the deleted namespaces' tables were freed"
	dmesg | tail -5
	! dmesg | grep -E "$DMESG_BAD"
	timeout 60 rmmod iprp
	! grep -q '^iprp ' /proc/modules
	# A fresh topology for what follows.
	topo_down
	topo_up 20
	n R busybox httpd -p "$VIP:$YPORT" -h /tmp/lc-R
	n S1 busybox httpd -p "$YPORT" -h /tmp/lc-S1
	insmod "$MODULE"
	forwarding_host R
	lc_config
	[ "$(n C curl -sf --max-time 10 "http://$VIP:$YPORT/who")" = S1 ]
}

t_redirector_restart() {
	# A 4 MB download at 400 kB/s (about 10 s) gets a confirmed binding;
	# then R loses everything and is configured again.
	local conf0
	conf0=$(stat C client.confirmed)
	n C curl -sf --limit-rate 400k --max-time 90 -o /tmp/lc.big "http://$VIP:$YPORT/big" &
	local dl=$!
	for _ in $(seq 50); do
		[ "$(stat C client.confirmed)" -gt "$conf0" ] && break
		sleep 0.2
	done
	if [ "$(stat C client.confirmed)" -le "$conf0" ]; then
		echo "no confirmation after the wait"
		lc_nonzero_stats
	fi
	check "$(stat C client.confirmed)" -gt "$conf0" "the download's binding is confirmed"
	sleep 2
	n R "$IPRPCTL" role none
	n R "$IPRPCTL" flush redirector
	n R "$IPRPCTL" service del tcp "$VIP:$YPORT"
	n R "$IPRPCTL" service del tcp "$VIP:$IPORT"
	check "$(stat R redirector.entries)" -eq 0 "R has no entry left"
	! n R "$IPRPCTL" list | grep -q "$VIP"
	sleep 1
	lc_config_redirector
	wait "$dl"
	cmp /tmp/lc.big /tmp/lc-S1/big
	echo "the confirmed download survived the redirector's restart with correct content"
	# New flows after the restart are redirected again.
	[ "$(n C curl -sf --max-time 10 "http://$VIP:$YPORT/who")" = S1 ]
	rm -f /tmp/lc.big
}

t_lc_teardown() {
	rmmod iprp
	! grep -q '^iprp ' /proc/modules
}

topo_up 20
tap "lifecycle setup" lc_setup
tap "rmmod/insmod ${LC_RELOADS}x with both roles on under redirected iperf3 traffic" t_reload_with_roles
tap "namespaces deleted with live bindings: memory freed, no warning, clean unload" t_netns_delete_live
tap "redirector loses all state: the confirmed download completes intact" t_redirector_restart
tap "rmmod after the lifecycle tests" t_lc_teardown
topo_down
