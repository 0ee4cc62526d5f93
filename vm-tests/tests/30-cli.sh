# shellcheck shell=bash
# The netlink interface and iprpctl: every command round-trips, bad input
# gets a clear error and changes nothing (dump before == dump after),
# permissions and namespaces, flush, save/restore (all or nothing) of roles
# (with capacities and the client idle timeout), parameters and services,
# global parameters (set), counters per service and replica and zeroing
# them, dump filters, the redirector's legacy cache (legacy list, forget,
# flush; legacy-capacity and legacy-ttl), the capability mark's options
# (set mark-syns, service ... unmarked), and the YNL spec driven by the
# kernel's own ynl CLI.
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
# canonical form: status (roles, capacities, client idle timeout,
# parameters), services, bindings, flows. Left out because they move on
# their own: counters, the ages of entries and the replicas' live
# connection counts. jq, not python: on the debug kernel a python start
# costs seconds, and every refused command takes two snaps.
snap() {
	n "$1" timeout 30 sh -c "$IPRPCTL status -j; $IPRPCTL list -j; $IPRPCTL bindings -j; $IPRPCTL flows -j" |
		jq -cS 'walk(if type == "object" then with_entries(select(.key |
			IN("age_ms", "conns", "assigned", "confirmed", "rebound", "granted", "stats", "counters", "version") | not)) else . end)'
}

# refused NS RC TEXT CMD...: CMD in NS must exit RC with TEXT in its
# stderr, and leave snap NS unchanged. A run of refused commands in one
# namespace with nothing else in between (refused_run NS ... refused_end)
# takes each one's "before" from the previous one's "after": it was
# checked equal to that command's "before".
REFUSED_NS=""
REFUSED_SNAP=""
refused_run() { REFUSED_NS=$1; REFUSED_SNAP=""; }
refused_end() { REFUSED_NS=""; REFUSED_SNAP=""; }
refused() {
	local ns=$1 want=$2 text=$3 rc=0 before after
	shift 3
	if [ "$ns" = "$REFUSED_NS" ] && [ -n "$REFUSED_SNAP" ]; then
		before=$REFUSED_SNAP
	else
		before=$(snap "$ns")
	fi
	REFUSED_SNAP=""
	n "$ns" timeout 30 "$@" 2>/tmp/cli.err >/tmp/cli.out || rc=$?
	echo "$(date +%T) \$ $* -> exit $rc: $(cat /tmp/cli.err)"
	after=$(snap "$ns")
	check "$rc" -eq "$want" "exit status" || return 1
	grep -qF -- "$text" /tmp/cli.err || { echo "stderr lacks '$text'"; return 1; }
	[ "$before" = "$after" ] || { echo "state changed:"; diff <(echo "$before") <(echo "$after"); return 1; }
	[ "$ns" != "$REFUSED_NS" ] || REFUSED_SNAP=$after
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
	forwarding_host R
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
	n R "$IPRPCTL" service edit tcp "$V" sched rr idle-timeout 3600000
	json R list | python3 -c '
import json, sys
t = [x for x in json.load(sys.stdin)["services"] if x["proto"] == "tcp"][0]
assert (t["sched"], t["response_timeout_ms"], t["idle_timeout_ms"]) == ("rr", 200, 3600000), t
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
	refused_run R
	# unknown service / replica
	refused R 1 "no such service" "$IPRPCTL" replica add tcp "$VIP:81" "${ADDR[S1]}"
	refused R 1 "no such service" "$IPRPCTL" service del tcp "$VIP:81"
	refused R 1 "No such file or directory" "$IPRPCTL" service edit tcp "$VIP:81" sched rr
	refused R 1 "no such replica" "$IPRPCTL" replica del tcp "$V" 10.0.0.99
	# set changes a replica but never creates one (NLM_F_REPLACE)
	refused R 1 "no such replica" "$IPRPCTL" replica set tcp "$V" 10.0.0.99 down
	# healthcheck: bad options, unknown service
	refused R 64 "'fall' must be at least 1" "$IPRPCTL" healthcheck fall 0
	refused R 64 "invalid port '70000'" "$IPRPCTL" healthcheck port 70000
	refused R 1 "no such service: tcp $VIP:81" "$IPRPCTL" healthcheck service tcp "$VIP:81" rounds 1
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
	refused_end
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
	refused_run R
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" service add tcp "$VIP:90"
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" service del tcp "$V"
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" service edit tcp "$V" sched lc
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" replica add tcp "$V" 10.0.0.50
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" replica del tcp "$V" "${ADDR[S1]}"
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" role none
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" flush
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" set tick 300
	refused R 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" zero
	n R "$IPRPCTL" save >/tmp/cli-unpriv.conf
	refused R 1 "Operation not permitted" sh -c "${nobody[*]} $IPRPCTL restore </tmp/cli-unpriv.conf"
	refused_end
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
	[ "$before_r" = "$(snap R)" ] || { echo "R changed by calls from L"; return 1; }
	echo "R unchanged by L"
}

t_user_netns() {
	# A user namespace's root is admin of its own network namespace only.
	local before_r
	unshare -Urn true 2>/dev/null || skip "user namespaces unavailable in this guest (unshare -Urn failed)"
	before_r=$(snap R)
	unshare -Urn sh -c "$IPRPCTL role redirector && $IPRPCTL service add tcp 10.9.9.9:80 && $IPRPCTL list -j" |
		grep -q '"vip":"10.9.9.9"'
	[ "$before_r" = "$(snap R)" ] || { echo "R changed by a user namespace"; return 1; }
	echo "R unchanged by a user namespace"
}

