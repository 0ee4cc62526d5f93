# shellcheck shell=bash
# Large dumps: 100,000 client bindings over 5,000 redirector addresses,
# created through the real client state machine by the benchmark fill (iprp loaded with bench=1), dump
# completely and consistently, as JSON and as raw multi-part netlink. The
# fill itself refuses what it must (no bench=1, no client role, non-empty
# table, over capacity) and leaves nothing behind when it fails.

DUMP_N=100000
GENL_PY="/usr/bin/python3 $REPO/vm-tests/tools/iprp_genl.py"

# fill NS COUNT [REDIRECTORS]: BENCH_FILL; prints the "errno ..." line of
# the request.
fill() {
	n "$1" $GENL_PY IPRP_CMD_BENCH_FILL "IPRP_A_COUNT:I:$2" ${3:+"IPRP_A_REDIRECTORS:I:$3"} 2>&1 >/dev/null
}

# nredirectors NS: distinct redirector addresses of the bindings.
nredirectors() {
	n "$1" "$IPRPCTL" bindings -j |
		python3 -c 'import json,sys; print(len({b["redirector"] for b in json.load(sys.stdin)["bindings"]}))'
}

# nbindings NS: bindings listed by iprpctl bindings -j.
nbindings() {
	n "$1" "$IPRPCTL" bindings -j | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["bindings"]))'
}

# Each test loads the module itself; a failed test must not leave it loaded.
reload() {
	rmmod iprp 2>/dev/null || true
	insmod "$MODULE" "$@"
}

t_fill_needs_bench() {
	reload
	n C "$IPRPCTL" role client
	local out
	out=$(fill C 1000)
	echo "$out"
	grep -q "^errno 95 .*bench=1" <<<"$out"
	check "$(nbindings C)" -eq 0 "no binding created"
	rmmod iprp
}

t_fill_refusals() {
	reload bench=1
	local out
	out=$(fill C 100); echo "$out"
	grep -q "^errno 22 .*client role" <<<"$out"
	n C "$IPRPCTL" role client capacity 1024
	# Redirector addresses: the policy's range (ERANGE), and at most 50,000
	# bindings per address (EINVAL); nothing created.
	out=$(fill C 100 0); echo "$out"
	grep -q "^errno 34 " <<<"$out"
	out=$(fill C 100 32769); echo "$out"
	grep -q "^errno 34 " <<<"$out"
	out=$(fill C 50001 1); echo "$out"
	grep -q "^errno 22 .*50,000 bindings per redirector" <<<"$out"
	check "$(nbindings C)" -eq 0 "a refused spread creates nothing"
	# Over capacity: all or nothing.
	out=$(fill C 5000); echo "$out"
	grep -q "^errno 28 " <<<"$out"
	check "$(nbindings C)" -eq 0 "a failed fill leaves the table empty"
	out=$(fill C 500); echo "$out"
	grep -q "^errno 0 " <<<"$out"
	check "$(nbindings C)" -eq 500 "500 bindings"
	check "$(nredirectors C)" -eq 1 "by default one redirector per 50,000 bindings"
	out=$(fill C 16); echo "$out"
	grep -q "^errno 16 " <<<"$out"
	check "$(nbindings C)" -eq 500 "a refused fill changes nothing"
	rmmod iprp
}

t_dump_100k() {
	reload bench=1
	n C "$IPRPCTL" role client capacity 131072
	local out t0 t1
	# Spread over 5,000 redirector addresses, as a busy client sees.
	out=$(fill C "$DUMP_N" 5000); echo "$out"
	grep -q "^errno 0 " <<<"$out"
	check "$(ctr C pre_routing_pkts)" -ge 0 "status works with a full table"
	t0=$(date +%s.%N)
	n C "$IPRPCTL" bindings -j >/tmp/dump.json
	t1=$(date +%s.%N)
	echo "iprpctl bindings -j: $(echo "$t1 - $t0" | bc) s, $(wc -c </tmp/dump.json) bytes"
	# Every binding exactly once, all confirmed, all to the fill's peers.
	python3 - "$DUMP_N" <<'PY'
import json, sys
n = int(sys.argv[1])
rows = json.load(open("/tmp/dump.json"))["bindings"]
keys = {(r["proto"], r["redirector"], r["cport"], r["port"]) for r in rows}
assert len(rows) == n, f"{len(rows)} rows"
assert len(keys) == n, f"{len(keys)} distinct flows"
assert all(r["state"] == "confirmed" for r in rows), "a binding is not confirmed"
assert all(r["redirector"].startswith("198.18.") for r in rows), "foreign redirector"
assert all(r["replica"].startswith("198.19.") for r in rows), "foreign replica"
redirectors = {r["redirector"] for r in rows}
assert len(redirectors) == 5000, f"{len(redirectors)} redirector addresses"
print(f"{n} bindings, {len(keys)} distinct, all confirmed, {len(redirectors)} redirectors")
PY
	# Raw: the dump is multi-part and every part is a binding.
	n C /usr/bin/python3 - "$DUMP_N" "$REPO/vm-tests/tools" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
import iprp_genl as g
names = g.uapi()
genl = g.Genl()
replies, err = genl.req(names["IPRP_CMD_GET_BINDING"], dump=True)
assert err is None, err
assert len(replies) == int(sys.argv[1]), f"{len(replies)} messages"
print(f"raw dump: {len(replies)} messages")
PY
	n C "$IPRPCTL" flush
	check "$(nbindings C)" -eq 0 "flush empties the table"
	rmmod iprp
}

topo_up 0
tap "dump: BENCH_FILL needs bench=1 (EOPNOTSUPP, nothing created)" t_fill_needs_bench
tap "dump: BENCH_FILL refuses without role, bad spreads, over capacity, on a non-empty table; all or nothing" t_fill_refusals
tap "dump: 100,000 bindings over 5,000 redirectors dump completely and consistently (JSON and raw multi-part)" t_dump_100k
rmmod iprp 2>/dev/null || true
topo_down
