# shellcheck shell=bash
# Demo: a real redirected transfer. C (client role) downloads 1 MB from the
# service address of a far redirector R (RTT 40 ms); R binds the flow to the
# near replica S1 and the bulk flows C <-> S1 directly, translated by C's
# kernel. Everything is configured with iprpctl.

demo_redirect() {
	insmod "$MODULE"
	forwarding_host R
	mkdir -p /tmp/demo-S1 /tmp/demo-R
	head -c 1000000 /dev/urandom >/tmp/demo-S1/file
	cp /tmp/demo-S1/file /tmp/demo-R/file
	n S1 busybox httpd -p 80 -h /tmp/demo-S1
	n R busybox httpd -p "$VIP:80" -h /tmp/demo-R
	echo "== configure: C is a client, R redirects tcp $VIP:80 to S1"
	set -x
	n C "$IPRPCTL" role client
	n R "$IPRPCTL" role redirector
	n R "$IPRPCTL" service add tcp "$VIP:80" sched rr response-timeout 1000
	n R "$IPRPCTL" replica add tcp "$VIP:80" "${ADDR[S1]}"
	set +x
	n R "$IPRPCTL" list
	echo "== C downloads http://$VIP/file (redirected)"
	n C curl -sf -o /tmp/demo.got -w 'redirected: %{size_download} bytes in %{time_total}s (connect %{time_connect}s)\n' "http://$VIP/file"
	cmp /tmp/demo.got /tmp/demo-S1/file
	echo "== L (no IPRP role) downloads the same URL (served by R itself)"
	n L curl -sf -o /tmp/demo.legacy -w 'legacy:     %{size_download} bytes in %{time_total}s (connect %{time_connect}s)\n' "http://$VIP/file"
	cmp /tmp/demo.legacy /tmp/demo-R/file
	echo "== C's binding and R's flows"
	n C "$IPRPCTL" bindings
	n R "$IPRPCTL" flows
	echo "== counters"
	n C "$IPRPCTL" stats | grep -E 'client\.(confirmed|translated|held)|msg_tx|proto_rx'
	n R "$IPRPCTL" stats | grep -E 'redirector\.(flow_new|forwarded|cfm_sent|to_accept)'
	rmmod iprp
}
topo_up 20
tap "demo: redirected 1 MB transfer configured with iprpctl" demo_redirect
sed "s/^/  /" "$RES/test-$TAP_N.log"
topo_down
