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

export E2E_POLL_SLOTS=1
e2e_p11_restart_test p11-poll
