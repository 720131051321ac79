#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make soak: the soak driver on stock and on patched OpenSC, the same seed and fault plan, SOAK_SECONDS
# each, side by side, then a fault-free control run of patched (the RSS baseline); a PNG chart of the
# run beside the JSON. Exit 0 only if patched recovered every fault and stock did not (criteria below
# and in src/soak/README.md).
# Environment: SOAK_SECONDS (60), SOAK_CONTROL_SECONDS (= SOAK_SECONDS), SOAK_SEED (1),
# SOAK_FAULT_EVERY (10), SOAK_FAULTS (the kinds: service_lost,service_down_up,service_up_late,card_reset),
# SOAK_FAULT_COUNT (exactly N faults per run, ending the run; default: faults for SOAK_SECONDS),
# SOAK_READERS (1), SOAK_SESSIONS (= readers), SOAK_POLLER (0; 1: a thread polls slots, sessions and
# events meanwhile), SOAK_TOKEN (an image; default: one personalised now), SOAK_OUT (where the JSON,
# the driver output and the chart are kept), SOAK_RSS_MAX_KIB (patched's allowed RSS growth after
# warm-up beyond the control run's, default 1024), SOAK_WARMUP (500 signatures),
# SOAK_APDU_LOG_CAPACITY (0: the virtual card keeps no APDU in memory, so RSS is OpenSC's).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
soak_init
seconds=${SOAK_SECONDS:-60}
control_seconds=${SOAK_CONTROL_SECONDS:-$seconds}
seed=${SOAK_SEED:-1}
every=${SOAK_FAULT_EVERY:-10}
faults=${SOAK_FAULTS:-service_lost,service_down_up,service_up_late,card_reset}
poller=${SOAK_POLLER:-0}
# with a poller, also outages it can poll through (unless the kinds were given)
[ "$poller" = 1 ] && [ -z "${SOAK_FAULTS:-}" ] && faults+=,service_outage
fault_count=${SOAK_FAULT_COUNT:-}
readers=${SOAK_READERS:-1}
sessions=${SOAK_SESSIONS:-$readers}
rss_max=${SOAK_RSS_MAX_KIB:-1024}
warmup=${SOAK_WARMUP:-500}
log_capacity=${SOAK_APDU_LOG_CAPACITY:-0}
case $poller in 0 | 1) ;; *) soak_die "SOAK_POLLER must be 0 or 1, not \"$poller\"" ;; esac
case $rss_max in '' | *[!0-9]*) soak_die "SOAK_RSS_MAX_KIB must be a number of KiB, not \"$rss_max\"" ;; esac
out=${SOAK_OUT:-$PWD/soak-results}
mkdir -p "$out" || soak_die "cannot create $out"
rm -f "$out"/{stock,patched,control}.{json,out} "$out/soak.png"
work=$(mktemp -d "${TMPDIR:-/tmp}/soak.XXXXXX")
trap 'rm -rf "$work"' EXIT
token=$(soak_token "$work") || exit 1

args=(--token "$token" --seed "$seed" --warmup "$warmup" --fault-every "$every" --fault-kinds "$faults"
	--readers "$readers" --sessions "$sessions" --apdu-log-capacity "$log_capacity" --require-pin-for-key)
[ "$poller" = 1 ] && args+=(--poller)
if [ -n "$fault_count" ]; then
	args+=(--faults "$fault_count" --seconds "$((seconds * 10))")
	what="exactly $fault_count faults (a fault every ~$every operations)"
else
	args+=(--seconds "$seconds")
	what="${seconds} s, a fault every ~$every operations"
fi
echo "soak: $what of $faults; $readers reader(s), $sessions session(s)$([ "$poller" = 1 ] && echo ", a poller thread");"
echo "      $warmup fault-free warm-up signatures, seed $seed; then a ${control_seconds} s fault-free control run of patched"
# run VARIANT NAME ARGS...: the driver, its summary in NAME.out, the JSON in NAME.json; a progress line
# on the terminal when there is one
run()
{
	local v=$1 name=$2 rc
	shift 2
	if [ -t 1 ]; then
		soak_driver "$v" "$@" --label "$name" --json "$out/$name.json" --progress 3>&1 >"$out/$name.out" 2>&3
	else
		soak_driver "$v" "$@" --label "$name" --json "$out/$name.json" >"$out/$name.out" 2>&1
	fi
	rc=$?
	[ $rc = 0 ] || { cat "$out/$name.out"; soak_die "$name: the driver exited $rc"; }
}
run stock stock "${args[@]}"
run patched patched "${args[@]}"
control_args=(--token "$token" --seed "$seed" --warmup "$warmup" --no-faults --seconds "$control_seconds"
	--readers "$readers" --sessions "$sessions" --apdu-log-capacity "$log_capacity" --require-pin-for-key)
[ "$poller" = 1 ] && control_args+=(--poller)
run patched control "${control_args[@]}"

S=$out/stock.json P=$out/patched.json C=$out/control.json
q() { jq -r "$2" "$1"; }
row() { printf '  %-44s %34s %34s\n' "$1" "$(q "$S" "$2")" "$(q "$P" "$2")"; }
# per recovery of kind K: mean operations, PC/SC calls, and APDUs beyond an ordinary signature's
rec() { echo ".faults.by_kind.$1.recovery | if . and .completed > 0 then $2 else \"-\" end"; }
echo
printf '  %-44s %34s %34s\n' "" stock patched
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
echo "  counts per ordinary signature (PC/SC calls by entry point; APDUs)"
row "  PC/SC calls" '.per_signature | "\(.pcsc_calls_total) (\(.signatures) signatures)"'
for ep in $(jq -r '.per_signature.pcsc_calls | keys[]' "$S" "$P" | sort -u); do
	row "    $ep" ".per_signature.pcsc_calls.\"$ep\" // 0"
