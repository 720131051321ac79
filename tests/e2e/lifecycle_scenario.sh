#!/usr/bin/env bash
# One variant of a service-lifecycle scenario, run inside tests/harness/netns-run (own pcscd):
# p11-session-loop (one session, one login, a verified signature every 100 ms) while the service
# goes away and comes back in one of the ways it really does (E2E_LIFECYCLE):
#
#   socket      socket activation as Debian's pcscd.socket: pcscd-socket-holder keeps
#               /run/pcscd/pcscd.comm; pcscd is killed (SIGTERM / SIGKILL alternately) and NOT started
#               by the harness: the next client connection (the module's own re-establish) starts it,
#               its connection queued on the held socket. Every failure after the kill counts.
#               E2E_KILL_AT (a list, one word per event, repeated): idle (default: whenever the signal
#               lands; an operation is in flight about one time in five with a signature every
#               100 ms), in-flight (an APDU of the client is in flight: the bridge is held still with
#               SIGSTOP for 0.3 s, then pcscd dies, then the card goes on), queued (a request of the
#               client is written but unread: right after a signature pcscd is held still with
#               SIGSTOP for 0.3 s, so the next C_Sign's SCardBeginTransaction waits unread, then dies;
#               the kernel resets the connection and libpcsclite reports SCARD_W_SECURITY_VIOLATION).
#   stop-start  a package upgrade: SIGTERM, the service stays down E2E_GAP s (3), then starts again;
#               failures inside the gap are counted apart from those after "service back".
#   sigstop     a hung service: SIGSTOP for E2E_HANG s (10), then SIGCONT. Measures the client's CPU
#               time during the hang (a busy loop would use ~all of it) and when signing resumes.
#   card-replug the token leaves and comes back: the vpcd bridge disconnects (vpcd reports the card
#               removed), stays away E2E_GAP s (1), and connects again with the same card image (same
#               token serial). pcscd keeps running and the reader stays listed (the reader itself
#               leaving: reader-replug below). The client re-opens its session and logs in
#               again when the token is gone (p11-session-loop --reopen, as NSS does); counted: reopens,
#               reopens_same_token (same serial and key), reopen_failures (token not back yet).
#   reader-replug the token's READER leaves pcscd's reader list and comes back, as when a USB token
#               (its own reader) is pulled and plugged in again: the reader is a made-up USB device
#               that Debian's pcscd handles through its libudev hotplug code (tests/e2e/usb_reader.sh);
#               udev "remove", E2E_GAP s (1), udev "add". pcscd keeps running; the card image is the
#               same. E2E_REPLUG_SERIAL=other: the device comes back with another USB serial, so its
#               reader has another name; none: no USB serial at all (the name has none); index: the
#               same USB serial, but another reader of the same driver (another bus, no card) is
#               plugged in while the token is out, so the token's reader comes back with another
#               index in its name ("… 01 00", pcscd's RFSetReaderName).
#               E2E_REPLUG_CARD_ARGS: bridge arguments for the token that is plugged in from the
#               first replug on (another token in a reader of the same name). The client keeps its
#               one session (no --reopen, as ssh-agent) unless E2E_P11_REOPEN=1.
#
# Environment: E2E_VARIANT, E2E_PREFIX, E2E_WORKDIR, E2E_BRIDGE_ARGS, E2E_PIN, P11_CLIENT, E2E_LIFECYCLE;
# optional E2E_EVENTS (2), E2E_WINDOW (5 s after each event), E2E_GAP, E2E_HANG, E2E_OPENSC_DEBUG.
# Writes E2E_WORKDIR/result.env: ops_ok, ops_fail, fail_in_gap (between the event and "service back"),
# fail_after_back, events, events_recovered (a good signature after the event, none failing after it),
# general_error_in_gap (of fail_in_gap, C_Sign & co. answering CKR_GENERAL_ERROR: a hard failure to
# NSS and p11-kit, where CKR_TOKEN_NOT_PRESENT means "away for now"), fail_rv_in_gap (per event: the
# failures in the gap by CK_RV, e.g. 0x5:3,0xe0:9), connect_unavailable (reader-replug: the client's
# SCardConnect calls pcscd answered SCARD_E_READER_UNAVAILABLE while it removed the reader),
# first_ok_ms (per event: from "service back" to the first good signature), back_ms (per event: from
# the event to "service back"), and per mode: activations (socket: pcscd starts caused by clients),
# cpu_ms (sigstop: client CPU during the hang), max_gap_ms (sigstop: longest time between two good
# signatures).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../harness/lib.sh"

