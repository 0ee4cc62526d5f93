# shellcheck shell=bash
# Demo: load the module on client C and redirector R, send real traffic,
# and show the counters move. (Grows into a redirected transfer once the
# redirection datapath lands.)

demo_status() {
	insmod "$MODULE"
	mkdir -p /tmp/www && head -c 1000000 /dev/urandom >/tmp/www/file
	n S1 busybox httpd -p 8000 -h /tmp/www
	echo "== iprpctl status on C before traffic"
	n C "$IPRPCTL" status
	n C curl -sf -o /dev/null -w 'curl C -> S1: %{size_download} bytes in %{time_total}s\n' \
		"http://${ADDR[S1]}:8000/file"
	echo "== iprpctl status on C after traffic"
	n C "$IPRPCTL" status
	[ "$(ctr C local_out_pkts)" -gt 100 ]
	rmmod iprp
}
topo_up 20
tap "demo: counters move under a real 1 MB transfer" demo_status
topo_down
