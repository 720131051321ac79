#!/usr/bin/env bash
# One variant of the raw PKCS#11 scenario, run inside tests/harness/netns-run (own pcscd):
# p11-session-loop (one session, one login, the same session and key handle all along, a signature
# every 100 ms, each verified) while pcscd is killed (SIGTERM / SIGKILL alternately) and restarted.
#
# Environment: E2E_VARIANT, E2E_PREFIX, E2E_WORKDIR, E2E_BRIDGE_ARGS, E2E_PIN, P11_CLIENT (the
# p11-session-loop binary); optional E2E_RESTARTS (4), E2E_DEADLINE (5 s between restarts),
# E2E_DOWN (0.5 s). Writes E2E_WORKDIR/result.env (same keys as ssh_agent_scenario.sh).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../harness/lib.sh"

variant=${E2E_VARIANT:?}
prefix=${E2E_PREFIX:?}
restarts=${E2E_RESTARTS:-4}
window_s=${E2E_DEADLINE:-5}
down=${E2E_DOWN:-0.5}
module="$prefix/lib/opensc-pkcs11.so"
harness_init "${E2E_WORKDIR:?}"
W=$HARNESS_DIR
log="$W/p11.log"

write_result()
{
	{
		echo "variant=$variant"
		echo "status=$1"
		printf 'reason=%q\n' "${2:-}"
		echo "sig_ok=${sig_ok:-0}"
		echo "sig_fail=${sig_fail:-0}"
		echo "restarts=$HARNESS_RESTARTS"
		echo "restarts_planned=$restarts"
		echo "restarts_survived=${survived:-0}"
		echo "outage_fail=${outage_fail:-0}"
		echo "recovery_ms=(${recovery_ms[*]:-})"
		printf 'first_fail_reason=%q\n' "${first_fail_reason:-}"
	} >"$W/result.env"
}
setup_failed()
{
	harness_log "setup failed: $*"
	write_result setup-failed "$*"
	exit 0
}

harness_opensc_conf
[ -r "$module" ] || setup_failed "no PKCS#11 module $module"
[ -x "${P11_CLIENT:-}" ] || setup_failed "no p11-session-loop (P11_CLIENT='${P11_CLIENT:-}')"

harness_start_pcscd
# shellcheck disable=SC2086
harness_start_bridge ${E2E_BRIDGE_ARGS:?}
harness_wait_card "$prefix" 10 || setup_failed "$HARNESS_WAIT_ERROR"

harness_spawn p11-session-loop "$P11_CLIENT" --module "$module" --pin "${E2E_PIN:?}" --interval-ms 100 >"$log" 2>&1
client=$HARNESS_SPAWNED_PID
for _ in $(seq 1 300); do
	grep -q -e ' READY ' -e 'SETUP-FAIL' "$log" && break
	sleep 0.1
done
grep -q ' READY ' "$log" || setup_failed "client not ready: $(grep -m1 SETUP-FAIL "$log")"
harness_log "$variant: $(grep -m1 ' READY ' "$log" | cut -d' ' -f3-)"
sleep 1

backs=()
stops=()
for ((r = 1; r <= restarts; r++)); do
	if ((r % 2)); then sig=TERM; else sig=KILL; fi
	stops+=("$(harness_now_ms)")
	harness_restart_pcscd "$sig" "$down"
	backs+=("$HARNESS_BACK_MS")
	sleep "$window_s"
done
stops+=("$(harness_now_ms)")
harness_stop_pid "$client" TERM
grep -q ' summary ' "$log" || setup_failed "client died: $(tail -n 3 "$log" | tr '\n' ' ')"

# Analysis: restart r's window runs from its "service back" to the moment the next restart stops
# pcscd (or the end): the first good signature in it is the recovery, any failure after it means
# the restart was not survived.
sig_ok=$(grep -c ' OK ' "$log")
sig_fail=$(grep -c ' FAIL ' "$log")
first_fail_reason=$(grep -m1 ' FAIL ' "$log" | cut -d' ' -f3-)
survived=0
outage_fail=0
recovery_ms=()
for ((r = 0; r < ${#backs[@]}; r++)); do
	from=${backs[$r]}
	to=${stops[$((r + 1))]}
	read -r first_ok fails_before fails_after < <(awk -v from="$from" -v to="$to" '
		$1 >= from && $1 < to && ($2 == "OK" || $2 == "FAIL") {
			if ($2 == "OK" && first == "") first = $1
			else if ($2 == "FAIL") { if (first == "") before++; else after++ }
		}
		END { print (first == "" ? "-" : first), before + 0, after + 0 }' "$log")
	if [ "$first_ok" = - ]; then
		recovery_ms+=(-)
	else
		recovery_ms+=($((first_ok - from)))
		outage_fail=$((outage_fail + fails_before))
		[ "$fails_after" = 0 ] && survived=$((survived + 1))
	fi
done
write_result done
harness_log "$variant: signatures OK $sig_ok, failed $sig_fail, restarts survived $survived/$HARNESS_RESTARTS, recovery ms: ${recovery_ms[*]}"