variant=${E2E_VARIANT:?}
prefix=${E2E_PREFIX:?}
mode=${E2E_LIFECYCLE:?}
events=${E2E_EVENTS:-2}
window_s=${E2E_WINDOW:-5}
kill_at=${E2E_KILL_AT:-idle}
case $mode in
socket) gap=0 ;;
stop-start) gap=${E2E_GAP:-3} ;;
sigstop) gap=${E2E_HANG:-10} ;;
card-replug) gap=${E2E_GAP:-1} ;;
reader-replug) gap=${E2E_GAP:-1} ;;
*) echo "unknown E2E_LIFECYCLE '$mode'" >&2; exit 2 ;;
esac
module="$prefix/lib/opensc-pkcs11.so"
harness_init "${E2E_WORKDIR:?}"
W=$HARNESS_DIR
log="$W/p11.log"
elog="$W/events.log"
: >"$elog"

stops=() backs=() cpu=()
write_result()
{
	{
		echo "variant=$variant"
		echo "mode=$mode"
		printf 'kill_at=%q\n' "$kill_at"
		echo "status=$1"
		printf 'reason=%q\n' "${2:-}"
		echo "events=${#stops[@]}"
		echo "events_planned=$events"
		echo "gap_s=$gap"
		echo "ops_ok=${ops_ok:-0}"
		echo "ops_fail=${ops_fail:-0}"
		echo "fail_in_gap=${fail_in_gap:-0}"
		echo "fail_after_back=${fail_after_back:-0}"
		echo "general_error_in_gap=${general_in_gap:-0}"
		echo "fail_rv_in_gap=(${fail_rv[*]:-})"
		echo "events_recovered=${recovered:-0}"
		echo "first_ok_ms=(${first_ok[*]:-})"
		echo "back_ms=(${back_ms[*]:-})"
		echo "activations=${activations:-0}"
		echo "cpu_ms=(${cpu[*]:-})"
		echo "max_gap_ms=${max_gap_ms:-0}"
		echo "reopens=${reopens:-0}"
		echo "reopens_same_token=${reopens_same:-0}"
		echo "reopens_other_token=${reopens_other:-0}"
		echo "reopen_failures=${reopen_fail:-0}"
		echo "wrong_key_sigs=${wrong_key:-0}"
		echo "readers_removed=${readers_removed:-0}"
		echo "readers_added=${readers_added:-0}"
		printf 'reader_names=%q\n' "${reader_names:-}"
		echo "connect_unavailable=${connect_unavailable:-0}"
		printf 'first_fail_reason=%q\n' "${first_fail_reason:-}"
	} >"$W/result.env"
}
setup_failed()
{
	harness_log "setup failed: $*"
	write_result setup-failed "$*"
	exit 0
}

if [ -n "${E2E_OPENSC_DEBUG:-}" ]; then
	harness_opensc_conf "$(printf '\tdebug = %s;\n\tdebug_file = %s/opensc-debug.log;\n' "$E2E_OPENSC_DEBUG" "$W")"
else
	harness_opensc_conf
fi
[ -r "$module" ] || setup_failed "no PKCS#11 module $module"
[ -x "${P11_CLIENT:-}" ] || setup_failed "no p11-session-loop (P11_CLIENT='${P11_CLIENT:-}')"
if [ "$mode" = socket ]; then
	[ -x "$(harness_holder)" ] || setup_failed "no pcscd-socket-holder ($(harness_holder); make pcscd-socket-holder)"
	harness_start_socket_holder
