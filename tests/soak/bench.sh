#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make bench: no faults; BENCH_ITERATIONS signatures on stock and on patched OpenSC in ONE run, split
# into BENCH_ROUNDS rounds that alternate the order (stock first, then patched first, ...) to cancel
# drift. Prints ops/s, latency p50/p99 and RSS for each, the patched/stock ratios and the targets:
#   throughput ratio (patched/stock ops/s) >= BENCH_MIN_THROUGHPUT_RATIO (0.90)
#   RSS ratio        (patched/stock RSS at the end) <= BENCH_MAX_RSS_RATIO (1.10)
# Exit 0 only if both targets are met. Environment: BENCH_ITERATIONS (2000), BENCH_ROUNDS (8),
# BENCH_WARMUP (20 per process), SOAK_TOKEN, SOAK_OUT (the per-round JSON).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
soak_init
iterations=${BENCH_ITERATIONS:-2000}
rounds=${BENCH_ROUNDS:-8}
warmup=${BENCH_WARMUP:-20}
min_thr=${BENCH_MIN_THROUGHPUT_RATIO:-0.90}
max_rss=${BENCH_MAX_RSS_RATIO:-1.10}
case $iterations$rounds in *[!0-9]*) soak_die "BENCH_ITERATIONS and BENCH_ROUNDS must be numbers" ;; esac
[ "$rounds" -ge 1 ] && [ "$iterations" -ge "$rounds" ] || soak_die "need BENCH_ITERATIONS >= BENCH_ROUNDS >= 1"
per_round=$((iterations / rounds))
out=${SOAK_OUT:-$PWD/bench-results}
mkdir -p "$out" || soak_die "cannot create $out"
rm -f "$out"/round-*.json
work=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
token=$(soak_token "$work") || exit 1

echo "bench: $((per_round * rounds)) signatures per variant (SHA256-RSA-PKCS, RSA-2048, verified), no faults,"
echo "       $rounds rounds of $per_round, the order alternating; $warmup warm-up signatures per process"
run_one()
{
	local v=$1 r=$2
	soak_driver "$v" --token "$token" --iterations "$per_round" --warmup "$warmup" \
		--no-faults --label "$v" --json "$out/round-$r-$v.json" >"$out/round-$r-$v.out" 2>&1 ||
		{ cat "$out/round-$r-$v.out"; soak_die "$v round $r: the driver failed"; }
}
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) = 1 ]; then order="stock patched"; else order="patched stock"; fi
	for v in $order; do run_one "$v" "$r"; done
	printf '  round %d: stock %.1f ops/s, patched %.1f ops/s\n' "$r" \
		"$(jq .ops_per_s "$out/round-$r-stock.json")" "$(jq .ops_per_s "$out/round-$r-patched.json")"
done

# every operation must have been OK, or the numbers mean nothing
for f in "$out"/round-*.json; do
	[ "$(jq '.outcomes.OK == .operations and .outcomes.BADSIG == 0' "$f")" = true ] ||
		soak_die "$f: not every signature was OK: $(jq -c .outcomes "$f")"
done

# per variant: ops/s = all operations / all loop time; p50/p99 = median of the rounds' values;
# RSS = median of the rounds' end RSS (each round is its own process)
jq -s --arg min_thr "$min_thr" --arg max_rss "$max_rss" -r '
def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def r2: . * 100 | round / 100;
def stats(v): [.[] | select(.label == v)] | {
	ops: (map(.operations) | add), secs: (map(.elapsed_s) | add), cpu: (map(.cpu_s) | add),
	rounds: map(.ops_per_s), p50: (map(.latency_ns.ok.p50) | median), p99: (map(.latency_ns.ok.p99) | median),
	rss: (map(.rss_kib.end) | median), rss_all: map(.rss_kib.end) } | .ops_s = .ops / .secs | .cpu_ms = .cpu / .ops * 1000;
(stats("stock")) as $s | (stats("patched")) as $p |
($p.ops_s / $s.ops_s) as $thr | ($p.rss / $s.rss) as $rss |
"",
"                                           stock      patched   patched/stock",
"  signatures                          \($s.ops | tostring | (" " * (10 - length)) + .)   \($p.ops | tostring | (" " * (10 - length)) + .)",
"  ops/s                               \($s.ops_s | r2 | tostring | (" " * (10 - length)) + .)   \($p.ops_s | r2 | tostring | (" " * (10 - length)) + .)   \($thr * 1000 | round / 1000)",
"  ops/s per round, min..max  \("\($s.rounds | min | round)..\($s.rounds | max | round)" | (" " * (19 - length)) + .)   \("\($p.rounds | min | round)..\($p.rounds | max | round)" | (" " * (10 - length)) + .)",
"  CPU ms per signature (all rounds)   \($s.cpu_ms * 1000 | round / 1000 | tostring | (" " * (10 - length)) + .)   \($p.cpu_ms * 1000 | round / 1000 | tostring | (" " * (10 - length)) + .)   \($p.cpu_ms / $s.cpu_ms * 1000 | round / 1000)",
"  latency p50 ms (median of rounds)   \($s.p50 / 1e4 | round / 100 | tostring | (" " * (10 - length)) + .)   \($p.p50 / 1e4 | round / 100 | tostring | (" " * (10 - length)) + .)   \($p.p50 / $s.p50 * 1000 | round / 1000)",
"  latency p99 ms (median of rounds)   \($s.p99 / 1e4 | round / 100 | tostring | (" " * (10 - length)) + .)   \($p.p99 / 1e4 | round / 100 | tostring | (" " * (10 - length)) + .)   \($p.p99 / $s.p99 * 1000 | round / 1000)",
"  RSS KiB at end (median of rounds)   \($s.rss | tostring | (" " * (10 - length)) + .)   \($p.rss | tostring | (" " * (10 - length)) + .)   \($rss * 1000 | round / 1000)",
"",
"targets:",
"  \(if $thr >= ($min_thr | tonumber) then "PASS" else "FAIL" end)  throughput patched/stock \($thr * 1000 | round / 1000) >= \($min_thr)",
"  \(if $rss <= ($max_rss | tonumber) then "PASS" else "FAIL" end)  RSS patched/stock \($rss * 1000 | round / 1000) <= \($max_rss)"
' "$out"/round-*.json | tee "$work/table"
echo "results: $out/round-*.json"
if grep -q "^  FAIL" "$work/table"; then
	echo "bench: FAIL"
	exit 1
fi
echo "bench: PASS"
