#!/usr/bin/env bash
# Fig 13: download time of 10 KB .. 10 MB through each mechanism, each
# measured alone (its arm, bench/lib.sh), at one-way delay D in both
# geometries (far: replicas near the client, R far; near: R near the
# replicas, the peers' recipe): direct C -> S1, R's own server, redirected
# (via the VIP, bulk C <-> S1 after the handshake), repeat (a granting
# service after C's first flow there: no handshake with R), nft DNAT, IPVS-NAT
# (backend S2 behind R) and IPVS-DR (S1 answers directly). In each of
# ROUNDS rounds every arm comes once, in shuffled order, and fetches in
# every (geometry, D) cell, in shuffled order, each of its (mechanism,
# size) once in shuffled order, each on a new connection, in one curl
# process; times are curl's own (time_connect, time_total). Every file is
# compared with the one of the server that must have sent it.
# Writes fig13-bulk-raw.csv: geom,d_ms,run,mech,size,bytes,connect_ms,total_ms
# (BENCH_BULK_CELLS=far:25,near:25 and BENCH_BULK_ROUNDS=N change the plan)
set -euo pipefail
. "$REPO/bench/lib.sh"

if [ "$MODE" = full ]; then
	CELLS="far:25 far:100 near:25 near:100" ROUNDS=6 BSIZES="10k 100k 1m 10m"
else
	CELLS="far:25 near:25" ROUNDS=2 BSIZES="1m"
fi
CELLS=${BENCH_BULK_CELLS:-$CELLS}
CELLS=${CELLS//,/ }
ROUNDS=${BENCH_BULK_ROUNDS:-$ROUNDS}
ARMS="plain iprp dnat ipvsnat ipvsdr"
CSV=$OUT/fig13-bulk-raw.csv
echo "geom,d_ms,run,mech,size,bytes,connect_ms,total_ms" >"$CSV"
mkdir -p /tmp/dl

declare -A URL_ITEM ITEM_URL
for m in $MECHS_HTTP; do for s in $BSIZES; do
	u=$(http_url "$m" "$s")
	URL_ITEM[$u]="$m $s"
	ITEM_URL[$m/$s]=$u
done; done

bench_up
for r in $(seq "$ROUNDS"); do
	for arm in $(shuffled $ARMS); do
		arm_on "$arm"
		items=()
		for m in $(arm_mechs "$arm" $MECHS_HTTP); do
			for s in $BSIZES; do items+=("$m/$s"); done
		done
		for cell in $(shuffled $CELLS); do
			geom=${cell%:*} d=${cell#*:}
			bench_delay "$d" "$geom"
			nrepeat=0
			if [ "$arm" = iprp ]; then
				grant_first
				bound0=$(stat C client.granted_bound)
			fi
			args=()
			for it in $(shuffled "${items[@]}"); do
				m=${it%/*} s=${it#*/}
				[ "$m" != repeat ] || nrepeat=$((nrepeat + 1))
				args+=(-o "/tmp/dl/$m-$s" "${ITEM_URL[$it]}")
			done
			rm -f /tmp/dl/*
			n C curl -sS -f --max-time 120 -H 'Connection: close' \
				-w '%{url_effective} %{time_connect} %{time_total} %{size_download}\n' \
				"${args[@]}" >/tmp/bulk.out || fail "$arm $geom D=$d round $r: curl failed"
			# Few processes per transfer (exec is slow under TCG): one cmp
			# each, one awk for the whole cell.
			: >/tmp/bulk.csv
			while read -r url tc tt sz; do
				[ -n "${URL_ITEM[$url]:-}" ] || fail "unknown url $url"
				read -r m s <<<"${URL_ITEM[$url]}"
				srv=$(http_server "$m")
				cmp -s "/tmp/dl/$m-$s" "/tmp/www-$srv/$s" ||
					fail "$geom D=$d round $r: $m $s: wrong content (not from $srv)"
				[ "$sz" -eq "${SIZE_BYTES[$s]}" ] || fail "$m $s: $sz bytes"
				echo "$geom,$d,$r,$m,$s,$sz,$tc,$tt" >>/tmp/bulk.csv
			done </tmp/bulk.out
			awk -F, -v OFS=, '{ $7 = sprintf("%.3f", $7 * 1000); $8 = sprintf("%.3f", $8 * 1000); print }' \
				/tmp/bulk.csv >>"$CSV"
			got=$(wc -l </tmp/bulk.out)
			[ "$got" -eq "${#items[@]}" ] || fail "$arm $geom D=$d round $r: $got of ${#items[@]} transfers"
			if [ "$arm" = iprp ]; then
				bound1=$(stat C client.granted_bound)
				[ $((bound1 - bound0)) -eq "$nrepeat" ] ||
					fail "$geom D=$d round $r: $nrepeat repeat downloads but $((bound1 - bound0)) bound from the grant"
			fi
		done
		log "round $r, arm $arm: $(echo "$CELLS" | wc -w) cells x ${#items[@]} transfers"
	done
done
bench_down
