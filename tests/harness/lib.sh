# shellcheck shell=bash
# Harness functions for a script running inside tests/harness/netns-run: own pcscd (with vpcd),
# the vpcd bridge and clients, all started here and stopped by PID. Source it, then:
#
#   harness_init WORKDIR          logs, reader.conf.d and state under WORKDIR; EXIT trap cleans up
#   harness_start_pcscd           pcscd -f -d, log appended to WORKDIR/pcscd.log; waits for its socket
#   harness_stop_pcscd SIGNAL     TERM or KILL, waits for the process to end
#   harness_restart_pcscd SIGNAL [DOWN_SECONDS]   stop, stay down, start; HARNESS_BACK_MS = when it is back
#   harness_start_bridge ARGS...  vpcd-bridge ARGS --port PORT, log WORKDIR/bridge.log
#   harness_stop_bridge           SIGTERM (the bridge saves its card image), waits
#   harness_wait_card OPENSC_PREFIX [SECONDS]   until OpenSC reads the card's ATR through pcscd;
#                                 1 (with the reason in HARNESS_WAIT_ERROR) on timeout or dead bridge
#   harness_spawn NAME CMD...     any background process, stopped at exit (TERM, then KILL)
#   harness_now_ms                wall clock in milliseconds
#   harness_log MESSAGE           timestamped line to stdout and WORKDIR/harness.log
#   harness_opensc_conf [EXTRA]   OPENSC_CONF=WORKDIR/opensc.conf: no file cache, EXTRA lines in app default
#
# Socket activation (Debian's pcscd.socket + pcscd.service, repeated as systemd does):
#   harness_start_socket_holder   pcscd-socket-holder owns /run/pcscd/pcscd.comm; each connection while
#                                 no pcscd runs starts `pcscd --foreground --auto-exit` with the socket
#                                 (LISTEN_FDS); the first one is started at once. Log WORKDIR/holder.log.
#   harness_socket_pcscd_pid      the running pcscd's PID (0: none)
#   harness_socket_stop_pcscd SIGNAL   signal the running pcscd, wait until the holder has reaped it;
#                                 HARNESS_STOP_MS = when the signal was sent (or now, if none runs).
#                                 The socket stays.
#   harness_socket_wait_start N SECONDS   until the holder has made N starts; HARNESS_BACK_MS = the
#                                 epoch ms of start N from holder.log; 1 on timeout

_harness_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/harness/prereqs.sh
. "$_harness_here/prereqs.sh"

HARNESS_DIR=""
HARNESS_VPCD_PORT=${HARNESS_VPCD_PORT:-35963}
PCSCD_PID=""
BRIDGE_PID=""
HOLDER_PID=""
HARNESS_STOP_MS=0
HARNESS_BACK_MS=0
HARNESS_RESTARTS=0
declare -a _harness_pids=()
declare -A _harness_names=()

harness_now_ms() { date +%s%3N; }

harness_log()
{
	local line
	line="$(date -u +%H:%M:%S.%3N) harness: $*"
	echo "$line"
	[ -n "$HARNESS_DIR" ] && echo "$line" >>"$HARNESS_DIR/harness.log"
	return 0
}

harness_die()
{
	harness_log "FATAL: $*"
	exit 1
}

