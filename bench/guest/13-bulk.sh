#!/usr/bin/env bash
# Fig 13: download time of 10 KB .. 10 MB at D = 25, 50, 100 ms (geometry
# far: replicas near the client, R far): direct C -> S1, redirected (via
# the VIP, bulk C <-> S1 after the handshake), nft DNAT, IPVS-NAT (backend
# S2 behind R) and IPVS-DR (S1 answers directly). One curl process per run
# fetches every (mechanism, size) in shuffled order, each on a new
# connection; times are curl's own (time_connect, time_total). Every file
# is compared with the one of the server that must have sent it.
# Writes fig13-bulk-raw.csv: d_ms,run,mech,size,bytes,connect_ms,total_ms
# (full mode: 5 runs at each D; BENCH_BULK_PLAN=25:10,100:5 changes that)
set -euo pipefail
. "$REPO/bench/lib.sh"

# PLAN: "D:RUNS ..."; BENCH_BULK_PLAN (D:RUNS,D:RUNS) overrides it (bench/run.sh --env).
if [ "$MODE" = full ]; then PLAN="25:5 50:5 100:5"; BSIZES="10k 100k 1m 10m"
else PLAN="25:3"; BSIZES="1m"; fi
PLAN=${BENCH_BULK_PLAN:-$PLAN}
PLAN=${PLAN//,/ }
CSV=$OUT/fig13-bulk-raw.csv
echo "d_ms,run,mech,size,bytes,connect_ms,total_ms" >"$CSV"
mkdir -p /tmp/dl

declare -A URL_ITEM ITEM_URL
for m in $MECHS_HTTP; do for s in $BSIZES; do
	u=$(http_url "$m" "$s")
	URL_ITEM[$u]="$m $s"
	ITEM_URL[$m/$s]=$u
done; done

bench_up
for step in $PLAN; do
	d=${step%:*} RUNS=${step#*:}
	bench_delay "$d" far
	for r in $(seq "$RUNS"); do
		args=()
		items=()
		for m in $MECHS_HTTP; do for s in $BSIZES; do items+=("$m/$s"); done; done
		for it in $(shuffled "${items[@]}"); do
			m=${it%/*} s=${it#*/}
			args+=(-o "/tmp/dl/$m-$s" "${ITEM_URL[$it]}")
		done
		rm -f /tmp/dl/*
		n C curl -sS -f --max-time 120 -H 'Connection: close' \
			-w '%{url_effective} %{time_connect} %{time_total} %{size_download}\n' \
			"${args[@]}" >/tmp/bulk.out || fail "D=$d run $r: curl failed"
		# Few processes per transfer (exec is slow under TCG): one cmp each,
		# one awk for the whole run.
		: >/tmp/bulk.csv
		while read -r url tc tt sz; do
			[ -n "${URL_ITEM[$url]:-}" ] || fail "unknown url $url"
			read -r m s <<<"${URL_ITEM[$url]}"
			case $m in direct | redirected | ipvsdr) srv=S1 ;; dnat | ipvsnat) srv=S2 ;; *) srv=R ;; esac
			cmp -s "/tmp/dl/$m-$s" "/tmp/www-$srv/$s" ||
				fail "D=$d run $r: $m $s: wrong content (not from $srv)"
			[ "$sz" -eq "${SIZE_BYTES[$s]}" ] || fail "$m $s: $sz bytes"
			echo "$d,$r,$m,$s,$sz,$tc,$tt" >>/tmp/bulk.csv
		done </tmp/bulk.out
		awk -F, -v OFS=, '{ $6 = sprintf("%.3f", $6 * 1000); $7 = sprintf("%.3f", $7 * 1000); print }' \
			/tmp/bulk.csv >>"$CSV"
		got=$(wc -l </tmp/bulk.out)
		[ "$got" -eq "${#items[@]}" ] || fail "D=$d run $r: $got of ${#items[@]} transfers"
	done
	n C "$IPRPCTL" flush client
	n R "$IPRPCTL" flush redirector
	log "D=$d: $RUNS runs of $(echo "$BSIZES" | wc -w) sizes x 6 mechanisms"
done
bench_down
