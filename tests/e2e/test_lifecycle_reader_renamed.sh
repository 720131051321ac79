#!/usr/bin/env bash
# The token's reader leaves pcscd's list and comes back under ANOTHER name (a USB token plugged in
# again whose reader name changed: another USB serial in pcscd's libudev reader name, or, with
# E2E_REPLUG_SERIAL=index, another reader index because another reader took the first while the
# token was out; tests/e2e/usb_reader.sh). A bound card is never looked for in another reader (the series' rule,
# doc/recovery.md; stock does not either), so the first session cannot go on: the client re-opens a
# session and logs in again when its session is gone, as NSS does (p11-session-loop --reopen, which
# lists slots with the usual size query, where OpenSC looks for new readers). Checked for each variant:
# the token is found again, in the same process, as the same token (same serial, same key), and
# signing goes on. A client that never re-opens (ssh-agent) stays without its token: E2E_P11_REOPEN=0
# shows it (doc/reader-reenumeration.md). Behaviour test of both variants, in make check-lifecycle.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
. "$here/lifecycle.sh"
export E2E_EVENTS=${E2E_EVENTS:-2} E2E_GAP=${E2E_GAP:-1} E2E_WINDOW=${E2E_WINDOW:-4}
# other: another USB serial in the name; index: the same serial, another reader index ("… 01 00")
export E2E_REPLUG_SERIAL=${E2E_REPLUG_SERIAL:-other}
export E2E_P11_REOPEN=${E2E_P11_REOPEN:-1}

for need in "${IFD_USB_SHIM:-$e2e_build/.libs/libifd-usb-shim.so}" "${UDEV_EVENT:-$e2e_build/udev-event}"; do
	if [ ! -e "$need" ]; then
		echo "missing: $need (make check builds it)"
		echo "SKIP: requirements missing (above)"
		exit 77
	fi
done
export IFD_USB_SHIM=${IFD_USB_SHIM:-$e2e_build/.libs/libifd-usb-shim.so} UDEV_EVENT=${UDEV_EVENT:-$e2e_build/udev-event}

check_variant()
{
	local f=$1 name=$2 bad=0 ev other=0
	e2e_lifecycle_ran "$f" || return 1
	ev=$(e2e_result "$f" events)
	[ "$E2E_REPLUG_SERIAL" = index ] && other=1 # the second reader
	echo "info: $name: reader names seen by pcscd: $(e2e_result "$f" reader_names)"
	if [ "$(e2e_result "$f" readers_removed)" != "$ev" ] || [ "$(e2e_result "$f" readers_added)" != $((ev + 1 + other)) ]; then
		echo "FAIL: $name: pcscd removed the reader $(e2e_result "$f" readers_removed) and added it $(e2e_result "$f" readers_added) time(s) for $ev replugs"
		bad=1
	fi
	if [ "$(e2e_result "$f" events_recovered)" != "$ev" ]; then
		echo "FAIL: $name: signing came back after $(e2e_result "$f" events_recovered) of $ev replugs under another reader name"
		bad=1
	fi
	if [ "$(e2e_result "$f" reopens_other_token)" != 0 ] || [ "$(e2e_result "$f" wrong_key_sigs)" != 0 ]; then
		echo "FAIL: $name: another token or key after the replug"
		bad=1
	fi
	[ $bad = 0 ] && echo "ok: $name: same token found again under the new reader name, $(e2e_result "$f" reopens) new session(s)+login(s); first good signature $(e2e_result "$f" first_ok_ms) ms after the reader is back"
	return $bad
}
e2e_lifecycle_main reader-replug e2e_lifecycle_check_both
