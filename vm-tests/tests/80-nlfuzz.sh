# shellcheck shell=bash
# Netlink fuzzer: random commands (unknown ones too), attributes,
# lengths, nesting and flags against the iprp family, as root and as an
# unprivileged user, in a namespace of its own with both roles on. Only
# errors come back, the kernel logs nothing, and afterwards the module
# still answers a dump and a configuration round trip and unloads cleanly.

NLFUZZ="/usr/bin/python3 $REPO/vm-tests/tools/iprp_nlfuzz.py"
NLF_N=${IPRP_NLFUZZ_COUNT:-5000}	# per caller; ~17 ms each under a loaded TCG

nlf_setup() {
	insmod "$MODULE"
	ip netns add F
	n F ip link set lo up
	n F "$IPRPCTL" role client redirector capacity 1024
	n F "$IPRPCTL" service add tcp 10.0.0.100:8080
	n F "$IPRPCTL" replica add tcp 10.0.0.100:8080 10.0.0.11
	dmesg -C
}

# nlf_run LABEL SEED [setpriv args]: one fuzzer run; fails on a crash of
# the fuzzer, a kernel log line, or a vanished module.
nlf_run() {
	local label=$1 seed=$2 t0=$SECONDS out
	shift 2
	out=$(n F "$@" $NLFUZZ "$NLF_N" "$seed")
	echo "$label: $out ($((SECONDS - t0)) s)"
	echo "$out" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert sum(r["result"].values()) == r["requests"], r
assert len([k for k in r["result"] if k != "ok"]) >= 3, "too few kinds of error: not fuzzing"'
	grep -q '^iprp ' /proc/modules
	! dmesg | grep -E "$DMESG_BAD"
}

t_nlfuzz_root() {
	nlf_run root 1
}

t_nlfuzz_unprivileged() {
	# Nothing an unprivileged caller sends may change the configuration:
	# every change command needs CAP_NET_ADMIN (GENL_UNS_ADMIN_PERM).
	n F "$IPRPCTL" save >/tmp/nlf-before
	nlf_run nobody 2 setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all
	n F "$IPRPCTL" save | diff /tmp/nlf-before -
	local out
	out=$(n F setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
		/usr/bin/python3 "$REPO/vm-tests/tools/iprp_genl.py" 2 4:I:0 2>&1)
	echo "unprivileged SET_ROLE: $out"
	echo "$out" | grep -q '^errno 1 '
}

t_nlfuzz_after() {
	# The module still works: a dump, and a configuration round trip.
	n F "$IPRPCTL" role client redirector capacity 1024 2>/dev/null || n F "$IPRPCTL" role client redirector
	n F "$IPRPCTL" flush client redirector
	n F "$IPRPCTL" service del tcp 10.0.0.100:9090 2>/dev/null || true
	n F "$IPRPCTL" service add tcp 10.0.0.100:9090 sched rr response-timeout 1234 idle-timeout 5678
	n F "$IPRPCTL" replica add tcp 10.0.0.100:9090 10.0.0.12 weight 7
	n F "$IPRPCTL" list -j | tee /tmp/nlf-list.json
	/usr/bin/python3 - /tmp/nlf-list.json <<'PY'
import json, sys
svcs = json.load(open(sys.argv[1]))["services"]
s = [s for s in svcs if s["vip"] == "10.0.0.100" and s["port"] == 9090]
assert len(s) == 1, svcs
s = s[0]
print(s)
assert s["response_timeout_ms"] == 1234 and s["idle_timeout_ms"] == 5678, s
assert [(r["addr"], r["weight"]) for r in s["replicas"]] == [("10.0.0.12", 7)], s
PY
	n F "$IPRPCTL" save >/tmp/nlf-save
	n F "$IPRPCTL" restore /tmp/nlf-save
	n F "$IPRPCTL" save | diff /tmp/nlf-save -
	n F "$IPRPCTL" bindings -j >/dev/null
	n F "$IPRPCTL" flows -j >/dev/null
	ip netns del F
	sleep 1
	timeout 60 rmmod iprp
	! grep -q '^iprp ' /proc/modules
}

tap "netlink fuzzer setup" nlf_setup
tap "$NLF_N random netlink requests as root: errors only, no kernel report" t_nlfuzz_root
tap "$NLF_N random netlink requests unprivileged: errors only, nothing changed" t_nlfuzz_unprivileged
tap "after the fuzzer: dump, config round trip, save/restore, clean unload" t_nlfuzz_after
