#!/usr/bin/env bash
# Stop, wait, start (a package upgrade): pcscd gets SIGTERM, stays down E2E_GAP s (3), starts again;
# E2E_EVENTS (2) times. Signatures that fail inside the gap (no service: nothing can succeed) are
# counted apart from those after "service back".
# Expected: stock never signs again (OpenSC #3395); patched signs again after every start with no
# failure after "service back" (failures inside the gap are reported, not asserted).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
. "$here/lifecycle.sh"
export E2E_EVENTS=${E2E_EVENTS:-2} E2E_GAP=${E2E_GAP:-3} E2E_WINDOW=${E2E_WINDOW:-5}

verdict()
{
	local s="$1/stock/result.env" p="$1/patched/result.env" bad=0
	if e2e_lifecycle_ran "$s"; then
		if [ "$(e2e_result "$s" events_recovered)" != 0 ]; then
			echo "FAIL: stock OpenSC signed again after a stop/start; the scenario no longer reproduces OpenSC #3395"
			bad=1
		else
			echo "ok: stock never signs again after the first stop/start"
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
		if [ "$(e2e_result "$p" events_recovered)" != "$(e2e_result "$p" events)" ] || [ "$(e2e_result "$p" fail_after_back)" != 0 ]; then
			echo "FAIL: patched: $(e2e_result "$p" events_recovered) of $(e2e_result "$p" events) stop/starts recovered, $(e2e_result "$p" fail_after_back) failure(s) after service back"
			bad=1
		else
			echo "ok: patched signs again after every start, 0 failures after service back ($(e2e_result "$p" fail_in_gap) inside the ${E2E_GAP} s gaps)"
		fi
	else
		bad=1
	fi
	return $bad
}
e2e_lifecycle_main stop-start verdict