# list without counters and live connection counts, and the status
# without counters (roles, capacities, idle timeout, parameters), for
# comparing configurations
conf() {
	n "$1" "$IPRPCTL" list -j | python3 -c '
import json, sys
d = json.load(sys.stdin)
for s in d["services"]:
    s.pop("stats", None)
    s.pop("granted", None)
    for r in s["replicas"]:
        for k in ("conns", "assigned", "confirmed", "rebound"):
            r.pop(k, None)
print(json.dumps(d, sort_keys=True))'
	n "$1" "$IPRPCTL" status -j | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(json.dumps({k: v for k, v in d.items() if k not in ("counters", "stats", "version")}, sort_keys=True))'
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
	grep -qx 'role client redirector client-capacity 4096 redirector-capacity 4096' /tmp/cli-saved.conf
	grep -qx 'set tick [0-9]* checking-timeout [0-9]* max-held [0-9]*' /tmp/cli-saved.conf
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

# field NS PY-EXPR: evaluates PY-EXPR over d = "iprpctl status -j" of NS.
sfield() {
	n "$1" "$IPRPCTL" status -j | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"
}

t_params() {
	local before
	json R status | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = d["params"]
assert p["tick_ms"] == 500 and p["checking_timeout_ms"] > 0 and p["max_held"] > 0, p
assert p["event_rate"] == 10000, p
assert d["capacity"] == {"client": 4096, "redirector": 4096}, d
assert "client_idle_timeout_ms" not in d, d
print("status -j: params", p, "capacity", d["capacity"])'
	n R "$IPRPCTL" status | grep -x 'params: tick 500ms, checking-timeout [0-9]*m\?s, max-held [0-9]*, legacy-ttl [0-9]*m\?s, mark-syns off, event-rate 10000/s'
	n R "$IPRPCTL" status | grep -x 'capacity: client 4096, redirector 4096'
	before=$(sfield R 'd["params"]')
	# round trip: every parameter, then one alone (the others stay)
	n R "$IPRPCTL" set tick 250 checking-timeout 2s max-held 100
	check "$(sfield R 'd["params"]["tick_ms"]')" -eq 250 "tick set"
	check "$(sfield R 'd["params"]["checking_timeout_ms"]')" -eq 2000 "checking timeout set"
	check "$(sfield R 'd["params"]["max_held"]')" -eq 100 "max-held set"
	n R "$IPRPCTL" set max-held 0
	check "$(sfield R 'd["params"]["max_held"]')" -eq 0 "max-held 0 (no holding)"
	check "$(sfield R 'd["params"]["tick_ms"]')" -eq 250 "tick kept"
	n R "$IPRPCTL" set event-rate 0
	check "$(sfield R 'd["params"]["event_rate"]')" -eq 0 "event-rate 0 (no events)"
	n R "$IPRPCTL" status | grep -qx 'params: .*, event-rate 0/s'
	check "$(sfield R 'd["params"]["max_held"]')" -eq 0 "max-held kept"
	# the client's idle timeout rides on the role and is reported once set
	# (long enough for the bindings of the later tests under a slow TCG guest)
	n C "$IPRPCTL" role client idle-timeout 600s
	check "$(sfield C 'd["client_idle_timeout_ms"]')" -eq 600000 "client idle timeout"
	check "$(sfield C 'd["capacity"]["client"]')" -eq 16384 "C's client table has the default capacity"
	[ "$(sfield C 'd["capacity"]["redirector"]')" = None ] || { echo "C has no redirector table"; return 1; }
	# bad values: the policy names the attribute; nothing changes, not even
	# the valid parameter sent with the bad one
	refused_run R
	refused R 1 "[bad attribute: IPRP_A_TICK]" "$IPRPCTL" set tick 10
	refused R 1 "[bad attribute: IPRP_A_CHECKING_TIMEOUT]" "$IPRPCTL" set checking-timeout 61s
	refused R 1 "[bad attribute: IPRP_A_MAX_HELD]" "$IPRPCTL" set tick 300 max-held 2000000
	refused R 1 "[bad attribute: IPRP_A_EVENT_RATE]" "$IPRPCTL" set tick 300 event-rate 1000001
	refused R 1 "[bad attribute: IPRP_A_CLIENT_CAPACITY]" "$IPRPCTL" role client redirector client-capacity 8
	refused R 1 "table capacity is fixed" "$IPRPCTL" role client redirector redirector-capacity 8192
	refused R 64 "set: nothing to set" "$IPRPCTL" set
	refused R 64 "set: invalid tick 'soon'" "$IPRPCTL" set tick soon
	refused R 64 "set: 'max-held' given twice" "$IPRPCTL" set max-held 1 max-held 2
	# raw: SET_PARAMS without any parameter
	refused R 0 "errno 22" $PY "$RAW" 11
	refused_end
	# back to what it was
	n R "$IPRPCTL" set $(python3 -c 'import sys; p=eval(sys.argv[1]); print("tick %d checking-timeout %d max-held %d event-rate %d" % (p["tick_ms"], p["checking_timeout_ms"], p["max_held"], p["event_rate"]))' "$before")
	[ "$(sfield R 'd["params"]')" = "$before" ]
}

# svc NS PROTO PORT PY-EXPR: PY-EXPR over s = the service's entry in
# "iprpctl list -j" of NS.
svc() {
	n "$1" "$IPRPCTL" list -j | python3 -c '
import json, sys
s = [x for x in json.load(sys.stdin)["services"] if x["proto"] == sys.argv[1] and x["port"] == int(sys.argv[2])][0]
print(eval(sys.argv[3]))' "$2" "$3" "$4"
}

t_counters_zero() {
	local V=$VIP:$CLI_PORT
	n R "$IPRPCTL" replica set tcp "$V" "${ADDR[S1]}" weight 1 up
	n R "$IPRPCTL" replica set tcp "$V" "${ADDR[S2]}" weight 1 up
	n C curl -sf --max-time 10 "http://$V/who" >/dev/null
	json R stats | python3 -c '
import json, sys
d = json.load(sys.stdin)
s = [x for x in d["services"] if x["proto"] == "tcp" and x["port"] == 8080][0]
st = s["stats"]
assert st["flows_new"] >= 1 and st["flows_redirected"] >= 1 and st["packets"] >= 1, st
assert sum(r["assigned"] for r in s["replicas"]) >= 1, s
assert d["counters"]["proto_rx"] >= 1, d["counters"]
print("service counters", st)'
	n R "$IPRPCTL" stats | grep -q 'flows_redirected'
	n R "$IPRPCTL" list --stats >/tmp/cli-lstats
	cat /tmp/cli-lstats
	grep -q "^  -> ${ADDR[S1]} " /tmp/cli-lstats
	# zero: every counter of R back to 0, gauges stay
	local conns
	conns=$(svc R tcp "$CLI_PORT" 'sum(r["conns"] for r in s["replicas"])')
	n R "$IPRPCTL" zero
	json R stats | python3 -c '
import json, sys
d = json.load(sys.stdin)
for s in d["services"]:
    assert all(v == 0 for v in s["stats"].values()), s
    assert all(r["assigned"] == r["confirmed"] == r["rebound"] == 0 for r in s["replicas"]), s
for k in ("proto_rx", "proto_valid", "msg_tx", "held_reinjected"):
    assert d["counters"][k] == 0, (k, d["counters"])
bad = {k: v for k, v in d["stats"].items() if v and not k.endswith(("bindings", "entries", "services", "checking", "held_now", "_clients"))}
assert not bad, bad
print("zeroed; gauges:", {k: v for k, v in d["stats"].items() if v})'
	check "$(svc R tcp "$CLI_PORT" 'sum(r["conns"] for r in s["replicas"])')" -eq "$conns" "live connections (a gauge) kept"
	# exactly one new flow counts exactly once, on the replica it got
	n C "$IPRPCTL" flush client
	n R "$IPRPCTL" flush redirector
	n C curl -sf --max-time 10 "http://$V/who" >/dev/null
	json R list | python3 -c '
import json, sys
s = [x for x in json.load(sys.stdin)["services"] if x["proto"] == "tcp" and x["port"] == 8080][0]
st = s["stats"]
assert (st["flows_new"], st["flows_redirected"], st["flows_local"], st["local_table_full"]) == (1, 1, 0, 0), st
assert st["packets"] == st["forwarded"] + st["local"] and st["forwarded"] >= 1, st
a = {r["addr"]: (r["assigned"], r["confirmed"], r["rebound"]) for r in s["replicas"]}
assert sorted(a.values()) == [(0, 0, 0), (1, 1, 0)], a
print("one flow (assigned, confirmed, rebound per replica):", st, a)'
	# a legacy client (no role) is served locally: flows_local
	n R "$IPRPCTL" zero
	n R "$IPRPCTL" service add udp "$VIP:5301" response-timeout 100 idle-timeout 60s
	n R "$IPRPCTL" replica add udp "$VIP:5301" "${ADDR[S1]}"
	n L bash -c "echo x >/dev/udp/$VIP/5301"
	sleep 1.5
	check "$(svc R udp 5301 's["stats"]["flows_local"]')" -eq 1 "a flow L never confirms is served locally"
	check "$(svc R udp 5301 's["stats"]["flows_redirected"]')" -eq 0 "and not redirected"
	n R "$IPRPCTL" service del udp "$VIP:5301"
}

# count NS VERB ARGS...: rows of "iprpctl VERB -j ARGS" in NS
count() {
	local ns=$1 verb=$2
	shift 2
	n "$ns" "$IPRPCTL" "$verb" -j "$@" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[sys.argv[1]]))' "$verb"
}

