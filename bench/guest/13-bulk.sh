#!/usr/bin/env bash
# Fig 13: download time of 10 KB .. 10 MB at D = 25, 50, 100 ms (geometry
# far: replicas near the client, R far): direct C -> S1, redirected (via
# the VIP, bulk C <-> S1 after the handshake), nft DNAT, IPVS-NAT (backend
# S2 behind R) and IPVS-DR (S1 answers directly). One curl process per run
# fetches every (mechanism, size) in shuffled order, each on a new
# connection; times are curl's own (time_connect, time_total). Every file
# is compared with the one of the server that must have sent it.
# Writes fig13-bulk-raw.csv: d_ms,run,mech,size,bytes,connect_ms,total_ms
set -euo pipefail
. "$REPO/bench/lib.sh"

if [ "$MODE" = full ]; then DS="25 50 100"; RUNS=10; BSIZES="10k 100k 1m 10m"
else DS="25"; RUNS=3; BSIZES="1m"; fi
CSV=$OUT/fig13-bulk-raw.csv
echo "d_ms,run,mech,size,bytes,connect_ms,total_ms" >"$CSV"
mkdir -p /tmp/dl

bench_up
for d in $DS; do
	bench_delay "$d" far
	for r in $(seq "$RUNS"); do
		args=()
		items=()
		for m in $MECHS_HTTP; do for s in $BSIZES; do items+=("$m/$s"); done; done
		for it in $(shuffled "${items[@]}"); do
			m=${it%/*} s=${it#*/}
			args+=(-o "/tmp/dl/$m-$s" "$(http_url "$m" "$s")")
		done
		rm -f /tmp/dl/*
		n C curl -sS -f --max-time 120 -H 'Connection: close' \
			-w '%{url_effective} %{time_connect} %{time_total} %{size_download}\n' \
			"${args[@]}" >/tmp/bulk.out || fail "D=$d run $r: curl failed"
		while read -r url tc tt sz; do
			m=""
			for mm in $MECHS_HTTP; do
				[ "$(http_url "$mm" "${url##*/}")" = "$url" ] && m=$mm
			done
			s=${url##*/}
			[ -n "$m" ] || fail "unknown url $url"
			cmp -s "/tmp/dl/$m-$s" "/tmp/www-$(http_server "$m")/$s" ||
				fail "D=$d run $r: $m $s: wrong content (not from $(http_server "$m"))"
			[ "$sz" -eq "${SIZE_BYTES[$s]}" ] || fail "$m $s: $sz bytes"
			awk -v p="$d,$r,$m,$s,$sz" -v c="$tc" -v t="$tt" \
				'BEGIN { printf "%s,%.3f,%.3f\n", p, c * 1000, t * 1000 }' >>"$CSV"
		done </tmp/bulk.out
		got=$(wc -l </tmp/bulk.out)
		[ "$got" -eq "${#items[@]}" ] || fail "D=$d run $r: $got of ${#items[@]} transfers"
		n C "$IPRPCTL" flush client
		n R "$IPRPCTL" flush redirector
	done
	log "D=$d: $RUNS runs of $(echo "$BSIZES" | wc -w) sizes x 6 mechanisms"
done
bench_down
