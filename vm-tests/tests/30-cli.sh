# shellcheck shell=bash
# The netlink interface and iprpctl: every command round-trips, bad input
# gets a clear error and changes nothing (dump before == dump after),
# permissions and namespaces, flush, save/restore (all or nothing), and the
# YNL spec driven by the kernel's own ynl CLI.
#
# Not here: a dump of 100,000 entries. There is no API to create 100k
# bindings or flows cheaply (each needs a real handshake), so that test
# is left out until one exists.

CLI_PORT=8080
# A python3 with PyYAML (the kernel's ynl needs it); the project's venv,
# which may come first in PATH, has none.
PY=/usr/bin/python3
# The kernel's ynl, from the source tree that vm-tests/run.sh shares with
# the guest read-only (--rodir) at /var/cache/iprp.
IPRP_CACHE=/var/cache/iprp
LINUX_SRC=$(ls -d "$IPRP_CACHE"/linux-source-* 2>/dev/null | sort | tail -1)
SPEC=$REPO/include/uapi/linux/iprp.yaml

# snap NS: the whole observable configuration and tables of NS, in a
# canonical form. Left out because they move on their own: counters, the
# ages of entries and the replicas' live connection counts.
snap() {
	n "$1" timeout 30 sh -c "$IPRPCTL role -j; $IPRPCTL list -j; $IPRPCTL bindings -j; $IPRPCTL flows -j" |
		python3 -c '
import json, sys
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in ("age_ms", "conns")}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
for l in sys.stdin:
    print(json.dumps(strip(json.loads(l)), sort_keys=True))'
}

# refused NS RC TEXT CMD...: CMD in NS must exit RC with TEXT in its
# stderr, and leave snap NS unchanged.
refused() {
	local ns=$1 want=$2 text=$3 rc=0 before after
	shift 3
	before=$(snap "$ns")
	n "$ns" timeout 30 "$@" 2>/tmp/cli.err >/tmp/cli.out || rc=$?
	echo "$(date +%T) \$ $* -> exit $rc: $(cat /tmp/cli.err)"
	after=$(snap "$ns")
	check "$rc" -eq "$want" "exit status" || return 1
	grep -qF -- "$text" /tmp/cli.err || { echo "stderr lacks '$text'"; return 1; }
	[ "$before" = "$after" ] || { echo "state changed:"; diff <(echo "$before") <(echo "$after"); return 1; }
}

# json NS ARGS...: iprpctl ARGS -j in NS, checked by python3 -m json.tool.
json() {
	local ns=$1
	shift
	n "$ns" "$IPRPCTL" "$@" -j >/tmp/cli.json
	python3 -m json.tool /tmp/cli.json >/dev/null
	cat /tmp/cli.json
}

# Raw generic-netlink requests, for what iprpctl cannot send (missing
# attributes, out-of-range values past the CLI's own checks).
RAW="$REPO/vm-tests/tools/iprp_genl.py"

cli_setup() {
	insmod "$MODULE"
	n R sysctl -qw net.ipv4.ip_forward=1
	n R sysctl -qw net.ipv4.conf.all.send_redirects=0
	n R sysctl -qw net.ipv4.conf.eth0.send_redirects=0
	mkdir -p /tmp/www-cli && echo S1 >/tmp/www-cli/who
	n S1 busybox httpd -p "$CLI_PORT" -h /tmp/www-cli
	n S2 busybox httpd -p "$CLI_PORT" -h /tmp/www-cli
	n C "$IPRPCTL" role client
	n R "$IPRPCTL" role client redirector capacity 4096
}