elif [ "$mode" = reader-replug ]; then
	. "$here/usb_reader.sh"
	usb_reader_setup
	harness_start_pcscd
	usb_reader_mark
	usb_serial=REENUM0001
	[ "${E2E_REPLUG_SERIAL:-same}" = none ] && usb_serial=
	usb_reader_plug "$usb_serial"
	usb_reader_wait_log 'Using the .* polling thread' 5 || setup_failed "pcscd did not add the USB reader (pcscd.log)"
else
	harness_start_pcscd
fi
# shellcheck disable=SC2086
harness_start_bridge ${E2E_BRIDGE_ARGS:?}
harness_wait_card "$prefix" 10 || setup_failed "$HARNESS_WAIT_ERROR"

# card-replug: the client re-opens its session and logs in again when the token is gone, as NSS does
# (E2E_P11_REOPEN=0: never, like ssh-agent).
reopen=()
if [ "${E2E_P11_REOPEN:-$([ "$mode" = card-replug ] && echo 1 || echo 0)}" = 1 ]; then reopen=(--reopen); fi
harness_spawn p11-session-loop "$P11_CLIENT" --module "$module" --pin "${E2E_PIN:?}" --interval-ms 100 "${reopen[@]}" >"$log" 2>&1
client=$HARNESS_SPAWNED_PID
for _ in $(seq 1 300); do
	grep -q -e ' READY ' -e 'SETUP-FAIL' "$log" && break
	sleep 0.1
done
grep -q ' READY ' "$log" || setup_failed "client not ready: $(grep -m1 SETUP-FAIL "$log")"
harness_log "$variant: $(grep -m1 ' READY ' "$log" | cut -d' ' -f3-)"
sleep 1

