#!/usr/bin/env bash
# One variant of the raw PKCS#11 scenario, run inside tests/harness/netns-run (own pcscd):
# p11-session-loop (one session, one login, the same session and key handle all along, a signature
# every 100 ms, each verified) while pcscd is killed (SIGTERM / SIGKILL alternately) and restarted.
#
# With E2E_CLIENTS=N (default 1) N such processes, each with its own session and login, sign
# concurrently on the one token; a restart counts as survived only when every client survived it.
#
# Environment: E2E_VARIANT, E2E_PREFIX, E2E_WORKDIR, E2E_BRIDGE_ARGS, E2E_PIN, P11_CLIENT (the
# p11-session-loop binary); optional E2E_RESTARTS (4), E2E_DEADLINE (5 s between restarts),
# E2E_DOWN (0.5 s), E2E_CLIENTS (1), E2E_OPENSC_DEBUG (OpenSC debug level into opensc-debug.log),
# P11_CLIENT_ARGS (more options for the client, e.g. --no-event-thread for nss-sign-loop).
# E2E_POLL_SLOTS (0; 1: the client calls C_GetSlotList(CK_FALSE, NULL) before every signature).
# Writes E2E_WORKDIR/result.env (same keys as ssh_agent_scenario.sh, plus clients and the per-client
# arrays client_sig_ok, client_sig_fail, client_restarts_survived, client_first_fail_reason, and
# the clients' LOGIN-NEEDED / SERIES / EVENT / EVENT-ERROR lines counted as login_needed,
# series_changes, events, event_errors). P11_CLIENT may be any client that takes --module, --pin,
# --interval-ms and prints p11-session-loop's lines (nss-sign-loop, tls_handshake_loop.sh); the
# clients' logs are p11.log (one client) or p11-1.log, p11-2.log, ...
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../harness/lib.sh"

variant=${E2E_VARIANT:?}
prefix=${E2E_PREFIX:?}
restarts=${E2E_RESTARTS:-4}
window_s=${E2E_DEADLINE:-5}
down=${E2E_DOWN:-0.5}
nclients=${E2E_CLIENTS:-1}
module="$prefix/lib/opensc-pkcs11.so"
harness_init "${E2E_WORKDIR:?}"
W=$HARNESS_DIR
client_log() { if [ "$nclients" = 1 ]; then echo "$W/p11.log"; else echo "$W/p11-$1.log"; fi; }

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
		echo "clients=$nclients"
		echo "client_sig_ok=(${client_sig_ok[*]:-})"
		echo "client_sig_fail=(${client_sig_fail[*]:-})"
		echo "client_restarts_survived=(${client_survived[*]:-})"
		echo "client_fail_before_restart=(${client_fail_early[*]:-})"
		echo "client_setup_retries=(${client_setup_retries[*]:-})"
		echo "client_first_fail_reason=(${client_first_fail[*]+$(printf '%q ' "${client_first_fail[@]}")})"
		echo "login_needed=${login_needed:-0}"
		echo "series_changes=${series_changes:-0}"
		echo "events=${events:-0}"
		echo "event_errors=${event_errors:-0}"
	} >"$W/result.env"
}
setup_failed()
{
	harness_log "setup failed: $*"
	write_result setup-failed "$*"
	exit 0
}

client_sig_ok=() client_sig_fail=() client_survived=() client_first_fail=() client_fail_early=()
client_setup_retries=()
if [ -n "${E2E_OPENSC_DEBUG:-}" ]; then
	harness_opensc_conf "$(printf '\tdebug = %s;\n\tdebug_file = %s/opensc-debug.log;\n' "$E2E_OPENSC_DEBUG" "$W")"
else
	harness_opensc_conf
fi
[ -r "$module" ] || setup_failed "no PKCS#11 module $module"
[ -x "${P11_CLIENT:-}" ] || setup_failed "no p11-session-loop (P11_CLIENT='${P11_CLIENT:-}')"

harness_start_pcscd
# shellcheck disable=SC2086
harness_start_bridge ${E2E_BRIDGE_ARGS:?}
harness_wait_card "$prefix" 10 || setup_failed "$HARNESS_WAIT_ERROR"

# The clients start one after the other (each one READY before the next logs in). A client that
# is not the first may fail its setup when an earlier client's signature replaces its SM session
# between its card init and its login (stock OpenSC does not heal that clash): it is started again,
# up to 4 more times, and counted in client_setup_retries.
clients=()
for ((c = 1; c <= nclients; c++)); do
	log=$(client_log "$c")
	retries=0
	while :; do
		poll_args=()
		[ "${E2E_POLL_SLOTS:-0}" = 0 ] || poll_args=(--poll-slots "$E2E_POLL_SLOTS")
		# shellcheck disable=SC2086 # P11_CLIENT_ARGS: more options for the client, split on spaces
		harness_spawn "p11-session-loop-$c" "$P11_CLIENT" --module "$module" --pin "${E2E_PIN:?}" --interval-ms 100 \
			"${poll_args[@]}" ${P11_CLIENT_ARGS:-} >"$log" 2>&1
		for _ in $(seq 1 300); do
			grep -q -e ' READY ' -e 'SETUP-FAIL' "$log" && break
			sleep 0.1
		done
		grep -q ' READY ' "$log" && break
		harness_stop_pid "$HARNESS_SPAWNED_PID" TERM
		if [ "$c" = 1 ] || [ $retries -ge 4 ]; then
			setup_failed "client $c not ready: $(grep -m1 SETUP-FAIL "$log")"
		fi
		retries=$((retries + 1))
		harness_log "$variant: client $c setup failed ($(grep -m1 SETUP-FAIL "$log" | cut -d' ' -f3-)); starting it again"
		cat "$log" >>"$log.setup-failed"
	done
	clients+=("$HARNESS_SPAWNED_PID")
	client_setup_retries+=("$retries")
	harness_log "$variant: client $c: $(grep -m1 ' READY ' "$log" | cut -d' ' -f3-)"