t_roundtrip() {
	local V=$VIP:$CLI_PORT
	n R "$IPRPCTL" service add tcp "$V" sched wrr response-timeout 200 idle-timeout 30s
	n R "$IPRPCTL" service add udp "$VIP:53"
	n R "$IPRPCTL" replica add tcp "$V" "${ADDR[S1]}" weight 3
	n R "$IPRPCTL" replica add tcp "$V" "${ADDR[S2]}" down
	n R "$IPRPCTL" replica add udp "$VIP:53" "${ADDR[S2]}"
	n R "$IPRPCTL" list
	json R list | python3 -c '
import json, sys
s = {(x["proto"], x["vip"], x["port"]): x for x in json.load(sys.stdin)["services"]}
t = s[("tcp", "10.0.0.100", 8080)]
assert (t["sched"], t["response_timeout_ms"], t["idle_timeout_ms"]) == ("wrr", 200, 30000), t
r = {x["addr"]: x for x in t["replicas"]}
assert (r["10.0.0.11"]["weight"], r["10.0.0.11"]["up"]) == (3, True), r
assert r["10.0.0.12"]["up"] is False, r
u = s[("udp", "10.0.0.100", 53)]
assert [x["addr"] for x in u["replicas"]] == ["10.0.0.12"], u
print("list -j shows both services and their replicas")'
	# replica set changes only what it names
	n R "$IPRPCTL" replica set tcp "$V" "${ADDR[S2]}" up weight 2
	n R "$IPRPCTL" replica set tcp "$V" "${ADDR[S1]}" drain
	json R list | python3 -c '
import json, sys
t = [x for x in json.load(sys.stdin)["services"] if x["proto"] == "tcp"][0]
r = {x["addr"]: (x["weight"], x["up"]) for x in t["replicas"]}
assert r == {"10.0.0.11": (0, True), "10.0.0.12": (2, True)}, r'
	# service edit: the options given change, the rest and the replicas stay
	n R "$IPRPCTL" service edit tcp "$V" sched rr idle-timeout 600000
	json R list | python3 -c '
import json, sys
t = [x for x in json.load(sys.stdin)["services"] if x["proto"] == "tcp"][0]
assert (t["sched"], t["response_timeout_ms"], t["idle_timeout_ms"]) == ("rr", 200, 600000), t
assert len(t["replicas"]) == 2, t
print("service edit kept the response timeout and the replicas")'
	json R role | grep -qx '{"role":\["client","redirector"\]}'
	json R status | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["role"]==["client","redirector"], d; assert "proto_rx" in d["counters"]'
	json R stats >/dev/null
	# a real flow, so bindings and flows have rows
	n R "$IPRPCTL" replica set tcp "$V" "${ADDR[S1]}" weight 1
	n C curl -sf --max-time 10 "http://$V/who"
	json C bindings | python3 -c '
import json, sys
b = json.load(sys.stdin)["bindings"]
assert any(x["redirector"] == "10.0.0.100" and x["port"] == 8080 and x["state"] == "confirmed" for x in b), b
print(len(b), "binding(s) at C")'
	n R "$IPRPCTL" flows
	n R "$IPRPCTL" stats
	json R flows | python3 -c '
import json, sys
f = json.load(sys.stdin)["flows"]
assert any(x["client"] == "10.0.0.1" and x["vip"] == "10.0.0.100" and x["replica"] in ("10.0.0.11", "10.0.0.12") for x in f), f
print(len(f), "flow(s) at R")'
	json C bindings -k >/dev/null
	# delete round trip
	n R "$IPRPCTL" replica del udp "$VIP:53" "${ADDR[S2]}"
	n R "$IPRPCTL" service del udp "$VIP:53"
	json R list | python3 -c '
import json, sys
s = json.load(sys.stdin)["services"]
assert [(x["proto"], x["port"]) for x in s] == [("tcp", 8080)], s'
}

t_bad_input() {
	local V=$VIP:$CLI_PORT
	# unknown service / replica
	refused R 1 "no such service" "$IPRPCTL" replica add tcp "$VIP:81" "${ADDR[S1]}"
	refused R 1 "no such service" "$IPRPCTL" service del tcp "$VIP:81"
	refused R 1 "No such file or directory" "$IPRPCTL" service edit tcp "$VIP:81" sched rr
	refused R 1 "no such replica" "$IPRPCTL" replica del tcp "$V" 10.0.0.99
	# duplicate service
	refused R 1 "already exists" "$IPRPCTL" service add tcp "$V"
	refused R 1 "File exists" "$IPRPCTL" service add tcp "$V" sched mh
	# invalid addresses: the CLI refuses before sending (exit 64) ...
	refused R 64 "invalid service address '10.0.0.300'" "$IPRPCTL" service add tcp 10.0.0.300:80
	refused R 64 "not a unicast address" "$IPRPCTL" replica add tcp "$V" 0.0.0.0
	refused R 64 "invalid port '0'" "$IPRPCTL" service add tcp "$VIP:0"
	refused R 0 "errno 22" $PY "$RAW" 3 5:B:1 6:ip:10.0.0.100 7:H:80
	# weight out of range: CLI, then raw past the CLI (policy: ERANGE at WEIGHT)
	refused R 64 "weight '70000' out of range (0..65535)" "$IPRPCTL" replica set tcp "$V" "${ADDR[S1]}" weight 70000
	refused R 0 "errno 34 miss - offs 52" $PY "$RAW" 6 5:B:6 6:ip:10.0.0.100 7:H:8080 11:ip:10.0.0.11 12:I:70000
	# zero (and too small) capacity, out-of-range timeouts: the kernel policy
	refused R 1 "[bad attribute: IPRP_A_CAPACITY]" "$IPRPCTL" role client redirector capacity 0
	refused R 1 "[bad attribute: IPRP_A_CAPACITY]" "$IPRPCTL" role client redirector capacity 15
	refused R 1 "[bad attribute: IPRP_A_RESPONSE_TIMEOUT]" "$IPRPCTL" service add tcp "$VIP:82" response-timeout 0
	refused R 1 "[bad attribute: IPRP_A_IDLE_TIMEOUT]" "$IPRPCTL" service edit tcp "$V" idle-timeout 1
	# a capacity other than the tables' is refused once they exist
	refused R 1 "table capacity is fixed" "$IPRPCTL" role client redirector capacity 8192
	# missing attributes (raw): the kernel names the missing one
	refused R 0 "errno 22 miss 7 " $PY "$RAW" 3 5:B:6 6:ip:10.0.0.100
	refused R 0 "errno 22 miss 6 " $PY "$RAW" 4 5:B:6 7:H:8080
	refused R 0 "errno 22 miss 11 " $PY "$RAW" 6 5:B:6 6:ip:10.0.0.100 7:H:8080
	refused R 0 "errno 22 miss 4 " $PY "$RAW" 2
	# unknown command number
	refused R 0 "errno 95" $PY "$RAW" 200
	# usage errors never reach the kernel
	refused R 64 "unknown scheduler 'fifo'" "$IPRPCTL" service add tcp "$VIP:83" sched fifo
	refused R 64 "service edit: nothing to change" "$IPRPCTL" service edit tcp "$V"
	refused R 64 "flush: unexpected argument 'everything'" "$IPRPCTL" flush everything
}