t_prometheus() {
	# The Prometheus text export, parsed by the Python client's own parser
	# (what a scraper accepts): every service and replica counter of the
	# JSON output is there with its labels and value, counters are typed
	# counter and the table gauges gauge.
	local V=$VIP:$CLI_PORT
	n C curl -sf --max-time 10 "http://$V/who" >/dev/null
	n R "$IPRPCTL" stats -j >/tmp/cli-prom.json
	n R "$IPRPCTL" stats --prometheus >/tmp/cli-prom.txt
	head -n 12 /tmp/cli-prom.txt
	$PY - /tmp/cli-prom.json /tmp/cli-prom.txt <<'PY'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
d = json.load(open(sys.argv[1]))
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[2]).read())}
samples = {}
for f in fams.values():
    for s in f.samples:
        samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
n = 0
for svc in d["services"]:
    base = {"proto": svc["proto"], "vip": svc["vip"], "port": str(svc["port"])}
    for k, v in svc["stats"].items():
        assert fams["iprp_service_" + k].type == "counter", k
        got = samples[("iprp_service_%s_total" % k, tuple(sorted(base.items())))]
        assert got == v, (k, got, v)
        n += 1
    for r in svc["replicas"]:
        lab = tuple(sorted(dict(base, replica=r["addr"]).items()))
        for k in ("assigned", "confirmed", "rebound"):
            assert samples[("iprp_replica_%s_total" % k, lab)] == r[k], (k, r)
        assert samples[("iprp_replica_connections", lab)] == r["conns"], r
        n += 4