done
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
for ((c = 1; c <= nclients; c++)); do
	harness_stop_pid "${clients[$((c - 1))]}" TERM
done
for ((c = 1; c <= nclients; c++)); do
	log=$(client_log "$c")
	grep -q ' summary ' "$log" || setup_failed "client $c died: $(tail -n 3 "$log" | tr '\n' ' ')"
done

# Analysis, per client: restart r's window runs from its "service back" to the moment the next
# restart stops pcscd (or the end): the first good signature in it is the recovery, any failure
# after it, or a LOGIN-NEEDED line from the stop on, means the restart was not survived. Over all
# clients: a restart is survived when every client survived it, its recovery time is the slowest
# client's.
sig_ok=0
sig_fail=0
first_fail_reason=""
outage_fail=0
declare -a all_ok=() all_first=()
for ((r = 0; r < ${#backs[@]}; r++)); do all_ok[r]=1 all_first[r]=0; done
for ((c = 1; c <= nclients; c++)); do
	log=$(client_log "$c")
	ok=$(grep -c ' OK ' "$log")
	fail=$(grep -c ' FAIL ' "$log")
	first=$(grep -m1 ' FAIL ' "$log" | cut -d' ' -f3-)
	client_sig_ok+=("$ok")
	client_sig_fail+=("$fail")
	client_first_fail+=("$first")
	# before the first restart: only the other clients can disturb this one
	client_fail_early+=("$(awk -v to="${stops[0]}" '$1 < to && $2 == "FAIL"' "$log" | wc -l)")
	sig_ok=$((sig_ok + ok))
	sig_fail=$((sig_fail + fail))
	[ -z "$first_fail_reason" ] && [ -n "$first" ] && first_fail_reason=${first}$([ "$nclients" = 1 ] || echo " (client $c)")
	survived_c=0
	for ((r = 0; r < ${#backs[@]}; r++)); do
		from=${backs[$r]}
		to=${stops[$((r + 1))]}
		# A caller that had to log in again (LOGIN-NEEDED, from the moment pcscd was stopped) did not
		# survive the restart either, whatever its signatures did.
		read -r first_ok fails_before fails_after logins < <(awk -v down="${stops[$r]}" -v from="$from" -v to="$to" '
			$1 >= down && $1 < to && $2 == "LOGIN-NEEDED" { logins++ }
			$1 >= from && $1 < to && ($2 == "OK" || $2 == "FAIL") {
				if ($2 == "OK" && first == "") first = $1
				else if ($2 == "FAIL") { if (first == "") before++; else after++ }
			}
			END { print (first == "" ? "-" : first), before + 0, after + 0, logins + 0 }' "$log")
		if [ "$first_ok" = - ]; then
			all_ok[r]=0
			all_first[r]=-
		else
			outage_fail=$((outage_fail + fails_before))
			if [ "$fails_after" = 0 ] && [ "$logins" = 0 ]; then survived_c=$((survived_c + 1)); else all_ok[r]=0; fi
			if [ "${all_first[r]}" != - ] && [ $((first_ok - from)) -gt "${all_first[r]}" ]; then
				all_first[r]=$((first_ok - from))
			fi
		fi
	done
	client_survived+=("$survived_c")
done
# Caller-side events (nss-sign-loop): NSS asked for the PIN again or lost the login, NSS
# re-initialised the token (slot series), token events and errors seen by the event thread.
login_needed=0 series_changes=0 events=0 event_errors=0
for ((c = 1; c <= nclients; c++)); do
	log=$(client_log "$c")
	login_needed=$((login_needed + $(grep -c ' LOGIN-NEEDED ' "$log")))
	series_changes=$((series_changes + $(grep -c ' SERIES ' "$log")))
	events=$((events + $(grep -c ' EVENT present=' "$log")))
	event_errors=$((event_errors + $(grep -c ' EVENT-ERROR ' "$log")))
done
survived=0
recovery_ms=()
for ((r = 0; r < ${#backs[@]}; r++)); do
	recovery_ms+=("${all_first[r]}")
	[ "${all_ok[r]}" = 1 ] && survived=$((survived + 1))
done
write_result done
harness_log "$variant: signatures OK $sig_ok, failed $sig_fail, restarts survived $survived/$HARNESS_RESTARTS, recovery ms: ${recovery_ms[*]}"
[ "$nclients" = 1 ] || harness_log "$variant: per client: OK (${client_sig_ok[*]}), failed (${client_sig_fail[*]}), restarts survived (${client_survived[*]})"