# CPU time (utime + stime) of a process in ms; all its threads.
cpu_ms_of()
{
	local t
	t=$(awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	echo $((t * 1000 / $(getconf CLK_TCK)))
}

starts_before=1
for ((e = 1; e <= events; e++)); do
	if ((e % 2)); then sig=TERM; else sig=KILL; fi
	case $mode in
	socket)
		read -r -a kill_ats <<<"$kill_at"
		at=${kill_ats[$(((e - 1) % ${#kill_ats[@]}))]}
		PCSCD_PID=$(harness_socket_pcscd_pid)
		[ "$PCSCD_PID" = 0 ] && at="idle (no pcscd running)" # stock: nobody re-activated it
		case $at in
		in-flight)
			# pcscd dies in the middle of an operation: the card (the bridge) stops answering, the
			# client's next C_Sign blocks in SCardTransmit inside its transaction, then pcscd dies.
			kill -STOP "$BRIDGE_PID"
			sleep 0.3
			;;
		queued)
			# pcscd dies with a request of the client unread in its socket: right after a signature
			# (the client sleeps 100 ms) pcscd stops reading (SIGSTOP); the client's next C_Sign
			# writes its first call (SCardBeginTransaction) and waits; then pcscd dies.
			n0=$(grep -c ' OK ' "$log")
			for ((i = 0; i < 500; i++)); do
				[ "$(grep -c ' OK ' "$log")" -gt "$n0" ] && break
				sleep 0.005
			done
			kill -STOP "$PCSCD_PID"
			sleep 0.3
			;;
		esac
		harness_socket_stop_pcscd "$sig"
		[ "$at" = in-flight ] && kill -CONT "$BRIDGE_PID"
		stops+=("$HARNESS_STOP_MS")
		echo "$HARNESS_STOP_MS event=$e pcscd SIG$sig (socket held; $at)" >>"$elog"
		# Nobody starts pcscd here: the next connection to the held socket does.
		if harness_socket_wait_start $((starts_before + 1)) "$window_s"; then
			starts_before=$((starts_before + 1))
			backs+=("$HARNESS_BACK_MS")
			echo "$HARNESS_BACK_MS event=$e pcscd started by a connection (pid $PCSCD_PID)" >>"$elog"
			sleep "$window_s"
		else
			backs+=(-)
			echo "$(harness_now_ms) event=$e no connection re-activated pcscd within ${window_s}s" >>"$elog"
		fi
		;;
	stop-start)
		stops+=("$(harness_now_ms)")
		echo "${stops[-1]} event=$e pcscd SIGTERM, down ${gap}s" >>"$elog"
		harness_restart_pcscd TERM "$gap"
		backs+=("$HARNESS_BACK_MS")
		echo "$HARNESS_BACK_MS event=$e pcscd back" >>"$elog"
		sleep "$window_s"
		;;
	sigstop)
		c0=$(cpu_ms_of "$client")
		stops+=("$(harness_now_ms)")
		kill -STOP "$PCSCD_PID"
		echo "${stops[-1]} event=$e pcscd SIGSTOP for ${gap}s" >>"$elog"
		sleep "$gap"
		cpu+=($(($(cpu_ms_of "$client") - c0)))
		kill -CONT "$PCSCD_PID"
		backs+=("$(harness_now_ms)")
		echo "${backs[-1]} event=$e pcscd SIGCONT (client CPU during the hang: ${cpu[-1]} ms)" >>"$elog"
		sleep "$window_s"
		;;
	card-replug)
		stops+=("$(harness_now_ms)")
		harness_stop_bridge
		echo "${stops[-1]} event=$e token out (bridge disconnected) for ${gap}s" >>"$elog"
		sleep "$gap"
		# shellcheck disable=SC2086
		harness_start_bridge ${E2E_BRIDGE_ARGS:?}
		backs+=("$(harness_now_ms)")
		echo "${backs[-1]} event=$e token back (bridge connected again, same card image)" >>"$elog"
		sleep "$window_s"
		;;
	reader-replug)
		serial=$usb_serial
		[ "${E2E_REPLUG_SERIAL:-same}" = other ] && serial=REENUM000$((e + 1))
		# right after a poll of pcscd's polling thread: the removal then takes a whole poll period,
		# reproducibly, with the reader listed but unavailable (usb_reader.sh usb_reader_wait_poll)
		usb_reader_wait_poll 2 || harness_log "no poll of pcscd's polling thread seen within 2 s"
		stops+=("$(harness_now_ms)")
		usb_reader_mark
		usb_reader_unplug
		usb_reader_wait_log 'Removing USB device' 5 || harness_log "pcscd did not log the reader's removal"
		echo "${stops[-1]} event=$e reader unplugged (udev remove) for ${gap}s" >>"$elog"
		if [ "${E2E_REPLUG_SERIAL:-same}" = index ] && [ "$e" = 1 ]; then
			usb_reader_plug REENUMB0001 2
			echo "$(harness_now_ms) event=$e another reader of the same driver plugged in (bus 2, stays)" >>"$elog"
		fi
		if [ -n "${E2E_REPLUG_CARD_ARGS:-}" ]; then
			# another token: the bridge serves the other card image from now on
			harness_stop_bridge
			# shellcheck disable=SC2086
			harness_start_bridge $E2E_REPLUG_CARD_ARGS
			echo "$(harness_now_ms) event=$e the token plugged in next is another one ($E2E_REPLUG_CARD_ARGS)" >>"$elog"
		fi
		sleep "$gap"
		usb_reader_mark
		usb_reader_plug "$serial"
		usb_reader_wait_log 'Using the .* polling thread' 5 || harness_log "pcscd did not add the reader again"
		backs+=("$(harness_now_ms)")
		echo "${backs[-1]} event=$e reader plugged in again (udev add, USB serial $serial): $(grep 'Adding USB device\|RFAddReader' "$W/pcscd.log" | tail -n 1 | cut -c1-160)" >>"$elog"
		sleep "$window_s"
		;;
	esac
	harness_log "$variant: $mode event $e done"
done
end=$(harness_now_ms)
if [ "$mode" = socket ]; then activations=$(($(_harness_socket_starts) - 1)); fi
harness_stop_pid "$client" TERM
grep -q ' summary ' "$log" || setup_failed "client died: $(tail -n 3 "$log" | tr '\n' ' ')"