assert fams["iprp_redirector_entries"].type == "gauge"
assert fams["iprp_redirector_flow_new"].type == "counter"
assert fams["iprp_proto_rx"].type == "counter"
assert sum(v for (name, _), v in samples.items() if name == "iprp_service_flows_new_total") >= 1
print(n, "service and replica samples agree with stats -j;", len(fams), "families")
PY
	if n R "$IPRPCTL" stats --prometheus -j >/dev/null 2>/tmp/cli-prom.err; then
		echo "stats --prometheus -j was accepted"
		return 1
	fi
	cat /tmp/cli-prom.err
}

t_filters() {
	local V=$VIP:$CLI_PORT
	# only this test's flows in the tables
	n C "$IPRPCTL" flush client
	n R "$IPRPCTL" flush redirector
	# L must be unknown to R, so that its datagram makes an entry (a flush
	# of the flows keeps the client cache).
	n R "$IPRPCTL" legacy flush
	# idle timeouts far above the test's duration: each CLI call can take
	# seconds in a loaded TCG guest, and expired entries would skew counts
	n R "$IPRPCTL" service add udp "$VIP:5300" idle-timeout 600s
	n R "$IPRPCTL" replica add udp "$VIP:5300" "${ADDR[S1]}"
	n C curl -sf --max-time 10 "http://$V/who" >/dev/null
	n C bash -c "echo x >/dev/udp/$VIP/5300"
	n L bash -c "echo x >/dev/udp/$VIP/5300"
	sleep 0.5
	# bindings at C: by service and by redirector
	n C "$IPRPCTL" bindings
	local ball
	ball=$(count C bindings)
	check "$(count C bindings service tcp "$V")" -ge 1 "C's tcp binding"
	check "$(count C bindings service udp "$VIP:5300")" -eq 1 "C's udp binding"
	check $(($(count C bindings -t "$V") + $(count C bindings -u "$VIP:5300"))) -eq "$ball" "service filters split C's bindings"
	check "$(count C bindings redirector "$VIP")" -eq "$ball" "every binding is to the VIP"
	check "$(count C bindings redirector "${ADDR[R]}")" -eq 0 "none to R's own address"
	json C bindings service udp "$VIP:5300" | python3 -c '
import json, sys
b = json.load(sys.stdin)["bindings"]
assert [(x["proto"], x["port"], x["replica"]) for x in b] == [("udp", 5300, "10.0.0.11")], b'
	n C "$IPRPCTL" bindings service udp "$VIP:5300"
	local all tcp udp c l
	all=$(count R flows); tcp=$(count R flows service tcp "$V"); udp=$(count R flows -u "$VIP:5300")
	c=$(count R flows client "${ADDR[C]}"); l=$(count R flows client "${ADDR[L]}")
	echo "flows: all $all, tcp $tcp, udp $udp, from C $c, from L $l"
	check "$tcp" -ge 1 "tcp flows"
	check "$udp" -ge 2 "udp flows from C and L"
	check $((tcp + udp)) -eq "$all" "the service filters split the table"
	check $((c + l)) -eq "$all" "the client filters split the table"
	check "$l" -eq 1 "L's one flow"
	check "$all" -eq 3 "C's tcp and udp flows and L's udp flow"
	json R flows service udp "$VIP:5300" client "${ADDR[L]}" | python3 -c '
import json, sys
f = json.load(sys.stdin)["flows"]
assert len(f) == 1 and f[0]["client"] == "10.0.0.21" and f[0]["proto"] == "udp" and f[0]["port"] == 5300, f'
	json R flows client "${ADDR[L]}" | python3 -c '
import json, sys
f = json.load(sys.stdin)["flows"]
assert all(x["client"] == "10.0.0.21" for x in f), f'
	check "$(count R flows service tcp "$VIP:9")" -eq 0 "no flow of an unknown service"
	check "$(count R flows client 10.0.0.99)" -eq 0 "no flow of an unknown client"
	refused R 64 "flows: invalid client address '10.0.0.300'" "$IPRPCTL" flows client 10.0.0.300
	refused R 64 "flows: unexpected argument 'redirector'" "$IPRPCTL" flows redirector "$VIP"
	refused C 64 "bindings: only one service filter" "$IPRPCTL" bindings -t "$V" -u "$VIP:5300"
	n R "$IPRPCTL" service del udp "$VIP:5300"
}

