#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make soak: the soak driver on stock and on patched OpenSC, the same seed and fault plan, SOAK_SECONDS
# each, side by side. Exit 0 only if patched recovered every fault and stock did not (criteria below and
# in src/soak/README.md). Environment: SOAK_SECONDS (60), SOAK_SEED (1), SOAK_FAULT_EVERY (10),
# SOAK_FAULTS (service_lost,service_down_up,service_up_late,card_reset), SOAK_TOKEN (an image; default:
# one personalised now), SOAK_OUT (where the JSON and the driver output are kept), SOAK_RSS_MAX_KIB
# (patched's allowed RSS growth after warm-up, default 1024), SOAK_WARMUP (7000 signatures).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
soak_init
seconds=${SOAK_SECONDS:-60}
seed=${SOAK_SEED:-1}
every=${SOAK_FAULT_EVERY:-10}
faults=${SOAK_FAULTS:-service_lost,service_down_up,service_up_late,card_reset}
rss_max=${SOAK_RSS_MAX_KIB:-1024}
# The virtual card (libvcard, in this process) keeps its last 50000..100000 APDUs in memory: that fills
# up after ~6250 signatures, so the RSS growth of the module is measured after a warm-up longer than that.
warmup=${SOAK_WARMUP:-7000}
out=${SOAK_OUT:-$PWD/soak-results}
mkdir -p "$out" || soak_die "cannot create $out"
work=$(mktemp -d "${TMPDIR:-/tmp}/soak.XXXXXX")
trap 'rm -rf "$work"' EXIT
token=$(soak_token "$work") || exit 1

echo "soak: ${seconds} s per variant after $warmup fault-free warm-up signatures, seed $seed, a fault every ~$every operations of: $faults"
for v in stock patched; do
	if [ $v = stock ]; then module=$STOCK_MODULE; else module=$PATCHED_MODULE; fi
	"$SOAK_DRIVER" --module "$module" --token "$token" --seconds "$seconds" --seed "$seed" --warmup "$warmup" \
		--fault-every "$every" --faults "$faults" --require-pin-for-key --label $v \
		--json "$out/$v.json" >"$out/$v.out" 2>&1
	rc=$?
	[ $rc = 0 ] || { cat "$out/$v.out"; soak_die "$v: the driver exited $rc"; }
done

S=$out/stock.json P=$out/patched.json
q() { jq -r "$2" "$1"; }
row() { printf '  %-40s %30s %30s\n' "$1" "$(q "$S" "$2")" "$(q "$P" "$2")"; }
echo
printf '  %-40s %30s %30s\n' "" stock patched
row "module (OpenSC smartcard ...)" '.module_description | sub("^OpenSC smartcard "; "")'
row "operations" '.operations'
row "OK %" '(100 * .outcomes.OK / ([.operations,1] | max) * 100 | round / 100 | tostring)'
row "BADSIG" '.outcomes.BADSIG'
row "failures (most frequent)" '[.outcomes | to_entries[] | select(.key != "OK" and .key != "BADSIG" and .value > 0)] | sort_by(-.value) | (.[0] // {key: "-", value: ""}) | "\(.key) \(.value)"'
row "faults injected" '.faults.injected'
row "faults recovered (next op OK)" '.faults.recovered'
for k in ${faults//,/ }; do
	row "  $k injected/recovered" ".faults.by_kind.$k | if . then \"\(.injected)/\(.recovered)\" else \"0/0\" end"
done
row "fault -> first OK, mean / max ms" '[.faults.by_kind[] | select(.eventually_ok > 0)] as $k | if ($k | length) > 0 then (($k | map(.time_to_first_ok_ms_mean * .eventually_ok) | add) / ($k | map(.eventually_ok) | add)) as $a | ($k | map(.time_to_first_ok_ms_max) | max) as $m | "\($a * 10 | round / 10) / \($m * 10 | round / 10)" else "never" end'
row "ops/s (all operations)" '.ops_per_s * 10 | round / 10'
row "latency p50 ms (OK ops)" 'if .latency_ns.ok.count > 0 then .latency_ns.ok.p50 / 1e4 | round / 100 else "-" end'
row "latency p99 ms (OK ops)" 'if .latency_ns.ok.count > 0 then .latency_ns.ok.p99 / 1e4 | round / 100 else "-" end'
row "RSS KiB after warm-up -> end" '"\(.rss_kib.after_warmup) -> \(.rss_kib.end)"'
row "RSS growth after warm-up KiB" '.rss_kib.growth_after_warmup'
row "live contexts/handles after warm-up" '"\(.provider.after_warmup.contexts)/\(.provider.after_warmup.handles)"'
row "live contexts/handles at end" '"\(.provider.end.contexts)/\(.provider.end.handles)"'
row "zombie handles at end" '.provider.end.zombie_handles'
row "contexts/handles after C_Finalize" '"\(.provider.after_finalize.contexts)/\(.provider.after_finalize.handles)"'
row "session at end" '.session_state_end'
row "C_Login calls" '.login_calls'
echo

fails=0
crit()
{
	local what=$1 file=$2 expr=$3
	if [ "$(jq -r "$expr" "$file")" = true ]; then
		echo "  PASS  $what"
	else
		echo "  FAIL  $what"
		fails=$((fails + 1))
	fi
}
echo "criteria:"
crit "patched: faults were injected" "$P" '.faults.injected > 0'
crit "patched: every fault recovered (the operation after it OK)" "$P" '.faults.recovered == .faults.injected and .faults.inject_errors == 0'
crit "patched: every operation OK" "$P" '.outcomes.OK == .operations'
crit "patched: no BADSIG" "$P" '.outcomes.BADSIG == 0'
crit "patched: at most 1 live context and 1 card handle at the end (one reader), none more than after warm-up" "$P" \
	'.provider.end.contexts <= 1 and .provider.end.handles <= 1 and .provider.end.contexts <= .provider.after_warmup.contexts and .provider.end.handles <= .provider.after_warmup.handles'
crit "patched: no context or handle left after C_Finalize" "$P" '.provider.after_finalize.contexts == 0 and .provider.after_finalize.handles == 0'
crit "patched: still logged in at the end (RW_USER)" "$P" '.session_state_end == "RW_USER"'
crit "patched: RSS growth after warm-up <= $rss_max KiB" "$P" ".rss_kib.growth_after_warmup <= $rss_max"
crit "stock: the same kind of run, faults injected" "$S" '.faults.injected > 0'
crit "stock: failed to recover (at least one fault not followed by an OK operation)" "$S" '.faults.recovered < .faults.injected'
echo "results: $out/{stock,patched}.{json,out}"
if [ $fails = 0 ]; then
	echo "soak: PASS"
else
	echo "soak: FAIL ($fails criteria)"
	exit 1
fi
