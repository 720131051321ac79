#!/usr/bin/env bash
# ANOTHER token in a reader of the same name: the token's reader leaves pcscd's list (a USB token
# pulled, tests/e2e/usb_reader.sh), and what is plugged in is another ePass2003 (other serial, other
# key, same PIN, same ATR) whose reader gets the same name — pcscd names a libudev reader after the
# driver's Info.plist and the USB serial, and a token without a USB serial gets no serial in the name
# (E2E_REPLUG_SERIAL=none here). The client logs in once and never again (as ssh-agent) and verifies
# every signature with the first token's key. Checked: a signature is never made by the other token
# for the first token's session. (The series binds a re-attached card to its identity; stock 0.27.1
# re-attaches by reader name only: reader-pcsc.c pcsc_lock → pcsc_connect, and re-verifies its cached
# PIN on whatever card answers.)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
. "$here/lifecycle.sh"
export E2E_EVENTS=${E2E_EVENTS:-1} E2E_GAP=${E2E_GAP:-1} E2E_WINDOW=${E2E_WINDOW:-4} E2E_REPLUG_SERIAL=none

for need in "${IFD_USB_SHIM:-$e2e_build/.libs/libifd-usb-shim.so}" "${UDEV_EVENT:-$e2e_build/udev-event}"; do
	if [ ! -e "$need" ]; then
		echo "missing: $need (make check builds it)"
		echo "SKIP: requirements missing (above)"
		exit 77
	fi
done
export IFD_USB_SHIM=${IFD_USB_SHIM:-$e2e_build/.libs/libifd-usb-shim.so} UDEV_EVENT=${UDEV_EVENT:-$e2e_build/udev-event}
if ! e2e_prereqs; then
	echo "SKIP: requirements missing (above)"
	exit 77
fi
export E2E_LIFECYCLE=reader-replug
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-lifecycle-reader-swap.XXXXXX")
echo "work directory (logs): $work"
image=$(e2e_personalise "$work/a") || { echo "FAIL: could not personalise the first virtual ePass2003"; exit 1; }
image2=$(E2E_CARD_SERIAL=1112131415161718 e2e_personalise "$work/b") ||
	{ echo "FAIL: could not personalise the second virtual ePass2003"; exit 1; }

run_variant()
{
	local name=$1 prefix=$2
	mkdir -p "$work/$name"
	cp "$image2" "$work/$name/other-card.json"
	E2E_REPLUG_CARD_ARGS="--card $work/$name/other-card.json" \
		e2e_run_lifecycle_variant "$name" "$prefix" "$work/$name" "$image"
}
run_variant stock "$OPENSC_STOCK_PREFIX"
patched_ran=0
if e2e_variant_available "${OPENSC_PATCHED_PREFIX:-}"; then
	run_variant patched "$OPENSC_PATCHED_PREFIX"
	patched_ran=1
fi
echo
e2e_lifecycle_table "$work/stock/result.env" "$work/patched/result.env"
echo

reader_gone_and_back()
{
	local f=$1 name=$2
	e2e_lifecycle_ran "$f" || return 1
	echo "info: $name: reader names seen by pcscd: $(e2e_result "$f" reader_names)"
	if [ "$(e2e_result "$f" readers_removed)" != "$(e2e_result "$f" events)" ] ||
		[ "$(e2e_result "$f" readers_added)" != $(($(e2e_result "$f" events) + 1)) ]; then
		echo "FAIL: $name: pcscd removed the reader $(e2e_result "$f" readers_removed) and added it $(e2e_result "$f" readers_added) time(s)"
		return 1
	fi
}
rc=0
s="$work/stock/result.env" p="$work/patched/result.env"
# Stock: the problem reproduced — signatures by the other token returned as CKR_OK.
if reader_gone_and_back "$s" stock; then
	if [ "$(e2e_result "$s" wrong_key_sigs)" = 0 ]; then
		echo "FAIL: stock made no signature with the other token; the scenario no longer reproduces the problem"
		rc=1
	else
		echo "ok: stock signs with the OTHER token in the first token's session: $(e2e_result "$s" wrong_key_sigs) signature(s) returned CKR_OK that the first key does not verify"
	fi
else
	rc=1
fi
if [ "$patched_ran" = 1 ]; then
	if reader_gone_and_back "$p" patched; then
		if [ "$(e2e_result "$p" wrong_key_sigs)" != 0 ]; then
			echo "FAIL: patched: $(e2e_result "$p" wrong_key_sigs) signature(s) made by ANOTHER token in the first token's session (C_Sign returned CKR_OK, the first key does not verify them)"
			rc=1
		elif [ "$(e2e_result "$p" events_recovered)" != 0 ]; then
			echo "FAIL: patched: the first session signed again after another token was plugged in"
			rc=1
		else
			echo "ok: patched: no signature by the other token ($(e2e_result "$p" ops_fail) failed after the swap; first: $(e2e_result "$p" first_fail_reason))"
		fi
	else
		rc=1
	fi
else
	echo "patched OpenSC not available"
	[ $rc = 0 ] && rc=77
fi
e2e_finish "$work" "$rc"