t_save_restore_roles() {
	local before after
	n R "$IPRPCTL" role client redirector idle-timeout 45000
	n R "$IPRPCTL" set tick 400 checking-timeout 1500 max-held 64
	n R "$IPRPCTL" save | tee /tmp/cli-roles.conf
	grep -qx 'role client redirector client-capacity 4096 redirector-capacity 4096 idle-timeout 45000' /tmp/cli-roles.conf
	grep -qx 'set tick 400 checking-timeout 1500 max-held 64' /tmp/cli-roles.conf
	before=$(conf R)
	# change roles and parameters, restore: both come back
	n R "$IPRPCTL" role redirector
	n R "$IPRPCTL" set tick 800 checking-timeout 5000 max-held 7
	n R "$IPRPCTL" role redirector idle-timeout 1000
	n R "$IPRPCTL" restore /tmp/cli-roles.conf
	after=$(conf R)
	[ "$after" = "$before" ] || { echo "restore did not bring roles and parameters back"; diff <(echo "$before") <(echo "$after"); return 1; }
	# a file the kernel refuses after changing roles and parameters:
	# everything rolled back
	{ echo "role redirector"; echo "set tick 9000 max-held 1"; echo "service add tcp $VIP:7010"
	  echo "set tick 20"; } >/tmp/cli-bad-set.conf
	refused R 64 "restore: line 4: a second set line (the first is line 2)" "$IPRPCTL" restore /tmp/cli-bad-set.conf
	{ echo "role redirector idle-timeout 2000"; echo "set tick 9000 max-held 1"; echo "service add tcp $VIP:7010"
	  echo "set tick 9000 bogus 1"; } >/tmp/cli-bad-set.conf
	refused R 64 "restore: line 4: set: unexpected argument 'bogus'" "$IPRPCTL" restore /tmp/cli-bad-set.conf
	{ echo "role redirector"; echo "set tick 20 max-held 1"; } >/tmp/cli-bad-set.conf
	refused R 1 "restore: line 2 (set tick 20 max-held 1) failed; the previous configuration is back in place" \
		"$IPRPCTL" restore /tmp/cli-bad-set.conf
	{ echo "role client redirector client-capacity 8192"; echo "set tick 300"; } >/tmp/cli-bad-set.conf
	refused R 1 "table capacity is fixed" "$IPRPCTL" restore /tmp/cli-bad-set.conf
	[ "$(conf R)" = "$before" ]
	# a new namespace gets the saved capacities, idle timeout and parameters
	trap 'ip netns del X 2>/dev/null; ip netns del Y 2>/dev/null' EXIT
	ip netns add X
	ip netns add Y
	n Y "$IPRPCTL" role client redirector client-capacity 1024 redirector-capacity 2048 idle-timeout 20s
	n Y "$IPRPCTL" set tick 700 max-held 33
	n Y "$IPRPCTL" service add tcp "$VIP:7020" sched lc
	n Y "$IPRPCTL" save >/tmp/cli-Y.conf
	cat /tmp/cli-Y.conf
	n X "$IPRPCTL" restore /tmp/cli-Y.conf
	local lx xx
	lx=$(conf Y); xx=$(conf X)
	[ "$lx" = "$xx" ] || { echo "X differs from Y"; diff <(echo "$lx") <(echo "$xx"); return 1; }
	echo "$xx" | grep -q '"capacity": {"client": 1024, "redirector": 2048}'
	echo "$xx" | grep -q '"client_idle_timeout_ms": 20000'
	# R back to the parameters of the earlier tests
	n R "$IPRPCTL" set tick 500
}