harness_init()
{
	[ "${HARNESS_IN_NAMESPACE:-0}" = 1 ] ||
		{ echo "harness: refusing to run outside tests/harness/netns-run (would touch the system pcscd)" >&2; exit 1; }
	HARNESS_DIR=$1
	mkdir -p "$HARNESS_DIR/reader.conf.d"
	HARNESS_DIR=$(cd "$HARNESS_DIR" && pwd)
	cat >"$HARNESS_DIR/reader.conf.d/vpcd" <<-CONF
		FRIENDLYNAME "Virtual PCD"
		DEVICENAME   /dev/null:$HARNESS_VPCD_PORT
		LIBPATH      $(harness_vpcd_driver)
		CHANNELID    $HARNESS_VPCD_PORT
	CONF
	trap harness_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Start a background process and remember it for cleanup.
harness_spawn()
{
	local name=$1
	shift
	"$@" &
	local pid=$!
	_harness_pids+=("$pid")
	_harness_names[$pid]=$name
	HARNESS_SPAWNED_PID=$pid
}

_harness_forget()
{
	local pid=$1 p
	local keep=()
	for p in "${_harness_pids[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
	_harness_pids=("${keep[@]}")
	unset "_harness_names[$pid]"
}

# Stop one process: SIGNAL, then wait up to 5 s, then SIGKILL.
harness_stop_pid()
{
	local pid=$1 sig=${2:-TERM} i
	# stderr off while bash reaps the job: no "Killed" job notices in the logs.
	{
		kill -s "$sig" "$pid" || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" || break
			sleep 0.05
		done
		if kill -0 "$pid"; then
			harness_log "${_harness_names[$pid]:-pid $pid} ignored SIG$sig for 5 s; SIGKILL"
			kill -s KILL "$pid" || true
		fi
		wait "$pid" || true
	} 2>/dev/null
	_harness_forget "$pid"
}

harness_cleanup()
{
	local rc=$? i pid
	for ((i = ${#_harness_pids[@]} - 1; i >= 0; i--)); do
		pid=${_harness_pids[$i]}
		harness_stop_pid "$pid" TERM
	done
	return $rc
}

harness_start_pcscd()
{
	local i
	# After a SIGKILL the socket and the pid file stay behind; pcscd (like systemd's unit) starts
	# fresh — remove them so "socket exists" means "this pcscd is up".
	rm -f /run/pcscd/pcscd.comm /run/pcscd/pcscd.pid
	echo "=== $(date -u +%H:%M:%S.%3N) harness: pcscd start" >>"$HARNESS_DIR/pcscd.log"
	harness_spawn pcscd "$(harness_pcscd)" --foreground --debug --config "$HARNESS_DIR/reader.conf.d" \
		>>"$HARNESS_DIR/pcscd.log" 2>&1
	PCSCD_PID=$HARNESS_SPAWNED_PID
	for ((i = 0; i < 200; i++)); do
		[ -S /run/pcscd/pcscd.comm ] && break
		kill -0 "$PCSCD_PID" 2>/dev/null || harness_die "pcscd exited at start; see $HARNESS_DIR/pcscd.log"
		sleep 0.025
	done
	[ -S /run/pcscd/pcscd.comm ] || harness_die "pcscd socket did not appear in 5 s; see $HARNESS_DIR/pcscd.log"
	HARNESS_BACK_MS=$(harness_now_ms)
}

harness_stop_pcscd()
{
	local sig=${1:-TERM}
	[ -n "$PCSCD_PID" ] || return 0
	echo "=== $(date -u +%H:%M:%S.%3N) harness: pcscd SIG$sig" >>"$HARNESS_DIR/pcscd.log"
	harness_stop_pid "$PCSCD_PID" "$sig"
	PCSCD_PID=""
}

harness_restart_pcscd()
{
	local sig=${1:-TERM} down=${2:-0.5}
	harness_stop_pcscd "$sig"
	sleep "$down"
	harness_start_pcscd
	HARNESS_RESTARTS=$((HARNESS_RESTARTS + 1))
	harness_log "pcscd restarted (SIG$sig, down ${down}s), restart #$HARNESS_RESTARTS"
}

harness_holder() { echo "${PCSCD_SOCKET_HOLDER:-${top_builddir:-.}/pcscd-socket-holder}"; }

harness_start_socket_holder()
{
	local i
	rm -f /run/pcscd/pcscd.comm /run/pcscd/pcscd.pid "$HARNESS_DIR/holder.state"
	echo "=== $(date -u +%H:%M:%S.%3N) harness: socket holder start" >>"$HARNESS_DIR/pcscd.log"
	# As pcscd.service: --foreground --auto-exit (plus the harness' --debug and reader config).
	harness_spawn pcscd-socket-holder "$(harness_holder)" --socket /run/pcscd/pcscd.comm \
		--state "$HARNESS_DIR/holder.state" --log "$HARNESS_DIR/holder.log" --start-now -- \
		"$(harness_pcscd)" --foreground --auto-exit --debug --config "$HARNESS_DIR/reader.conf.d" \
		>>"$HARNESS_DIR/pcscd.log" 2>&1
	HOLDER_PID=$HARNESS_SPAWNED_PID
	harness_socket_wait_start 1 5 || harness_die "socket holder did not start pcscd; see $HARNESS_DIR/holder.log"
	PCSCD_PID=$(harness_socket_pcscd_pid)
}

harness_socket_pcscd_pid()
{
	local pid=0
	[ -r "$HARNESS_DIR/holder.state" ] && pid=$(awk '$1 == "pid" { print $2 }' "$HARNESS_DIR/holder.state")
	echo "${pid:-0}"
}

_harness_socket_starts()
{
	local n=0
	[ -r "$HARNESS_DIR/holder.state" ] && n=$(awk '$1 == "starts" { print $2 }' "$HARNESS_DIR/holder.state")
	echo "${n:-0}"
}

harness_socket_stop_pcscd()
{
	local sig=${1:-TERM} pid i
	pid=$(harness_socket_pcscd_pid)
	HARNESS_STOP_MS=$(harness_now_ms)
	[ "$pid" != 0 ] || return 0
	echo "=== $(date -u +%H:%M:%S.%3N) harness: pcscd pid $pid SIG$sig (socket stays)" >>"$HARNESS_DIR/pcscd.log"
	kill -s "$sig" "$pid" 2>/dev/null || true
	kill -s CONT "$pid" 2>/dev/null || true # a stopped pcscd (SIGSTOP) acts on SIGTERM once continued
	for ((i = 0; i < 200; i++)); do
		[ "$(harness_socket_pcscd_pid)" = "$pid" ] || return 0
		sleep 0.025
	done
	harness_log "pcscd pid $pid still running 5 s after SIG$sig; SIGKILL"
	kill -s KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		[ "$(harness_socket_pcscd_pid)" = "$pid" ] || return 0
		sleep 0.025
	done
	harness_die "the socket holder did not reap pcscd pid $pid"
}

harness_socket_wait_start()
{
	local n=$1 seconds=${2:-5} i
	for ((i = 0; i < seconds * 40; i++)); do
		if [ "$(_harness_socket_starts)" -ge "$n" ]; then
			HARNESS_BACK_MS=$(grep " (start $n)\$" "$HARNESS_DIR/holder.log" | tail -n 1 | cut -d' ' -f1)
			PCSCD_PID=$(harness_socket_pcscd_pid)
			return 0
		fi
		sleep 0.025
	done
	return 1
}

harness_start_bridge()
{
	harness_spawn vpcd-bridge "$(harness_bridge)" --port "$HARNESS_VPCD_PORT" --backoff-max 200 \
		--log "$HARNESS_DIR/bridge.log" "$@"
	BRIDGE_PID=$HARNESS_SPAWNED_PID
}

harness_stop_bridge()
{
	[ -n "$BRIDGE_PID" ] || return 0
	harness_stop_pid "$BRIDGE_PID" TERM
	BRIDGE_PID=""
}

harness_opensc_conf()
{
	export OPENSC_CONF="$HARNESS_DIR/opensc.conf"
	# No OpenSC file cache: every run has a new card with new keys (a CAC counts as "static" and would
	# be served from a stale cache keyed by its serial), and nothing lands in $HOME.
	printf 'app default {\n\tframework pkcs15 {\n\t\tuse_file_caching = no;\n\t\tfile_cache_dir = %s/opensc-cache;\n\t}\n%s}\n' \
		"$HARNESS_DIR" "${1:-}" >"$OPENSC_CONF"
}

harness_wait_card()
{
	local prefix=$1 seconds=${2:-10} i
	HARNESS_WAIT_ERROR=""
	for ((i = 0; i < seconds * 10; i++)); do
		"$prefix/bin/opensc-tool" --atr >/dev/null 2>&1 && return 0
		if [ -n "$BRIDGE_PID" ] && ! kill -0 "$BRIDGE_PID" 2>/dev/null; then
			HARNESS_WAIT_ERROR="vpcd-bridge exited: $(tail -n 1 "$HARNESS_DIR/bridge.log" 2>/dev/null)"
			return 1
		fi
		sleep 0.1
	done
	HARNESS_WAIT_ERROR="no card in the reader after ${seconds}s (see $HARNESS_DIR/bridge.log, $HARNESS_DIR/pcscd.log)"
	return 1
}
