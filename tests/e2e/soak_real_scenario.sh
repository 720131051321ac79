#!/usr/bin/env bash
# One variant of `make soak-real`, inside tests/harness/netns-run (own pcscd): SOAK_RESTARTS pcscd
# restarts alternating SIGTERM and SIGKILL while ssh-agent (`ssh-add -s` once) and long-lived
# PKCS#11 clients keep signing. After each "service back": signatures through the agent until the
# first good one (up to SOAK_DEADLINE s), then SOAK_SIGS more that must all succeed; the background
# clients sign every 100 ms all along, and the next restart waits until each of them has completed
# an operation after "service back".
#
# Background clients (each prints p11-session-loop's lines: "<ms> READY ...", "<ms> OK ...",
# "<ms> FAIL ...", "<ms> summary ..."): SOAK_CLIENTS, a space-separated list of NAME=PROGRAM, each
# started as `PROGRAM --module M --pin P --interval-ms 100`. Default: "p11=$P11_CLIENT", plus
# "nss=$SOAK_NSS_CLIENT" when that is set (the NSS client's hook; tests/e2e/README.md).
#
# Environment: E2E_VARIANT, E2E_PREFIX, E2E_WORKDIR, E2E_BRIDGE_ARGS, E2E_PIN, P11_CLIENT,
# E2E_OPENSC_DEBUG (OpenSC debug level into opensc-debug.log), SOAK_RESTARTS (50), SOAK_SIGS (3), SOAK_DEADLINE (10), SOAK_DOWN (0.5), SOAK_ACTIVATION (restart:
# the harness starts pcscd again; socket: pcscd-socket-holder, the next connection starts it).
# Writes E2E_WORKDIR/restarts.tsv (one line per restart and client) and E2E_WORKDIR/result.env.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../harness/lib.sh"

variant=${E2E_VARIANT:?}
prefix=${E2E_PREFIX:?}
restarts=${SOAK_RESTARTS:-50}
sigs=${SOAK_SIGS:-3}
deadline_s=${SOAK_DEADLINE:-10}
down=${SOAK_DOWN:-0.5}
activation=${SOAK_ACTIVATION:-restart}
module="$prefix/lib/opensc-pkcs11.so"
harness_init "${E2E_WORKDIR:?}"
W=$HARNESS_DIR
tsv="$W/restarts.tsv"
siglog="$W/signatures.log"
: >"$siglog"
printf 'restart\tsignal\tclient\tstop_ms\tback_ms\tfirst_ok_ms\tfail_in_gap\tfail_before_first_ok\tfail_after_first_ok\tlogin_needed\tseries_changes\n' >"$tsv"

write_result()
{
	{
		echo "variant=$variant"
		echo "status=$1"
		printf 'reason=%q\n' "${2:-}"
		echo "activation=$activation"
		echo "restarts=${#stops[@]}"
		echo "restarts_planned=$restarts"
		echo "clients=(${client_names[*]:-})"
	} >"$W/result.env"
}
setup_failed()
{
	harness_log "setup failed: $*"
	write_result setup-failed "$*"
	exit 0
}
stops=() backs=() client_names=()

if [ -n "${E2E_OPENSC_DEBUG:-}" ]; then
	harness_opensc_conf "$(printf '\tdebug = %s;\n\tdebug_file = %s/opensc-debug.log;\n' "$E2E_OPENSC_DEBUG" "$W")"
else
	harness_opensc_conf
fi
[ -r "$module" ] || setup_failed "no PKCS#11 module $module"
if [ "$activation" = socket ]; then
	[ -x "$(harness_holder)" ] || setup_failed "no pcscd-socket-holder ($(harness_holder))"
	harness_start_socket_holder
else
	harness_start_pcscd
fi
# shellcheck disable=SC2086
harness_start_bridge ${E2E_BRIDGE_ARGS:?}
harness_wait_card "$prefix" 10 || setup_failed "$HARNESS_WAIT_ERROR"

# ssh-agent, as in ssh_agent_scenario.sh: the PIN once, through SSH_ASKPASS.
export SSH_AUTH_SOCK="$W/agent.sock"
harness_spawn ssh-agent ssh-agent -D -a "$SSH_AUTH_SOCK" -P "$(readlink -f "$module")" >"$W/ssh-agent.log" 2>&1
for _ in $(seq 1 100); do [ -S "$SSH_AUTH_SOCK" ] && break; sleep 0.05; done
[ -S "$SSH_AUTH_SOCK" ] || setup_failed "ssh-agent socket did not appear"
printf '#!/bin/sh\nprintf "%%s\\n" "$E2E_PIN"\n' >"$W/askpass"
chmod 700 "$W/askpass"
export E2E_PIN SSH_ASKPASS="$W/askpass" SSH_ASKPASS_REQUIRE=force
timeout 60 ssh-add -s "$module" </dev/null >"$W/ssh-add.log" 2>&1 ||
	setup_failed "ssh-add -s failed: $(tr '\r\n' '  ' <"$W/ssh-add.log")"
ssh-add -L >"$W/agent-keys.pub" 2>>"$W/ssh-add.log" || setup_failed "the agent lists no key from the token"
head -n1 "$W/agent-keys.pub" >"$W/id.pub"
echo "soak@opensc-recovery $(cut -d' ' -f1,2 "$W/id.pub")" >"$W/allowed_signers"