# The redirector's client cache (legacy cache) through iprpctl: its verbs
# and settings against the live module, in namespaces of its own (R keeps
# its defaults for the other tests). Filling the cache with real traffic
# (ICMP protocol unreachable, unanswered REQs, a confirmation) is
# 20-redirect's part.
t_legacy() {
	local -a nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
	trap 'for ns in LG LH LR; do ip netns del $ns 2>/dev/null; done' EXIT
	ip netns add LG
	ip netns add LH
	ip netns add LR
	# without the redirector's tables: nothing to list, nothing to forget
	json LH legacy list | grep -qx '{"clients":\[\]}'
	refused LH 1 "iprpctl: " "$IPRPCTL" legacy flush
	[ "$(sfield LH '"legacy_capacity" in d')" = False ] || { echo "legacy_capacity without tables"; return 1; }
	# a fresh redirector: an empty cache, the default capacity and TTL
	n LG "$IPRPCTL" role redirector
	json LG legacy list | grep -qx '{"clients":\[\]}'
	json LG legacy list client "${ADDR[L]}" | grep -qx '{"clients":\[\]}'
	json LG legacy | grep -qx '{"clients":\[\]}'
	[ "$(n LG "$IPRPCTL" legacy list)" = "Client  Known  Expires" ]
	check "$(sfield LG 'd["legacy_capacity"]')" -eq 4096 "default legacy capacity"
	check "$(sfield LG 'd["params"]["legacy_ttl_ms"]')" -eq 60000 "default legacy TTL"
	n LG "$IPRPCTL" status | tee /tmp/cli-legacy-status.txt
	grep -qx 'legacy capacity: 4096' /tmp/cli-legacy-status.txt
	grep -qx 'params: .*, legacy-ttl 60s, mark-syns off, event-rate [0-9]*/s' /tmp/cli-legacy-status.txt
	# save leaves the defaults out
	n LG "$IPRPCTL" save | tee /tmp/cli-legacy-LG.conf
	if grep -q legacy /tmp/cli-legacy-LG.conf; then echo "save names a default legacy value"; return 1; fi
	# set legacy-ttl: a round trip shown by status; 0 remembers no client
	n LG "$IPRPCTL" set legacy-ttl 5s
	check "$(sfield LG 'd["params"]["legacy_ttl_ms"]')" -eq 5000 "legacy TTL set"
	n LG "$IPRPCTL" status | grep -qx 'params: .*, legacy-ttl 5s, mark-syns off, event-rate [0-9]*/s'
	n LG "$IPRPCTL" set legacy-ttl 0
	check "$(sfield LG 'd["params"]["legacy_ttl_ms"]')" -eq 0 "legacy TTL 0"
	n LG "$IPRPCTL" set legacy-ttl 86400000
	check "$(sfield LG 'd["params"]["legacy_ttl_ms"]')" -eq 86400000 "the longest legacy TTL"
	# out of range: the policy names the attribute; nothing changes, not
	# even the valid parameter sent with it
	refused_run LG
	refused LG 1 "[bad attribute: IPRP_A_LEGACY_TTL]" "$IPRPCTL" set legacy-ttl 86400001
	refused LG 1 "[bad attribute: IPRP_A_LEGACY_TTL]" "$IPRPCTL" set tick 300 legacy-ttl 86401s
	refused LG 64 "set: invalid legacy-ttl 'soon'" "$IPRPCTL" set legacy-ttl soon
	refused LG 64 "set: 'legacy-ttl' needs a value" "$IPRPCTL" set legacy-ttl
	refused LG 64 "set: 'legacy-ttl' given twice" "$IPRPCTL" set legacy-ttl 1 legacy-ttl 2
	# legacy-capacity: fixed once the redirector's tables exist (EBUSY);
	# the same size is fine
	refused LG 1 "table capacity is fixed" "$IPRPCTL" role redirector legacy-capacity 1024
	grep -q "Device or resource busy" /tmp/cli.err
	refused_end
	n LG "$IPRPCTL" role redirector legacy-capacity 4096
	# out of range (4..65536): the policy
	refused_run LH
	refused LH 1 "[bad attribute: IPRP_A_LEGACY_CAPACITY]" "$IPRPCTL" role redirector legacy-capacity 3
	refused LH 1 "[bad attribute: IPRP_A_LEGACY_CAPACITY]" "$IPRPCTL" role redirector legacy-capacity 65537
	refused LH 64 "role: 'legacy-capacity' needs a value" "$IPRPCTL" role redirector legacy-capacity
	refused LH 64 "role: invalid legacy-capacity 'many'" "$IPRPCTL" role redirector legacy-capacity many
	refused_end
	# a capacity given when the tables are created, shown by status, then fixed
	n LH "$IPRPCTL" role client redirector legacy-capacity 1024
	check "$(sfield LH 'd["legacy_capacity"]')" -eq 1024 "legacy capacity set"
	n LH "$IPRPCTL" status | grep -qx 'legacy capacity: 1024'
	refused LH 1 "table capacity is fixed" "$IPRPCTL" role client redirector legacy-capacity 2048
	# save keeps what is not the default; restore into a fresh namespace
	n LH "$IPRPCTL" set legacy-ttl 2500
	n LH "$IPRPCTL" save | tee /tmp/cli-legacy-LH.conf
	grep -q '^role client redirector .*legacy-capacity 1024' /tmp/cli-legacy-LH.conf
	grep -qx 'set .*legacy-ttl 2500' /tmp/cli-legacy-LH.conf
	n LR "$IPRPCTL" restore /tmp/cli-legacy-LH.conf
	local lh lr
	lh=$(conf LH); lr=$(conf LR)
	[ "$lh" = "$lr" ] || { echo "LR differs from LH"; diff <(echo "$lh") <(echo "$lr"); return 1; }
	echo "$lr" | grep -q '"legacy_capacity": 1024'
	echo "$lr" | grep -q '"legacy_ttl_ms": 2500'
	# forget: a client the cache does not hold is refused, exit 1
	refused LG 1 "client not in the legacy cache" "$IPRPCTL" legacy forget "${ADDR[L]}"
	grep -q "No such file or directory" /tmp/cli.err
	# flush: always fine, the cache stays empty
	n LG "$IPRPCTL" legacy flush
	json LG legacy list | grep -qx '{"clients":\[\]}'
	# bad arguments: the CLI refuses before sending (exit 64)
	refused_run LG
	refused LG 64 "legacy forget: missing client address (ADDR)" "$IPRPCTL" legacy forget
	refused LG 64 "legacy forget: invalid client address '10.0.0.300'" "$IPRPCTL" legacy forget 10.0.0.300
	refused LG 64 "legacy forget: unexpected argument '10.0.0.22'" "$IPRPCTL" legacy forget 10.0.0.21 10.0.0.22
	refused LG 64 "legacy list: invalid client address '255.255.255.255' (not a unicast address)" \
		"$IPRPCTL" legacy list client 255.255.255.255
	refused LG 64 "legacy flush: unexpected argument 'all'" "$IPRPCTL" legacy flush all
	refused LG 64 "legacy: unknown subcommand 'drop'" "$IPRPCTL" legacy drop
	# forgetting needs CAP_NET_ADMIN, listing does not
	refused LG 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" legacy flush
	refused LG 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" legacy forget "${ADDR[L]}"
	refused_end
	n LG "${nobody[@]}" "$IPRPCTL" legacy list -j | grep -qx '{"clients":\[\]}'
	# R's cache, whatever the earlier tests taught it: well formed
	json R legacy list | python3 -c '
import json, sys
c = json.load(sys.stdin)["clients"]
assert all(x["known"] in ("legacy", "capable") and isinstance(x["expires_ms"], int) for x in c), c
print(len(c), "client(s) in the legacy cache of R:", c)'
}