# Analysis. Event e's window: from its stop to the next stop (or the end); "back" inside it.
ops_ok=$(grep -c ' OK ' "$log")
ops_fail=$(grep -c ' FAIL ' "$log")
first_fail_reason=$(grep -m1 ' FAIL ' "$log" | cut -d' ' -f3-)
wrong_key=$(grep -c ' FAIL verify ' "$log") # C_Sign returned a signature the first key does not verify
fail_in_gap=0 fail_after_back=0 recovered=0 general_in_gap=0
first_ok=() back_ms=() fail_rv=()
stops+=("$end")
for ((e = 0; e < ${#backs[@]}; e++)); do
	from=${stops[$e]} to=${stops[$((e + 1))]} back=${backs[$e]}
	if [ "$back" = - ]; then back=$to; back_ms+=(-); else back_ms+=($((back - from))); fi
	# the client's lines: "<ms> OK", "<ms> FAIL <what> rv=0x<CK_RV> n=<count>"
	read -r in_gap after first gen rvs < <(awk -v from="$from" -v back="$back" -v to="$to" '
		$1 >= from && $1 < to && ($2 == "OK" || $2 == "FAIL") {
			if ($2 == "FAIL") {
				if ($1 < back) {
					g++
					rv = "?"
					for (i = 3; i <= NF; i++)
						if ($i ~ /^rv=/) rv = substr($i, 4)
					if (!(rv in n)) order[++k] = rv
					n[rv]++
					if (rv == "0x5") gen++
				} else a++
			}
			else if ($1 >= back && first == "") first = $1
			if ($2 == "OK" && $1 >= back) lastok = $1
			if ($2 == "FAIL" && first != "") late++
		}
		END {
			for (i = 1; i <= k; i++) rvs = rvs (i > 1 ? "," : "") order[i] ":" n[order[i]]
			print g + 0, a + 0, (first == "" ? "-" : first) (late ? ":late" : ""), gen + 0, (k ? rvs : "none")
		}' "$log")
	fail_in_gap=$((fail_in_gap + in_gap))
	general_in_gap=$((general_in_gap + gen))
	fail_rv+=("$rvs")
	fail_after_back=$((fail_after_back + after))
	case $first in
	-) first_ok+=(-) ;;
	*:late) first_ok+=($((${first%:late} - back))) ;;
	*) first_ok+=($((first - back))); recovered=$((recovered + 1)) ;;
	esac
done
# Also failures before the first event (none expected) go to fail_in_gap's complement: report them.
early=$(awk -v to="${stops[0]}" '$1 < to && $2 == "FAIL"' "$log" | wc -l)
[ "$early" = 0 ] || harness_log "$variant: $early failure(s) before the first event"
reopens=$(grep -c ' REOPEN ' "$log")
reopens_same=$(grep -c ' REOPEN serial=[^ ]* same key=same ' "$log")
reopens_other=$((reopens - reopens_same))
reopen_fail=$(grep -c ' REOPEN-FAIL ' "$log")
if [ "$mode" = reader-replug ]; then
	# pcscd's own account of the reader leaving and coming back (hotplug_libudev.c, readerfactory.c)
	readers_removed=$(grep -c 'HPRemoveDevice() Removing USB device' "$W/pcscd.log")
	readers_added=$(grep -c 'HPAddDevice() Adding USB device' "$W/pcscd.log")
	# the client's SCardConnect while pcscd was removing the reader (listed, reference count 0)
	connect_unavailable=$(grep -c 'CONNECT for client .*rv=SCARD_E_READER_UNAVAILABLE' "$W/pcscd.log")
	reader_names=$(grep -o 'RFInitializeReader() Attempting startup of .* using' "$W/pcscd.log" |
		sed -e 's/^RFInitializeReader() Attempting startup of //' -e 's/ using$//' | paste -sd '|')
fi
max_gap_ms=$(awk '$2 == "OK" { if (prev) { d = $1 - prev; if (d > m) m = d } prev = $1 } END { print m + 0 }' "$log")
unset 'stops[-1]'
write_result done
harness_log "$variant: $mode: ok $ops_ok, failed $ops_fail (in gap $fail_in_gap, after back $fail_after_back), events recovered $recovered/${#backs[@]}, first good ms: ${first_ok[*]}${cpu:+, client CPU ms during hang: ${cpu[*]}}${activations:+, activations $activations}"
