#!/usr/bin/env bash
# The token's READER leaves pcscd's reader list and comes back under the same name while pcscd keeps
# running: a USB token (an ePass2003 is its own USB reader) pulled and plugged in again. Produced with
# Debian's own pcscd 1.9.9 through its libudev hotplug code: a made-up USB device whose driver bundle
# forwards to vpcd, unplugged and plugged in again with udev events (tests/e2e/usb_reader.sh,
# doc/reader-reenumeration.md). The client logs in ONCE and never again (as ssh-agent): checked for
# each variant that it signs again after every replug in the same session, with the same key (every
# signature is verified with the key read at the start). Like the card-replug and SIGSTOP tests this
# is a behaviour test of both variants, not a recovery test: stock 0.27.1 already re-attaches by
# reader name (reader-pcsc.c pcsc_lock: SCARD_E_READER_UNAVAILABLE / SCARD_E_INVALID_HANDLE →
# pcsc_connect → SC_ERROR_READER_REATTACHED, card.c sc_lock retries), the series must not lose that.
# One check is the series' own (issue 13): while pcscd is removing the reader, SCardConnect answers
# SCARD_E_READER_UNAVAILABLE, which stock maps to SC_ERROR_UNKNOWN, i.e. CKR_GENERAL_ERROR (3 per
# replug, a hard failure to NSS and p11-kit); the patched variant must report the reader as away for
# now (CKR_TOKEN_NOT_PRESENT): no CKR_GENERAL_ERROR in the gap. Stock's count is reported.
# Under another name: test_lifecycle_reader_renamed.sh (make check-lifecycle).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
. "$here/lifecycle.sh"
export E2E_EVENTS=${E2E_EVENTS:-2} E2E_GAP=${E2E_GAP:-1} E2E_WINDOW=${E2E_WINDOW:-4}

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
	local f=$1 name=$2 bad=0
	e2e_lifecycle_ran "$f" || return 1
	if [ "$(e2e_result "$f" events_recovered)" != "$(e2e_result "$f" events)" ]; then
		echo "FAIL: $name: signing in the first session came back after $(e2e_result "$f" events_recovered) of $(e2e_result "$f" events) reader replugs (first failure: $(e2e_result "$f" first_fail_reason))"
		bad=1
	fi
	# the reader really left pcscd's list and came back, and the client saw it gone
	if [ "$(e2e_result "$f" readers_removed)" != "$(e2e_result "$f" events)" ] ||
		[ "$(e2e_result "$f" readers_added)" != $(($(e2e_result "$f" events) + 1)) ]; then
		echo "FAIL: $name: pcscd removed the reader $(e2e_result "$f" readers_removed) and added it $(e2e_result "$f" readers_added) time(s) for $(e2e_result "$f" events) replugs"
		bad=1
	fi
	if [ "$(e2e_result "$f" fail_in_gap)" = 0 ]; then
		echo "FAIL: $name: no operation failed while the reader was away: the replug did not reach the client"
		bad=1
	fi
	if [ "$(e2e_result "$f" ops_ok)" = 0 ]; then
		echo "FAIL: $name: no signature at all"
		bad=1
	fi
	local general rvs
	general=$(e2e_result "$f" general_error_in_gap) rvs=$(e2e_result "$f" fail_rv_in_gap)
	if [ -z "$general" ]; then
		echo "FAIL: $name: result.env has no general_error_in_gap"
		bad=1
	elif [ "$name" = patched ] && [ "$general" != 0 ]; then
		echo "FAIL: $name: $general CKR_GENERAL_ERROR while the reader was away (by CK_RV, per replug: $rvs); a reader pcscd is removing must be 'token not present' for now"
		bad=1
	elif [ "$name" = patched ] && [ "$(e2e_result "$f" connect_unavailable)" = 0 ]; then
		echo "FAIL: $name: no SCardConnect of the client met the reader while pcscd removed it (pcscd.log: no CONNECT answered SCARD_E_READER_UNAVAILABLE): 0 CKR_GENERAL_ERROR proves nothing"
		bad=1
	fi
	[ $bad = 0 ] && echo "ok: $name: same session, same key, no new login after each of $(e2e_result "$f" events) reader replugs; first good signature $(e2e_result "$f" first_ok_ms) ms after the reader is back; failed: $(e2e_result "$f" fail_in_gap) while it was away ($general CKR_GENERAL_ERROR; by CK_RV, per replug: $rvs; SCardConnect answered SCARD_E_READER_UNAVAILABLE: $(e2e_result "$f" connect_unavailable)), $(e2e_result "$f" fail_after_back) after"
	return $bad
}
e2e_lifecycle_main reader-replug e2e_lifecycle_check_both
