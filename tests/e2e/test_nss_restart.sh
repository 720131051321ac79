#!/usr/bin/env bash
# End to end, NSS as the caller (as Firefox / Thunderbird use a token) through a real pcscd (private
# namespaces, vpcd bridge, virtual ePass2003): nss-sign-loop loads opensc-pkcs11.so with
# SECMOD_LoadUserModule, logs in once, signs with PK11_Sign every 100 ms (each signature verified),
# runs a thread in SECMOD_WaitForAnyTokenEvent and lets NSS do its own presence checks
# (PK11_IsPresent, PK11_IsLoggedIn) while pcscd is killed (SIGTERM / SIGKILL alternately) and restarted.
# NSS asks for the PIN again only through its password callback, which refuses after the first
# login (a user who is not asked again): a lost login shows as LOGIN-NEEDED and failed signatures.
# Expected: stock OpenSC 0.27.1 stops signing after the first restart (OpenSC #3395); patched
# OpenSC survives every restart with no failed signature after pcscd is back and no new login.
# Diagnosis: P11_CLIENT_ARGS=--no-event-thread runs the client without its SECMOD_WaitForAnyTokenEvent
# thread (only NSS's presence checks then poll during an outage).
# Skips (77) only when something the scenario needs is not installed (named in the log), or when
# the patched OpenSC is not built (after checking that stock fails).
set -uo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

NSS_CLIENT=${NSS_CLIENT:-$e2e_build/tests/e2e/nss-sign-loop}
export NSS_CLIENT
if ! e2e_prereqs || [ ! -x "$NSS_CLIENT" ]; then
	[ -x "$NSS_CLIENT" ] || echo "missing: $NSS_CLIENT (make tests/e2e/nss-sign-loop; Debian package libnss3-dev)" >&2
	echo "SKIP: requirements missing (above)"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-nss.XXXXXX")
export E2E_RESTARTS=${E2E_RESTARTS:-2} E2E_DEADLINE=${E2E_DEADLINE:-4}
echo "work directory (logs): $work"
image=$(e2e_personalise "$work") || { echo "FAIL: could not personalise the virtual ePass2003"; exit 1; }

e2e_run_both e2e_run_nss_variant "$work" "$image"
for v in stock patched; do
	f="$work/$v/result.env"
	[ -r "$f" ] && [ "$(e2e_result "$f" status)" = done ] || continue
	printf '%-8s NSS: new login needed %s time(s), token re-initialised by NSS (series change) %s, token events %s, event errors %s\n' \
		"$v" "$(e2e_result "$f" login_needed)" "$(e2e_result "$f" series_changes)" \
		"$(e2e_result "$f" events)" "$(e2e_result "$f" event_errors)"
done
echo
e2e_verdict_callers "$work" "$patched_ran"
e2e_finish "$work" $?
