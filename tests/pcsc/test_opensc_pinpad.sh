#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Stock OpenSC 0.27.1 through a libvpcsc PIN-pad reader: opensc-tool -l shows
# "PIN pad" in the Features column for PIN-pad readers (with a card: SHARED
# connection; without: DIRECT) and not for a plain reader, i.e. OpenSC's
# detect_reader_features() set SC_READER_CAP_PIN_PAD; opensc-explorer's
# "verify CHV1" then goes through FEATURE_VERIFY_PIN_DIRECT: the scripted card
# answers 9000 only to the exact APDU with the keypad's PIN, and keypad
# cancel/timeout reach OpenSC as its own errors with nothing sent to the card.
set -u

. "${top_srcdir:-.}/tests/pcsc/provider_env.sh"
provider_env pinpad opensc-tool opensc-explorer
tool=$prefix/bin/opensc-tool
explorer=$prefix/bin/opensc-explorer
expect_line() { # expect_line <description> <regex> <text>
	if grep -Eq -- "$2" <<<"$3"; then echo "ok: $1"; else fail "$1: no line matching '$2' in:"$'\n'"$3"; fi
}
expect_no_line() {
	if grep -Eq -- "$2" <<<"$3"; then fail "$1: unexpected line matching '$2' in:"$'\n'"$3"; else echo "ok: $1"; fi
}

# 1. opensc-tool -l: the Features column
cat >"$work/readers.json" <<JSON
{ "readers": [ { "name": "Virtual PIN pad", "card": "a", "pinpad": { "pin": "123456" } },
               { "name": "Plain", "card": "b" },
               { "name": "Empty PIN pad", "pinpad": { "pin": "1234" } } ],
  "cards": { "a": { "type": "scripted" }, "b": { "type": "scripted" } } }
JSON
out=$(VPCSC_SCENARIO=$work/readers.json "$tool" -l 2>&1)
expect_line "PIN-pad reader with a card has the PIN pad capability" '^0 +Yes +PIN pad +Virtual PIN pad 00 00$' "$out"
expect_line "plain reader is listed" '^1 +Yes +Plain 01 00$' "$out"
expect_no_line "plain reader has no PIN pad capability" 'PIN pad +Plain 01 00' "$out"
expect_line "empty PIN-pad reader (DIRECT connection) has the PIN pad capability" '^2 +No +PIN pad +Empty PIN pad 02 00$' "$out"

# 2. opensc-explorer "verify CHV1" without a PIN uses the keypad
verify() { # verify <pinpad JSON> -> output of opensc-explorer, stats in $work/stats.json
	cat >"$work/verify.json" <<JSON
{ "readers": [ { "name": "Virtual PIN pad", "card": "a", "pinpad": $1 } ],
  "cards": { "a": { "type": "scripted", "responses": [
      { "command": "00A4*", "response": "9000" },
      { "command": "00200001 06 313233343536", "response": "9000" },
      { "command": "0020*", "response": "63C2" } ] } },
  "stats_file": "$work/stats.json" }
JSON
	rm -f "$work/stats.json"
	echo "verify CHV1" | VPCSC_SCENARIO=$work/verify.json "$explorer" -c default 2>&1
}
apdus() { jq -r .apdus "$work/stats.json" 2>/dev/null; }

out=$(verify '{ "pin": "123456" }')
expect_line "OpenSC asks for the keypad" "Please enter PIN on the reader's pin pad" "$out"
expect_line "the keypad's PIN reached the card as OpenSC's ASCII block" '^Code correct\.' "$out"
[ "$(apdus)" = 2 ] && echo "ok: SELECT MF + VERIFY sent" || fail "APDUs sent: $(apdus) (want 2)"

out=$(verify '{ "pin": "654321" }')
expect_line "another keypad PIN is another APDU" '^Incorrect code, 2 tries left\.' "$out"

out=$(verify '{ "pin": "123456", "result": "cancel" }')
expect_line "keypad cancel is OpenSC's SC_ERROR_KEYPAD_CANCELLED" 'Unable to verify PIN code: Input operation cancelled by user' "$out"
[ "$(apdus)" = 1 ] && echo "ok: nothing sent on cancel" || fail "APDUs sent on cancel: $(apdus) (want 1: SELECT MF)"

out=$(verify '{ "pin": "123456", "result": "timeout" }')
expect_line "keypad timeout is OpenSC's SC_ERROR_KEYPAD_TIMEOUT" 'Unable to verify PIN code: Timed out while waiting for user input' "$out"
[ "$(apdus)" = 1 ] && echo "ok: nothing sent on timeout" || fail "APDUs sent on timeout: $(apdus) (want 1: SELECT MF)"

[ $failures = 0 ] || exit 1
exit 0
