#!/usr/bin/env bash
# Socket activation (Debian's default, pcscd.socket): pcscd-socket-holder keeps pcscd's listening
# socket; pcscd is killed (SIGTERM, then SIGKILL) and nobody restarts it — the next connection to the
# held socket does, as systemd would. With the patched module that connection is its own
# re-establish, queued on the socket until the new pcscd accepts it, so no signature should fail at
# all: not after the restart, and not across it.
# Expected: stock OpenSC never connects again (OpenSC #3395): pcscd is not re-activated and every
# signature after the kill fails. Patched: pcscd re-activated by the module at each kill, 0 failed
# signatures. E2E_EVENTS (2), E2E_WINDOW (5 s).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
. "$here/lifecycle.sh"
export E2E_EVENTS=${E2E_EVENTS:-2} E2E_WINDOW=${E2E_WINDOW:-5}

verdict()
{
	local s="$1/stock/result.env" p="$1/patched/result.env" bad=0
	if e2e_lifecycle_ran "$s"; then
		if [ "$(e2e_result "$s" ops_fail)" = 0 ] || [ "$(e2e_result "$s" events_recovered)" = "$(e2e_result "$s" events)" ]; then
			echo "FAIL: stock OpenSC kept signing across a socket-activated restart; the scenario no longer reproduces OpenSC #3395"
			bad=1
		else
			echo "ok: stock fails after the kill ($(e2e_result "$s" ops_fail) failed, pcscd re-activated $(e2e_result "$s" activations) time(s))"
		fi
	else
		bad=1
	fi
	if [ "$2" = 0 ]; then
		echo "patched OpenSC not available"
		[ $bad = 0 ] && return 77
		return 1
	fi
	if e2e_lifecycle_ran "$p"; then
		local ev act fail rec
		ev=$(e2e_result "$p" events) act=$(e2e_result "$p" activations) fail=$(e2e_result "$p" ops_fail)
		rec=$(e2e_result "$p" events_recovered)
		if [ "$act" != "$ev" ]; then
			echo "FAIL: patched: pcscd re-activated $act time(s) for $ev kill(s)"
			bad=1
		fi
		if [ "$rec" != "$ev" ]; then
			echo "FAIL: patched: $rec of $ev restarts recovered"
			bad=1
		fi
		if [ "$fail" != 0 ]; then
			echo "FAIL: patched: $fail signature(s) failed across the socket-activated restarts" \
				"($(e2e_result "$p" fail_in_gap) before re-activation, $(e2e_result "$p" fail_after_back) after; first: $(e2e_result "$p" first_fail_reason))"
			bad=1
		fi
		[ $bad = 0 ] && echo "ok: patched re-activated pcscd itself at each of $ev kills, 0 failed signatures"
	else
		bad=1
	fi
	return $bad
}
e2e_lifecycle_main socket verdict
