#!/usr/bin/env bash
# Harness self-test, run inside netns-run: pcscd + bridge (scripted card) + a PC/SC client (OpenSC's
# opensc-tool from OPENSC_PREFIX), pcscd restarted with SIGTERM and SIGKILL; after each restart the
# card must answer again and must have been power-cycled (the bridge powers it off when pcscd goes).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
workdir=$1
tool="$OPENSC_PREFIX/bin/opensc-tool"
harness_init "$workdir"
harness_opensc_conf

power_count()
{
	# 80 12: the scripted card's power-on counter (4 bytes, big-endian).
	local out
	for _ in $(seq 1 100); do
		if out=$("$tool" -s 8012000004 2>/dev/null) && grep -q 'SW1=0x90' <<<"$out"; then
			local hex
			hex=$(sed -n '/Received/{n;p}' <<<"$out" | awk '{print $1 $2 $3 $4}')
			echo $((16#$hex))
			return 0
		fi
		sleep 0.05
	done
	return 1
}

harness_start_pcscd
harness_start_bridge --scripted
before=$(power_count) || harness_die "no card answer through pcscd"
harness_log "card answers, power-on count $before"
for sig in TERM KILL TERM; do
	harness_restart_pcscd "$sig" 0.3
	after=$(power_count) || harness_die "no card answer after SIG$sig restart"
	harness_log "after SIG$sig restart: power-on count $after"
	[ "$after" -gt "$before" ] || harness_die "card was not power-cycled across the restart"
	before=$after
done
harness_stop_bridge
grep -q "connection lost: card powered off" "$HARNESS_DIR/bridge.log" || harness_die "bridge never saw pcscd go"
harness_log "selftest OK"
