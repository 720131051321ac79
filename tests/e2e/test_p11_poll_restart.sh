#!/usr/bin/env bash
# End to end, as test_p11_session_restart.sh, but the client polls like NSS, p11-kit and pkcs11-helper:
# C_GetSlotList(CK_FALSE, NULL, &n) before every signature (issue 10 item 4). Through a real pcscd
# restarted with SIGTERM and SIGKILL, the poll meets the outage first: the slot layer must keep the
# token, the session and the login (the previous series survived 0 of 4 restarts: the poll marked the
# reader removed and closed every session). Stock fails as in OpenSC #3395.
# Skips (77) only when something the scenario needs is not installed (named in the log), or when
# the patched OpenSC is not built (after checking that stock fails).
set -uo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

P11_CLIENT=${P11_CLIENT:-$e2e_build/tests/e2e/p11-session-loop}
export P11_CLIENT
if ! e2e_prereqs || [ ! -x "$P11_CLIENT" ]; then
	[ -x "$P11_CLIENT" ] || echo "missing: $P11_CLIENT (make tests/e2e/p11-session-loop)" >&2
	echo "SKIP: requirements missing (above)"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-p11-poll.XXXXXX")
export E2E_RESTARTS=${E2E_RESTARTS:-4} E2E_DEADLINE=${E2E_DEADLINE:-4} E2E_POLL_SLOTS=1
echo "work directory (logs): $work"
image=$(e2e_personalise "$work") || { echo "FAIL: could not personalise the virtual ePass2003"; exit 1; }

e2e_run_both e2e_run_p11_variant "$work" "$image"
echo
e2e_verdict "$work" "$patched_ran"
e2e_finish "$work" $?