# What the CLI refuses must be refused by the module too when sent raw.
t_raw_addresses() {
	# undo whatever a failing check let through
	trap 'n R $PY "$RAW" 4 5:B:6 6:ip:0.0.0.0 7:H:80 2>/dev/null
	      n R $PY "$RAW" 4 5:B:6 6:ip:224.0.0.1 7:H:80 2>/dev/null
	      n R $PY "$RAW" 7 5:B:6 6:ip:10.0.0.100 7:H:8080 11:ip:255.255.255.255 2>/dev/null' EXIT
	local bad=0
	refused R 0 "errno 22" $PY "$RAW" 3 5:B:6 6:ip:0.0.0.0 7:H:80 || bad=$((bad + 1))
	refused R 0 "errno 22" $PY "$RAW" 3 5:B:6 6:ip:224.0.0.1 7:H:80 || bad=$((bad + 1))
	refused R 0 "errno 22" $PY "$RAW" 6 5:B:6 6:ip:10.0.0.100 7:H:8080 11:ip:255.255.255.255 || bad=$((bad + 1))
	check "$bad" -eq 0 "every invalid address refused by the module"
}

t_unprivileged() {
	local V=$VIP:$CLI_PORT
	local -a nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" service add tcp "$VIP:90"
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" service del tcp "$V"
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" service edit tcp "$V" sched lc
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" replica add tcp "$V" 10.0.0.50
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" replica del tcp "$V" "${ADDR[S1]}"
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" role none
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" flush
	n R "$IPRPCTL" save >/tmp/cli-unpriv.conf
	refused R 1 "Operation not permitted" sh -c "${nobody[*]} $IPRPCTL restore </tmp/cli-unpriv.conf"
	# reading is open to everyone in the namespace
	n R "${nobody[@]}" "$IPRPCTL" list -j | python3 -m json.tool >/dev/null
	n R "${nobody[@]}" "$IPRPCTL" status -j | python3 -m json.tool >/dev/null
	n R "${nobody[@]}" "$IPRPCTL" save | grep -q "^service add tcp $V "
}

t_other_netns() {
	local V=$VIP:$CLI_PORT before_r
	before_r=$(snap R)
	# L has the module's family too (netnsok) but its own, empty, state
	json L list | grep -qx '{"services":\[\]}'
	json L role | grep -qx '{"role":\[\]}'
	refused L 1 "no such service" "$IPRPCTL" service del tcp "$V"
	refused L 1 "no such service" "$IPRPCTL" replica add tcp "$V" 10.0.0.50
	# changes in L stay in L
	n L "$IPRPCTL" role redirector
	n L "$IPRPCTL" service add tcp "$V" sched sh
	n L "$IPRPCTL" flush
	json L list | grep -qx '{"services":\[\]}'
	n L "$IPRPCTL" role none
	# a user namespace's root is admin of its own network namespace only
	if unshare -Urn true 2>/dev/null; then
		unshare -Urn sh -c "$IPRPCTL role redirector && $IPRPCTL service add tcp 10.9.9.9:80 && $IPRPCTL list -j" |
			grep -q '"vip":"10.9.9.9"'
	else
		echo "user namespaces unavailable in this guest: that part skipped"
	fi
	[ "$before_r" = "$(snap R)" ] || { echo "R changed by calls from other namespaces"; return 1; }
	echo "R unchanged by L and by a user namespace"
}

