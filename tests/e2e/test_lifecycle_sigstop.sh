#!/usr/bin/env bash
# A hung service: pcscd gets SIGSTOP for E2E_HANG s (10), then SIGCONT. Nothing is lost (the
# connections stay), so this is a liveness test, not a recovery test: both variants must block
# quietly and go on signing. Checked for each: no failed signature, signing resumes after SIGCONT
# (a good signature within E2E_WINDOW s), the client used less than 2% of the hang in CPU (a busy
# loop polling a dead service would use ~100%). Stock is the reference: the patched module must not
# turn a hang into a failure, a deadlock or a spin.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
. "$here/lifecycle.sh"
export E2E_EVENTS=${E2E_EVENTS:-1} E2E_HANG=${E2E_HANG:-10} E2E_WINDOW=${E2E_WINDOW:-5}

check_variant()
{
	local f=$1 name=$2 bad=0 c limit=$((E2E_HANG * 20))
	e2e_lifecycle_ran "$f" || return 1
	if [ "$(e2e_result "$f" ops_fail)" != 0 ]; then
		echo "FAIL: $name: $(e2e_result "$f" ops_fail) signature(s) failed around the hang (first: $(e2e_result "$f" first_fail_reason))"
		bad=1
	fi
	if [ "$(e2e_result "$f" events_recovered)" != "$(e2e_result "$f" events)" ]; then
		echo "FAIL: $name: signing did not resume after SIGCONT (first good: $(e2e_result "$f" first_ok_ms))"
		bad=1
	fi
	for c in $(e2e_result "$f" cpu_ms); do
		if [ "$c" -gt "$limit" ]; then
			echo "FAIL: $name: client used $c ms CPU during a ${E2E_HANG} s hang (limit $limit ms): busy loop"
			bad=1
		fi
	done
	[ $bad = 0 ] && echo "ok: $name: no failure, client CPU $(e2e_result "$f" cpu_ms) ms during the hang, first good signature $(e2e_result "$f" first_ok_ms) ms after SIGCONT"
	return $bad
}
e2e_lifecycle_main sigstop e2e_lifecycle_check_both