# The capability mark's options through iprpctl, in namespaces of their
# own: set mark-syns (the client marks its SYNs; off by default, RFC 3692)
# and a service's unmarked local|redirect, in status, list, save and
# restore (rolled back with the rest); bad words refused by the CLI, bad
# values sent raw by the policy. What the mark does to real flows is
# 20-redirect's part.
t_mark_options() {
	local V=$VIP:7100 tick ma mb
	trap 'for ns in MA MB; do ip netns del $ns 2>/dev/null; done' EXIT
	ip netns add MA
	ip netns add MB
	n MA "$IPRPCTL" role client redirector
	# off by default, in text and JSON; save leaves it out
	[ "$(sfield MA 'd["params"]["mark_syns"]')" = False ] || { echo "mark-syns not off by default"; return 1; }
	n MA "$IPRPCTL" status | tee /tmp/cli-mark-status.txt
	grep -qx 'params: .*, mark-syns off, event-rate [0-9]*/s' /tmp/cli-mark-status.txt
	n MA "$IPRPCTL" save | tee /tmp/cli-mark-MA.conf
	if grep -q 'mark-syns\|unmarked' /tmp/cli-mark-MA.conf; then echo "save names a default mark option"; return 1; fi
	# set mark-syns: a round trip shown by status; the other parameters stay
	tick=$(sfield MA 'd["params"]["tick_ms"]')
	n MA "$IPRPCTL" set mark-syns on
	[ "$(sfield MA 'd["params"]["mark_syns"]')" = True ] || { echo "mark-syns on not shown by status -j"; return 1; }
	n MA "$IPRPCTL" status | grep -qx 'params: .*, mark-syns on, event-rate [0-9]*/s'
	check "$(sfield MA 'd["params"]["tick_ms"]')" -eq "$tick" "tick kept"
	n MA "$IPRPCTL" set mark-syns off
	[ "$(sfield MA 'd["params"]["mark_syns"]')" = False ] || { echo "mark-syns off not shown by status -j"; return 1; }
	n MA "$IPRPCTL" status | grep -qx 'params: .*, mark-syns off, event-rate [0-9]*/s'
	n MA "$IPRPCTL" set tick 400 mark-syns on
	check "$(sfield MA 'd["params"]["tick_ms"]')" -eq 400 "tick set with mark-syns"
	[ "$(sfield MA 'd["params"]["mark_syns"]')" = True ]
	n MA "$IPRPCTL" set tick "$tick"
	[ "$(sfield MA 'd["params"]["mark_syns"]')" = True ] || { echo "set tick changed mark-syns"; return 1; }
	# service ... unmarked: local shown by list (text and JSON); the
	# default is redirect
	n MA "$IPRPCTL" service add tcp "$V" sched rr unmarked local
	n MA "$IPRPCTL" replica add tcp "$V" "${ADDR[S1]}" weight 2
	n MA "$IPRPCTL" service add tcp "$VIP:7101"
	n MA "$IPRPCTL" service add udp "$VIP:7102"
	n MA "$IPRPCTL" list | tee /tmp/cli-mark-list.txt
	head -1 /tmp/cli-mark-list.txt | grep -qx 'Prot VIP:Port .*Grant *Unmarked'
	grep -qE "^TCP +$VIP:7100 .* local\$" /tmp/cli-mark-list.txt
	grep -qE "^TCP +$VIP:7101 .* redirect\$" /tmp/cli-mark-list.txt
	[ "$(svc MA tcp 7100 's["unmarked_local"]')" = True ] || { echo "unmarked local not in list -j"; return 1; }
	[ "$(svc MA tcp 7101 's["unmarked_local"]')" = False ] || { echo "a new service is not unmarked redirect"; return 1; }
	[ "$(svc MA udp 7102 's["unmarked_local"]')" = False ]
	# save keeps what is on, and only that
	n MA "$IPRPCTL" save | tee /tmp/cli-mark-MA.conf
	grep -qx 'set .*mark-syns on' /tmp/cli-mark-MA.conf
	grep -qx "service add tcp $V .*unmarked local" /tmp/cli-mark-MA.conf
	if grep -q "unmarked redirect\|service add tcp $VIP:7101 .*unmarked\|service add udp .*unmarked" /tmp/cli-mark-MA.conf; then
		echo "save names unmarked redirect"; return 1
	fi
	# restore into a fresh namespace: the same configuration
	n MB "$IPRPCTL" restore /tmp/cli-mark-MA.conf
	ma=$(conf MA); mb=$(conf MB)
	[ "$ma" = "$mb" ] || { echo "MB differs from MA"; diff <(echo "$ma") <(echo "$mb"); return 1; }
	echo "$mb" | grep -q '"mark_syns": true'
	echo "$mb" | grep -q '"unmarked_local": true'
	# edit: back to redirect and to local again; the rest and the replicas stay
	n MA "$IPRPCTL" service edit tcp "$V" unmarked redirect
	[ "$(svc MA tcp 7100 's["unmarked_local"]')" = False ] || { echo "edit unmarked redirect"; return 1; }
	[ "$(svc MA tcp 7100 '(s["sched"], len(s["replicas"]))')" = "('rr', 1)" ] || { echo "edit changed more than unmarked"; return 1; }
	n MA "$IPRPCTL" list | grep -qE "^TCP +$VIP:7100 .* redirect\$"
	n MA "$IPRPCTL" service edit tcp "$V" unmarked local
	[ "$(svc MA tcp 7100 's["unmarked_local"]')" = True ]
	# a restore the kernel refuses midway: mark-syns and unmarked back to
	# what they were (MB: off and redirect; refused compares before/after)
	n MB "$IPRPCTL" set mark-syns off
	n MB "$IPRPCTL" service edit tcp "$V" unmarked redirect
	{ echo "set mark-syns on"
	  echo "service add tcp $V unmarked local"
	  echo "service add tcp $VIP:7103 response-timeout 5"; } >/tmp/cli-mark-kbad.conf
	refused MB 1 "restore: line 3 (service add tcp $VIP:7103 response-timeout 5) failed; the previous configuration is back in place" \
		"$IPRPCTL" restore /tmp/cli-mark-kbad.conf
	[ "$(sfield MB 'd["params"]["mark_syns"]')" = False ] || { echo "the rollback left mark-syns on"; return 1; }
	[ "$(svc MB tcp 7100 's["unmarked_local"]')" = False ] || { echo "the rollback left unmarked local"; return 1; }
	# bad words: the CLI refuses before sending (exit 64)
	refused_run MA
	refused MA 64 "set: invalid mark-syns '2' (expected on or off)" "$IPRPCTL" set mark-syns 2
	refused MA 64 "set: invalid mark-syns 'yes' (expected on or off)" "$IPRPCTL" set mark-syns yes
	refused MA 64 "set: 'mark-syns' needs a value" "$IPRPCTL" set mark-syns
	refused MA 64 "set: 'mark-syns' given twice" "$IPRPCTL" set mark-syns on mark-syns off
	refused MA 64 "service add: invalid unmarked 'maybe' (expected local or redirect)" \
		"$IPRPCTL" service add tcp "$VIP:7104" unmarked maybe
	refused MA 64 "service edit: invalid unmarked 'maybe' (expected local or redirect)" \
		"$IPRPCTL" service edit tcp "$V" unmarked maybe
	refused MA 64 "service edit: 'unmarked' needs a value" "$IPRPCTL" service edit tcp "$V" unmarked
	refused MA 64 "restore: line 1: set: invalid mark-syns '2'" sh -c "printf 'set mark-syns 2\n' | $IPRPCTL restore"
	refused MA 64 "restore: line 1: service add: invalid unmarked 'maybe'" \
		sh -c "printf 'service add tcp $VIP:7104 unmarked maybe\n' | $IPRPCTL restore"
	# past the CLI: the policy takes 0 or 1 only (ERANGE)
	refused MA 0 "errno 34" $PY "$RAW" IPRP_CMD_SET_PARAMS IPRP_A_MARK_SYNS:B:2
	refused MA 0 "errno 34" $PY "$RAW" IPRP_CMD_NEW_SERVICE IPRP_A_PROTO:B:6 IPRP_A_VIP:ip:10.0.0.100 \
		IPRP_A_PORT:H:7104 IPRP_A_UNMARKED_LOCAL:B:2
	# changing them needs CAP_NET_ADMIN
	local -a nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
	refused MA 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" set mark-syns off
	refused MA 1 "Operation not permitted" "${nobody[@]}" "$IPRPCTL" service edit tcp "$V" unmarked redirect
	refused_end
}