# list without the live connection counts, for comparing configurations
conf() {
	n "$1" "$IPRPCTL" list -j | python3 -c '
import json, sys
d = json.load(sys.stdin)
for s in d["services"]:
    for r in s["replicas"]:
        r.pop("conns", None)
print(json.dumps(d, sort_keys=True))'
	n "$1" "$IPRPCTL" role -j
}

t_flush() {
	local V=$VIP:$CLI_PORT
	n C curl -sf --max-time 10 "http://$V/who" >/dev/null
	check "$(json C bindings | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["bindings"]))')" -ge 1 "C has bindings"
	check "$(json R flows | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["flows"]))')" -ge 1 "R has flows"
	local services
	services=$(conf R)
	n R "$IPRPCTL" flush redirector
	json R flows | grep -qx '{"flows":\[\]}'
	[ "$(conf R)" = "$services" ] || { echo "flush redirector changed the services"; diff <(echo "$services") <(conf R); return 1; }
	n C "$IPRPCTL" flush client
	json C bindings | grep -qx '{"bindings":\[\]}'
	# after a flush, new flows work again
	n C curl -sf --max-time 10 "http://$V/who" >/dev/null
	check "$(json C bindings | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["bindings"]))')" -ge 1 "a new binding after the flush"
	n C "$IPRPCTL" flush client redirector
	json C bindings | grep -qx '{"bindings":\[\]}'
	# flush without a role: every table and every service; roles stay
	n R "$IPRPCTL" save >/tmp/cli-before-flush.conf
	n R "$IPRPCTL" flush
	json R list | grep -qx '{"services":\[\]}'
	json R flows | grep -qx '{"flows":\[\]}'
	json R role | grep -qx '{"role":\["client","redirector"\]}'
	n R "$IPRPCTL" restore /tmp/cli-before-flush.conf
	n R "$IPRPCTL" list
}

t_save_restore() {
	local V=$VIP:$CLI_PORT before rc
	n R "$IPRPCTL" service add udp "$VIP:5353" sched mh response-timeout 700 idle-timeout 9000
	n R "$IPRPCTL" replica add udp "$VIP:5353" "${ADDR[S1]}" weight 7
	n R "$IPRPCTL" replica add udp "$VIP:5353" "${ADDR[S2]}" weight 0 down
	n R "$IPRPCTL" save | tee /tmp/cli-saved.conf
	grep -qx 'role client redirector' /tmp/cli-saved.conf
	grep -qx "service add udp $VIP:5353 sched mh response-timeout 700 idle-timeout 9000" /tmp/cli-saved.conf
	grep -qx "replica add udp $VIP:5353 ${ADDR[S2]} weight 0 down" /tmp/cli-saved.conf
	before=$(conf R)
	# round trip through an empty namespace state
	n R "$IPRPCTL" flush
	n R "$IPRPCTL" role redirector
	n R "$IPRPCTL" restore </tmp/cli-saved.conf
	[ "$(conf R)" = "$before" ] || { echo "restore did not reproduce the saved configuration"; diff <(echo "$before") <(conf R); return 1; }
	# restore replaces: an extra service disappears
	n R "$IPRPCTL" service add tcp "$VIP:9999"
	n R "$IPRPCTL" restore /tmp/cli-saved.conf
	[ "$(conf R)" = "$before" ]
	# the saved file applied with the verbs gives the same configuration too
	n R "$IPRPCTL" flush
	grep -v '^#' /tmp/cli-saved.conf | while read -r line; do
		# shellcheck disable=SC2086
		n R "$IPRPCTL" $line
	done
	[ "$(conf R)" = "$before" ]

	# a bad line in the middle: exit 64, the line named, nothing applied
	{ sed -n '1,3p' /tmp/cli-saved.conf
	  echo "replica add udp $VIP:5353 10.0.0.77 weight 99999"
	  echo "service add tcp $VIP:7777"
	  sed -n '4,$p' /tmp/cli-saved.conf; } >/tmp/cli-bad.conf
	n R "$IPRPCTL" service add tcp "$VIP:6000"	# running config differs from the file
	refused R 64 "restore: line 4: replica add: weight '99999' out of range" "$IPRPCTL" restore /tmp/cli-bad.conf
	refused R 64 "restore: line 2: unknown command 'bogus'" sh -c "printf 'role client\nbogus\n' | $IPRPCTL restore"

	# a line the kernel refuses (timeout below the policy's minimum, which
	# the CLI leaves to the module): rolled back to the state before
	{ sed -n '1,$p' /tmp/cli-saved.conf
	  echo "service add tcp $VIP:7001 sched rr"
	  echo "replica add tcp $VIP:7001 ${ADDR[S1]}"
	  echo "service add tcp $VIP:7002 response-timeout 5"
	  echo "replica add tcp $VIP:7002 ${ADDR[S1]}"; } >/tmp/cli-kbad.conf
	rc=$(grep -c '' /tmp/cli-kbad.conf)
	refused R 1 "restore: line $((rc - 1)) (service add tcp $VIP:7002 response-timeout 5) failed; the previous configuration is back in place" \
		"$IPRPCTL" restore /tmp/cli-kbad.conf
	cat /tmp/cli.err
	# a role change in the file is rolled back as well
	{ echo "role client"; echo "service add tcp $VIP:7003 idle-timeout 1"; } >/tmp/cli-role.conf
	refused R 1 "restore: line 2" "$IPRPCTL" restore /tmp/cli-role.conf
	n R "$IPRPCTL" service del tcp "$VIP:6000"
	[ "$(conf R)" = "$before" ]
}

