#!/usr/bin/env bash
# make soak-real: pcscd restarted SOAK_RESTARTS (50) times, SIGTERM and SIGKILL alternately, under
# ssh-agent and long-lived PKCS#11 clients (p11-session-loop; the NSS client tests/e2e/nss-sign-loop
# when it is built, or SOAK_NSS_CLIENT), stock and patched OpenSC side by side in private namespaces (soak_real_scenario.sh).
# Stock runs SOAK_STOCK_RESTARTS (4): it stops signing at the first restart, more add nothing.
#
# Per restart and client: time from "service back" to the first good operation, failures inside
# the gap, before and after that first good operation. A restart is clean for a client when it
# signed again, nothing failed after "service back", and from the stop on it needed no new login
# (LOGIN-NEEDED) and saw no token re-initialisation (SERIES, NSS). Prints the table and writes
# soak-real-results/<time>/soak-real.json (+ the logs); passes (exit 0) when patched has every
# restart clean for every client and stock has not. SOAK_ACTIVATION=socket: socket activation
# (pcscd-socket-holder) instead of the harness starting pcscd.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"

if ! e2e_prereqs || ! command -v jq >/dev/null; then
	command -v jq >/dev/null || echo "missing: jq (Debian package jq)" >&2
	echo "soak-real: requirements missing (above)"
	exit 77
fi
export SOAK_RESTARTS=${SOAK_RESTARTS:-50} SOAK_ACTIVATION=${SOAK_ACTIVATION:-restart}
# The NSS client (tests/e2e/nss-sign-loop: same options and output lines as p11-session-loop) joins
# when it is built; SOAK_NSS_CLIENT=none leaves it out.
if [ -z "${SOAK_NSS_CLIENT:-}" ] && [ -x "$e2e_build/tests/e2e/nss-sign-loop" ]; then
	SOAK_NSS_CLIENT="$e2e_build/tests/e2e/nss-sign-loop"
fi
[ "${SOAK_NSS_CLIENT:-}" = none ] && SOAK_NSS_CLIENT=""
export SOAK_NSS_CLIENT
stock_restarts=${SOAK_STOCK_RESTARTS:-4}
out="${SOAK_REAL_OUT:-$e2e_build/soak-real-results}/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
echo "soak-real: logs and JSON under $out"
image=$(e2e_personalise "$out") || { echo "soak-real: could not personalise the virtual ePass2003"; exit 1; }

run_variant()
{
	local name=$1 prefix=$2 n=$3 work="$out/$1"
	mkdir -p "$work"
	E2E_VARIANT=$name E2E_PREFIX=$prefix E2E_WORKDIR=$work E2E_BRIDGE_ARGS="$(e2e_card_args "$work" "$image")" \
		SOAK_RESTARTS=$n P11_CLIENT="${P11_CLIENT:-$e2e_build/tests/e2e/p11-session-loop}" \
		PCSCD_SOCKET_HOLDER="${PCSCD_SOCKET_HOLDER:-$e2e_build/pcscd-socket-holder}" \
		timeout $((600 + n * 60)) "$E2E_HARNESS/netns-run" "$E2E_DIR/soak_real_scenario.sh" 2>&1 |
		tee "$work/scenario.out" | sed "s/^/  [$name] /"
}
run_variant stock "$OPENSC_STOCK_PREFIX" "$stock_restarts"
patched_ran=0
if e2e_variant_available "${OPENSC_PATCHED_PREFIX:-}"; then
	run_variant patched "$OPENSC_PATCHED_PREFIX" "$SOAK_RESTARTS"
	patched_ran=1
fi