t_ynl() {
	local cli=$LINUX_SRC/tools/net/ynl/pyynl/cli.py
	[ -f "$cli" ] || { echo "no kernel source with ynl under $IPRP_CACHE (run.sh --rodir)"; return 1; }
	echo "ynl from $LINUX_SRC" 
	local -a ynl=($PY "$cli" --spec "$SPEC" --schema "$LINUX_SRC/Documentation/netlink/genetlink-legacy.yaml" --output-json)
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
	# the newer attributes: parameters, capacities, service counters
	n R "${ynl[@]}" --do set-params --json '{"tick": 600}'
	n R "${ynl[@]}" --do get-status | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["tick"] == 600 and d["client-capacity"] == 4096 and d["redir-capacity"] == 4096, d'
	check "$(sfield R 'd["params"]["tick_ms"]')" -eq 600 "tick set through ynl"
	n R "$IPRPCTL" set tick 500
	python3 -c '
import json, sys
ynl = json.load(open(sys.argv[1]))
s = [x for x in ynl if x["port"] == 8080][0]
names = [st["stat-name"] for st in s["stats"]["stat"]]
assert "flows_new" in names and "local_table_full" in names, s
assert all("assigned" in r for r in s["replicas"]["replica"]), s' /tmp/ynl-services.json
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
tap "cli: a user namespace's root configures only its own network namespace" t_user_netns
tap "cli: flush client / redirector / everything" t_flush
tap "cli: save/restore round trip; a bad line anywhere changes nothing" t_save_restore
tap "cli: set: global parameters round-trip; bad values change nothing" t_params
tap "cli: counters per service and replica; zero" t_counters_zero
tap "cli: stats --prometheus: the same counters, parsed by prometheus_client" t_prometheus
tap "cli: bindings and flows filtered by service and peer (in the module)" t_filters
tap "cli: save/restore of roles (capacities, idle timeout) and parameters, all or nothing" t_save_restore_roles
tap "cli: legacy cache: list, forget, flush; legacy-capacity and legacy-ttl in status and save; bad values refused" t_legacy
tap "cli: mark-syns and unmarked local|redirect in status, list, save/restore; bad values refused" t_mark_options
tap "cli: the kernel's ynl CLI lists the services through the YNL spec" t_ynl
tap "cli: rmmod" t_cli_unload
topo_down