t_ynl() {
	local cli=$LINUX_SRC/tools/net/ynl/pyynl/cli.py
	[ -f "$cli" ] || { echo "no kernel source with ynl under $IPRP_CACHE (run.sh --rodir)"; return 1; }
	echo "ynl from $LINUX_SRC" 
	local -a ynl=($PY "$cli" --spec "$SPEC" --schema "$LINUX_SRC/Documentation/netlink/genetlink-c.yaml" --output-json)
	n R "${ynl[@]}" --dump get-service | tee /tmp/ynl-services.json
	n R "$IPRPCTL" list -j >/tmp/cli-services.json
	python3 - /tmp/ynl-services.json /tmp/cli-services.json <<'PY'
import json, sys
ynl = json.load(open(sys.argv[1]))
cli = json.load(open(sys.argv[2]))["services"]
def key(x, proto):
    return (proto, x["vip"], x["port"])
got = {key(s, {6: "tcp", 17: "udp"}[s["proto"]]): s for s in ynl}
want = {key(s, s["proto"]): s for s in cli}
assert set(got) == set(want), (sorted(got), sorted(want))
for k, s in want.items():
    y = got[k]
    assert y["sched"] == s["sched"], (y, s)
    assert y["response-timeout"] == s["response_timeout_ms"], (y, s)
    assert sorted(r["replica-addr"] for r in y.get("replicas", {}).get("replica", [])) == \
        sorted(r["addr"] for r in s["replicas"]), (y, s)
print("ynl --dump get-service lists the same", len(want), "services as iprpctl list")
PY
	# and the other way: a do request built by ynl from the spec
	n R "${ynl[@]}" --do new-service --json '{"proto": 6, "vip": "10.0.0.100", "port": 4444, "sched": "lc", "idle-timeout": 12000}'
	json R list | python3 -c '
import json, sys
s = [x for x in json.load(sys.stdin)["services"] if x["port"] == 4444]
assert s and s[0]["sched"] == "lc" and s[0]["idle_timeout_ms"] == 12000, s'
	n R "${ynl[@]}" --do get-status | python3 -c 'import json,sys; d=json.load(sys.stdin); print("ynl get-status:", d["version"], d["role"]); assert "proto-rx" in d["counters"], d'
	n R "$IPRPCTL" service del tcp "$VIP:4444"
}

t_cli_unload() {
	rmmod iprp
	! grep -q '^iprp ' /proc/modules
}

topo_up 0
tap "cli: insmod, roles" cli_setup
tap "cli: every command round-trips (list/status/role/bindings/flows -j)" t_roundtrip
tap "cli: bad input gets a clear error and changes nothing" t_bad_input
tap "cli: the module refuses invalid addresses sent raw (past the CLI)" t_raw_addresses
tap "cli: an unprivileged caller gets EPERM and changes nothing" t_unprivileged
tap "cli: another namespace sees and changes only its own state" t_other_netns
tap "cli: flush client / redirector / everything" t_flush
tap "cli: save/restore round trip; a bad line anywhere changes nothing" t_save_restore
tap "cli: the kernel's ynl CLI lists the services through the YNL spec" t_ynl
tap "cli: rmmod" t_cli_unload
topo_down