# JSON: per variant, its status and per client the restarts; a summary per client.
tsv_json()
{
	local f=$1
	[ -r "$f" ] || { echo '[]'; return; }
	jq -R -s '
		split("\n") | map(select(length > 0) | split("\t")) | .[1:] |
		map({restart: (.[0] | tonumber), signal: .[1], client: .[2], stop_ms: (.[3] | tonumber),
		     back_ms: (.[4] | tonumber), first_ok_ms: (if .[5] == "-" then null else (.[5] | tonumber) end),
		     fail_in_gap: (.[6] | tonumber), fail_before_first_ok: (.[7] | tonumber),
		     fail_after_first_ok: (.[8] | tonumber),
		     login_needed: ((.[9] // "0") | tonumber), series_changes: ((.[10] // "0") | tonumber)})' "$f"
}
variant_json()
{
	local name=$1 work="$out/$1"
	local status=missing reason="" activation=""
	if [ -r "$work/result.env" ]; then
		status=$(e2e_result "$work/result.env" status)
		reason=$(e2e_result "$work/result.env" reason)
		activation=$(e2e_result "$work/result.env" activation)
	fi
	tsv_json "$work/restarts.tsv" | jq --arg v "$name" --arg s "$status" --arg r "$reason" --arg a "$activation" '
		{variant: $v, status: $s, reason: $r, activation: $a,
		 restarts: (map(.restart) | max // 0),
		 clients: (group_by(.client) | map({key: .[0].client, value: {
			restarts_clean: map(select(.first_ok_ms != null and .fail_before_first_ok == 0 and .fail_after_first_ok == 0
				and .login_needed == 0 and .series_changes == 0)) | length,
			login_needed: (map(.login_needed) | add), series_changes: (map(.series_changes) | add),
			restarts_recovered: map(select(.first_ok_ms != null)) | length,
			fail_in_gap: (map(.fail_in_gap) | add),
			fail_after_back: (map(.fail_before_first_ok + .fail_after_first_ok) | add),
			first_ok_ms: {p50: (map(.first_ok_ms | select(. != null)) | sort | if length > 0 then .[length / 2 | floor] else null end),
			              max: (map(.first_ok_ms | select(. != null)) | max)},
			per_restart: map(del(.client))}}) | from_entries)}'
}
{
	echo '{'
	echo '"stock":'; variant_json stock; echo ','
	echo '"patched":'; if [ $patched_ran = 1 ]; then variant_json patched; else echo null; fi
	echo '}'
} | jq . >"$out/soak-real.json"

# Table.
j="$out/soak-real.json"
cell()
{
	local v=$1 c=$2 what=$3
	jq -r --arg v "$v" --arg c "$c" --arg w "$what" '
		.[$v] as $x | if $x == null then "not run" elif $x.status != "done" then "setup failed"
		elif $x.clients[$c] == null then "-" else $x.clients[$c] as $k |
		if $w == "clean" then "\($k.restarts_clean) of \($x.restarts)"
		elif $w == "after" then "\($k.fail_after_back)"
		elif $w == "gap" then "\($k.fail_in_gap)"
		elif $w == "login" then "\($k.login_needed) / \($k.series_changes)"
		elif $w == "first" then (if $k.first_ok_ms.p50 == null then "never" else "\($k.first_ok_ms.p50) / \($k.first_ok_ms.max) ms" end)
		else "?" end end' "$j"
}
echo
printf '%-48s | %-24s | %-24s\n' "soak-real ($SOAK_ACTIVATION)" "stock OpenSC 0.27.1" "patched OpenSC 0.27.1"
printf '%-48s-+-%-24s-+-%-24s\n' "------------------------------------------------" "------------------------" "------------------------"
printf '%-48s | %-24s | %-24s\n' "pcscd restarts (TERM/KILL alternately)" "$(jq -r '.stock.restarts // "-"' "$j")" "$(jq -r '.patched.restarts // "-"' "$j")"
for c in $(jq -r '[.stock.clients // {}, .patched.clients // {} | keys[]] | unique | .[]' "$j"); do
	printf '%-48s | %-24s | %-24s\n' "$c: restarts with 0 failures after back" "$(cell stock "$c" clean)" "$(cell patched "$c" clean)"
	printf '%-48s | %-24s | %-24s\n' "$c: failed after service back" "$(cell stock "$c" after)" "$(cell patched "$c" after)"
	printf '%-48s | %-24s | %-24s\n' "$c: failed inside the gap (service down)" "$(cell stock "$c" gap)" "$(cell patched "$c" gap)"
	printf '%-48s | %-24s | %-24s\n' "$c: new login needed / token re-initialised" "$(cell stock "$c" login)" "$(cell patched "$c" login)"
	printf '%-48s | %-24s | %-24s\n' "$c: back -> first good op, p50 / max" "$(cell stock "$c" first)" "$(cell patched "$c" first)"
done
echo
echo "soak-real: JSON $j"

# Verdict.
rc=0
if [ "$(jq -r '.stock.status' "$j")" != done ]; then
	echo "FAIL: stock run did not complete: $(jq -r '.stock.reason' "$j")"; rc=1
elif [ "$(jq -r '[.stock.clients[] | .restarts_clean] | min' "$j")" = "$(jq -r '.stock.restarts' "$j")" ]; then
	echo "FAIL: stock OpenSC had every restart clean; the soak no longer reproduces OpenSC #3395"; rc=1
fi
if [ $patched_ran = 0 ]; then
	echo "soak-real: patched OpenSC not available"; rc=1
elif [ "$(jq -r '.patched.status' "$j")" != done ]; then
	echo "FAIL: patched run did not complete: $(jq -r '.patched.reason' "$j")"; rc=1
elif [ "$(jq -r '[.patched.clients[] | .restarts_clean] | min' "$j")" != "$(jq -r '.patched.restarts' "$j")" ] ||
	[ "$(jq -r '.patched.restarts' "$j")" != "$SOAK_RESTARTS" ]; then
	echo "FAIL: patched OpenSC: not every restart clean for every client (see the table)"; rc=1
else
	echo "ok: patched clean after all $SOAK_RESTARTS restarts for every client ($(jq -r '.patched.clients | keys | join(", ")' "$j"))"
fi
exit $rc