done
row "  APDUs" '.per_signature | "\(.apdus_total) (\(.apdus | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | join(", ")))"'
echo "  counts per recovery (from the fault to the first OK operation)"
for k in ${faults//,/ }; do
	row "  $k: operations, PC/SC calls" "$(rec "$k" '"\(.ops) ops, \(.pcsc_calls_total) calls"')"
	row "    Transmit, Reconnect, EstablishContext" "$(rec "$k" '"\(.pcsc_calls.SCardTransmit // 0), \(.pcsc_calls.SCardReconnect // 0), \(.pcsc_calls.SCardEstablishContext // 0)"')"
	row "    extra APDUs: SM, identity, PIN, retried" "$(rec "$k" '.extra_apdus | "\(.secure_messaging), \(.identity), \(.pin), \(.retried_operation)"')"
done
row "RSS KiB after warm-up -> end" '"\(.rss_kib.after_warmup) -> \(.rss_kib.end)"'
row "RSS growth after warm-up KiB" '.rss_kib.growth_after_warmup'
printf '  %-44s %34s %34s\n' "  control run (patched, no faults): growth" "" "$(q "$C" '"\(.rss_kib.growth_after_warmup) KiB in \(.operations) signatures"')"
row "open fds after warm-up / max / end" '.process.fds | "\(.after_warmup) / \(.max) / \(.end)"'
row "threads after warm-up / max / end" '.process.threads | "\(.after_warmup) / \(.max) / \(.end)"'
row "alive contexts/handles after warm-up" '.provider.after_warmup | "\(.alive_contexts)/\(.alive_handles)"'
row "alive contexts/handles at end" '.provider.end | "\(.alive_contexts)/\(.alive_handles)"'
row "dead contexts/handles at end (not released)" '.provider.end | "\(.dead_contexts)/\(.dead_handles)"'
row "zombie handles at end (released dead)" '.provider.end.zombie_handles'
row "contexts/handles after C_Finalize" '"\(.provider.after_finalize.contexts)/\(.provider.after_finalize.handles)"'
row "session(s) at end" '.session_states_end | join(" ")'
row "C_Login calls" '.login_calls'
if [ "$poller" = 1 ]; then
	row "poller rounds" '.poller.rounds'
	row "poller: C_GetSessionInfo results" '.poller.C_GetSessionInfo | to_entries | map("\(.key) \(.value)") | join(", ")'
	row "poller: sessions lost / not logged in" '.poller | "\(.sessions_lost) / \(.not_logged_in)"'
fi
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
crit "patched: faults were injected${fault_count:+ (exactly $fault_count)}" "$P" ".faults.injected > 0${fault_count:+ and .faults.injected == $fault_count}"
crit "patched: every fault recovered (the operation after it OK)" "$P" '.faults.recovered == .faults.injected and .faults.inject_errors == 0'
crit "patched: every operation OK" "$P" '.outcomes.OK == .operations'
crit "patched: no BADSIG" "$P" '.outcomes.BADSIG == 0'
crit "patched: the provider's counters were read around every operation" "$P" '.counters_ok'
crit "patched: at most 1 alive context and $readers card handle(s) at the end, none more than after warm-up" "$P" \
	".provider.end.alive_contexts <= 1 and .provider.end.alive_handles <= $readers and .provider.end.alive_contexts <= .provider.after_warmup.alive_contexts and .provider.end.alive_handles <= .provider.after_warmup.alive_handles"
crit "patched: no dead context or handle kept at the end" "$P" '.provider.end.dead_contexts == 0 and .provider.end.dead_handles == 0'
crit "patched: no context or handle left after C_Finalize" "$P" '.provider.after_finalize.contexts == 0 and .provider.after_finalize.handles == 0'
crit "patched: no more open fds or threads at the end than after warm-up" "$P" '.process.fds.end <= .process.fds.after_warmup and .process.threads.end <= .process.threads.after_warmup'
crit "patched: still logged in at the end (RW_USER), one C_Login per token" "$P" ".session_state_end == \"RW_USER\" and .login_calls == $readers"
crit "patched: RSS growth after warm-up <= the control run's + $rss_max KiB" "$P" \
	".rss_kib.growth_after_warmup <= $(q "$C" '.rss_kib.growth_after_warmup') + $rss_max"
crit "control (patched, no faults): every operation OK" "$C" '.outcomes.OK == .operations and .faults.injected == 0'
if [ "$poller" = 1 ]; then
	crit "patched: the poller never lost a session nor saw one logged out" "$P" '.poller.rounds > 0 and .poller.sessions_lost == 0 and .poller.not_logged_in == 0'
fi
crit "stock: the same kind of run, faults injected" "$S" '.faults.injected > 0'
crit "stock: failed to recover (at least one fault not followed by an OK operation)" "$S" '.faults.recovered < .faults.injected'

chart="(no chart)"
if bash "$here/chart.sh" "$S" "$P" "$out/soak.png"; then
	chart=$out/soak.png
else
	echo "  (chart not written: see above)"
fi
echo "results: $out/{stock,patched,control}.{json,out}"
if [ $fails = 0 ]; then
	echo "soak: PASS; chart: $chart"
else
	echo "soak: FAIL ($fails criteria); chart: $chart"
	exit 1
fi
