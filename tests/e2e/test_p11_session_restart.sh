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

P11_CLIENT=${P11_CLIENT:-$e2e_build/tests/e2e/p11-session-loop}
export P11_CLIENT
if ! e2e_prereqs || [ ! -x "$P11_CLIENT" ]; then
	[ -x "$P11_CLIENT" ] || echo "missing: $P11_CLIENT (make tests/e2e/p11-session-loop)" >&2
	echo "SKIP: requirements missing (above)"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-p11-session.XXXXXX")
export E2E_RESTARTS=${E2E_RESTARTS:-4} E2E_DEADLINE=${E2E_DEADLINE:-4}
echo "work directory (logs): $work"
image=$(e2e_personalise "$work") || { echo "FAIL: could not personalise the virtual ePass2003"; exit 1; }

e2e_run_both e2e_run_p11_variant "$work" "$image"
echo
e2e_verdict "$work" "$patched_ran"
e2e_finish "$work" $?
