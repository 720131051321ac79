#!/usr/bin/env bash
# The token leaves and comes back while pcscd keeps running (a USB token pulled and plugged in
# again): the vpcd bridge disconnects (vpcd reports the card removed), stays away E2E_GAP s (1), and
# connects again with the same card image. The long-lived client handles removal as NSS does: when
# its session is gone it looks for the token again, in the same process, and logs in again
# (p11-session-loop --reopen). Checked for each variant: the token comes back in that process as the
# same token (same serial, same key; no other token), signing goes on, nothing fails after that.
# Whether the first session survived (no new login needed) is reported, not asserted: PKCS#11 closes
# a removed token's sessions, and neither stock 0.27.1 nor the series keeps them. Like the SIGSTOP
# test this is a behaviour test of both variants, not a recovery test that stock must fail.
# (The reader itself leaving pcscd's list: test_lifecycle_reader_replug.sh and
# doc/reader-reenumeration.md.)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
. "$here/lifecycle.sh"
export E2E_EVENTS=${E2E_EVENTS:-1} E2E_GAP=${E2E_GAP:-1} E2E_WINDOW=${E2E_WINDOW:-5}

check_variant()
{
	local f=$1 name=$2 bad=0
	e2e_lifecycle_ran "$f" || return 1
	if [ "$(e2e_result "$f" events_recovered)" != "$(e2e_result "$f" events)" ]; then
		echo "FAIL: $name: signing did not come back after the token was plugged in again (first good: $(e2e_result "$f" first_ok_ms))"
		bad=1
	fi
	if [ "$(e2e_result "$f" reopens_other_token)" != 0 ]; then
		echo "FAIL: $name: the token came back as another token (serial or key differ)"
		bad=1
	fi
	if [ "$(e2e_result "$f" reopens)" = 0 ]; then
		echo "info: $name: the first session survived the replug (no new login)"
	else
		echo "info: $name: the session was closed by the removal; $(e2e_result "$f" reopens) new login(s), token back as the same token $(e2e_result "$f" reopens_same_token) time(s)"
	fi
	[ $bad = 0 ] && echo "ok: $name: same token back, first good signature $(e2e_result "$f" first_ok_ms) ms after the token came back, $(e2e_result "$f" fail_after_back) failure(s) after it"
	return $bad
}
e2e_lifecycle_main card-replug e2e_lifecycle_check_both
