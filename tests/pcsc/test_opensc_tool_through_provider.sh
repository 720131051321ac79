#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Stock opensc-tool 0.27.1 through libvpcsc: lists the virtual reader, prints
# the scripted card's ATR, honours scenario files, reports a bad scenario once
# naming the field, logs plan injections, dumps statistics at exit.
set -u

. "${top_srcdir:-.}/tests/pcsc/provider_env.sh"
provider_env tool opensc-tool
tool=$prefix/bin/opensc-tool
expect() { # expect <description> <needle> <haystack>
	case "$3" in
	*"$2"*) echo "ok: $1" ;;
	*) fail "$1: expected '$2' in: $3" ;;
	esac
}

# 1. built-in scenario: one reader with the scripted card
out=$("$tool" -l 2>&1)
expect "opensc-tool -l lists the built-in reader" "Virtual Reader 00 00" "$out"
expect "opensc-tool -l sees a card" "Yes" "$out"
out=$("$tool" -a 2>&1)
expect "opensc-tool -a prints the scripted ATR" "3b:88:01:76:70:63:73:63:2d:73:63:c1" "$out"

# 2. scenario file: reader name as pcsc-lite forms it, other ATR, stats at exit
cat >"$work/scenario.json" <<JSON
{ "readers": [ { "name": "Virtual ePass2003", "card": "token" }, { "name": "Empty Slot" } ],
  "cards": { "token": { "type": "scripted", "atr": "3B 88 01 65 70 61 73 73 2D 73 63 D4" } },
  "stats_file": "$work/stats.json" }
JSON
out=$(VPCSC_SCENARIO=$work/scenario.json "$tool" -l 2>&1)
expect "scenario reader 0" "Virtual ePass2003 00 00" "$out"
expect "scenario reader 1" "Empty Slot 01 00" "$out"
out=$(VPCSC_SCENARIO=$work/scenario.json "$tool" -r 0 -a 2>&1)
expect "scenario ATR" "3b:88:01:65:70:61:73:73:2d:73:63:d4" "$out"
if [ -f "$work/stats.json" ]; then
	handles=$(jq -r .live_handles "$work/stats.json")
	contexts=$(jq -r .live_contexts "$work/stats.json")
	lists=$(jq -r '.calls.SCardListReaders' "$work/stats.json")
	[ "$handles" = 0 ] && [ "$contexts" = 0 ] && echo "ok: opensc-tool leaves no context or handle" ||
		fail "leaks after opensc-tool -a: contexts=$contexts handles=$handles"
	[ "$lists" -ge 1 ] 2>/dev/null && echo "ok: stats count calls" || fail "SCardListReaders count '$lists'"
else
	fail "no statistics file written at exit"
fi

# 3. bad scenario: one clear line naming the field, no crash, no readers
out=$(VPCSC_SCENARIO_JSON='{"readers":[{"nmae":"x"}]}' "$tool" -l 2>"$work/err")
rc=$?
[ $rc -lt 128 ] && echo "ok: no crash on a bad scenario (rc=$rc)" || fail "opensc-tool died (rc=$rc)"
n=$(grep -c 'vpcsc: scenario error: readers\[0\].nmae: unknown field' "$work/err")
[ "$n" = 1 ] && echo "ok: bad field reported once" || fail "bad field reported $n times: $(cat "$work/err")"
expect "no reader from a bad scenario" "No smart card readers found" "$out"

# 4. a plan injection is logged as one JSON line
plan='{"readers":[{"name":"R","card":"c"}],"cards":{"c":{"type":"scripted"}},
  "faults":{"seed":3,"rules":[{"trigger":{"call":"SCardEstablishContext","nth":1},
  "action":{"type":"return","code":"SCARD_E_NO_SERVICE"}}]}}'
out=$(VPCSC_SCENARIO_JSON=$plan VPCSC_EVENT_LOG=$work/events.jsonl "$tool" -l 2>&1)
expect "service refused: no readers" "No smart card readers found" "$out"
if [ -f "$work/events.jsonl" ] && [ "$(wc -l <"$work/events.jsonl")" = 1 ] &&
	[ "$(jq -r '.call + " " + .action.code' "$work/events.jsonl")" = "SCardEstablishContext SCARD_E_NO_SERVICE" ]; then
	echo "ok: injection logged"
else
	fail "event log: $(cat "$work/events.jsonl" 2>/dev/null)"
fi

# 5. image cards (virtual ePass2003 from libvcard): the epass2003 driver binds; a plan swaps in
#    another token with the same ATR and another serial before OpenSC connects
vcard_tool=${top_builddir:-.}/vcard-tool
if [ -x "$vcard_tool" ]; then
	"$vcard_tool" create "$work/t1.img" --serial 0102030405060708 >/dev/null &&
		"$vcard_tool" create "$work/t2.img" --serial 1112131415161718 >/dev/null ||
		fail "vcard-tool create"
	cat >"$work/images.json" <<JSON
{ "readers": [ { "name": "Virtual ePass2003", "card": "t1" } ],
  "cards": { "t1": { "type": "image", "path": "t1.img" }, "t2": { "type": "image", "path": "t2.img" } } }
JSON
	out=$(VPCSC_SCENARIO=$work/images.json "$tool" -n --serial 2>&1)
	expect "image card bound by the epass2003 driver" "epass2003" "$out"
	expect "image card serial" "01 02 03 04 05 06 07 08" "$out"
	jq '.faults = {"rules": [{"trigger": {"call": "SCardConnect", "nth": 2},
		"action": {"type": "card_swap", "card": "t2"}}]}' "$work/images.json" >"$work/swap.json"
	out=$(VPCSC_SCENARIO=$work/swap.json "$tool" -a --serial 2>&1)
	expect "swapped token keeps the ePass2003 ATR" "3b:9f:95:81:31:fe:9f:00:66:46:53:05" "$out"
	expect "swapped token has the other serial" "11 12 13 14 15 16 17 18" "$out"
	out=$(VPCSC_SCENARIO_JSON='{"readers":[{"name":"R","card":"x"}],"cards":{"x":{"type":"image","path":"/nonexistent.img"}}}' \
		"$tool" -l 2>&1)
	expect "unreadable image named" "cards.x.path" "$out"
else
	fail "vcard-tool not built ($vcard_tool)"
fi

[ $failures = 0 ] || exit 1
exit 0
