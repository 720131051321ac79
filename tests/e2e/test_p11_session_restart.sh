#!/usr/bin/env bash
# End to end, a raw long-lived PKCS#11 client through a real pcscd (private namespaces, vpcd bridge,
# virtual ePass2003): one C_OpenSession + C_Login, then C_Sign every 100 ms with the same session
# and key handle across pcscd restarts (SIGTERM and SIGKILL), every signature verified.
# Expected: stock OpenSC 0.27.1 returns CKR_GENERAL_ERROR after the first restart (OpenSC #3395);
# patched OpenSC keeps signing in the same session.
# Skips (77) only when something the scenario needs is not installed (named in the log), or when
# the patched OpenSC is not built (after checking that stock fails).
set -uo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

e2e_p11_restart_test p11-session