attempt=0
# One signature through the agent, verified; "<ms> OK" / "<ms> FAIL ..." into signatures.log.
sign_once()
{
	attempt=$((attempt + 1))
	local msg="$W/msg" out
	printf 'opensc-recovery soak-real %s attempt %d\n' "$variant" "$attempt" >"$msg"
	rm -f "$msg.sig"
	if ! out=$(timeout 30 ssh-keygen -q -Y sign -f "$W/id.pub" -n soak "$msg" 2>&1) ||
		! out=$(ssh-keygen -Y verify -f "$W/allowed_signers" -I soak@opensc-recovery -n soak -s "$msg.sig" <"$msg" 2>&1); then
		echo "$(harness_now_ms) FAIL attempt=$attempt $(echo "$out" | tr '\r\n' '  ')" >>"$siglog"
		return 1
	fi
	echo "$(harness_now_ms) OK attempt=$attempt" >>"$siglog"
	return 0
}
for ((i = 0; i < sigs; i++)); do
	sign_once || setup_failed "baseline signature through the agent failed: $(tail -n1 "$siglog")"
done

# Background clients.
clients=${SOAK_CLIENTS:-p11=${P11_CLIENT:-}${SOAK_NSS_CLIENT:+ nss=$SOAK_NSS_CLIENT}}
client_pids=()
for spec in $clients; do
	name=${spec%%=*} prog=${spec#*=}
	[ -x "$prog" ] || setup_failed "client $name: no program '$prog'"
	harness_spawn "client-$name" "$prog" --module "$module" --pin "$E2E_PIN" --interval-ms 100 >"$W/client-$name.log" 2>&1
	client_pids+=("$HARNESS_SPAWNED_PID")
	client_names+=("$name")
	for _ in $(seq 1 300); do
		grep -q -e ' READY' -e 'SETUP-FAIL' "$W/client-$name.log" && break
		sleep 0.1
	done
	grep -q ' READY' "$W/client-$name.log" || setup_failed "client $name not ready: $(grep -m1 SETUP-FAIL "$W/client-$name.log")"
done
harness_log "$variant: agent and ${#client_names[@]} background client(s) (${client_names[*]}) signing; $restarts restarts ($activation)"
sleep 1

for ((r = 1; r <= restarts; r++)); do
	if ((r % 2)); then sig=TERM; else sig=KILL; fi
	if [ "$activation" = socket ]; then
		harness_socket_stop_pcscd "$sig"
		stops+=("$HARNESS_STOP_MS")
		sleep "$down"
		# The next connection starts pcscd: the agent's signature below, or a background client.
		starts=$(awk '$1 == "starts" { print $2 }' "$HARNESS_DIR/holder.state")
		back=-
	else
		stops+=("$(harness_now_ms)")
		harness_restart_pcscd "$sig" "$down"
		back=$HARNESS_BACK_MS
	fi
	t0=$(harness_now_ms)
	while (($(harness_now_ms) < t0 + deadline_s * 1000)); do
		sign_once && break
		sleep 0.1
	done
	for ((i = 0; i < sigs; i++)); do sign_once || true; done
	if [ "$activation" = socket ]; then
		if harness_socket_wait_start $((starts + 1)) 1; then back=$HARNESS_BACK_MS; else back=$t0; fi
	fi
	backs+=("$back")
	# Every background client gets its chance too: the next restart waits (up to SOAK_DEADLINE s)
	# until each one has completed an operation after "service back", good or not.
	for name in "${client_names[@]}"; do
		while (($(harness_now_ms) < t0 + deadline_s * 1000)); do
			awk -v b="$back" '$1 >= b && ($2 == "OK" || $2 == "FAIL") { found = 1 } END { exit !found }' \
				"$W/client-$name.log" && break
			sleep 0.05
		done
	done
	if [ -t 1 ] || ((r % 10 == 0)) || ((r == restarts)); then harness_log "$variant: restart $r/$restarts done"; fi
done
end=$(harness_now_ms)
for pid in "${client_pids[@]}"; do harness_stop_pid "$pid" TERM; done

# Per restart and client: window from its stop to the next stop.
stops_end=("${stops[@]}" "$end")
analyse()
{
	local name=$1 file=$2 r from to back
	for ((r = 0; r < ${#stops[@]}; r++)); do
		from=${stops_end[$r]} to=${stops_end[$((r + 1))]} back=${backs[$r]}
		awk -v r=$((r + 1)) -v sig="$( ((r % 2)) && echo KILL || echo TERM)" -v name="$name" \
			-v from="$from" -v back="$back" -v to="$to" '
			# A client that needed a new login (LOGIN-NEEDED: the NSS client refuses it) or saw
			# its token re-initialised (SERIES: NSS considered it removed) from the stop on did not
			# survive the restart, even when its signatures succeed afterwards.
			$1 >= from && $1 < to && $2 == "LOGIN-NEEDED" { l++ }
			$1 >= from && $1 < to && $2 == "SERIES" { sc++ }
			$1 >= from && $1 < to && ($2 == "OK" || $2 == "FAIL") {
				if ($1 < back) { if ($2 == "FAIL") g++; next }
				if ($2 == "OK" && first == "") { first = $1; next }
				if ($2 == "FAIL") { if (first == "") b++; else a++ }
			}
			END { printf "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", r, sig, name, from, back,
				(first == "" ? "-" : first - back), g, b, a, l, sc }' "$file" >>"$tsv"
	done
}
analyse ssh-agent "$siglog"
for name in "${client_names[@]}"; do analyse "$name" "$W/client-$name.log"; done
write_result done
harness_log "$variant: done; per restart: $tsv"
