#!/usr/bin/env bash
# vpcd-bridge as a process: SIGTERM and SIGINT stop it cleanly (exit 0) while it waits for vpcd,
# and a card image is saved on the way out; bad command lines are refused (exit 2).
# No pcscd: the bridge only retries its connection to a port nobody listens on.
set -uo pipefail
bridge=${VPCD_BRIDGE:-${top_builddir:-.}/vpcd-bridge}
vcard_tool=${VCARD_TOOL:-${top_builddir:-.}/vcard-tool}
[ -x "$bridge" ] || { echo "FAIL: no $bridge"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/vpcd-signals.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0

# A port with no listener, so the bridge stays in its reconnect loop.
port=$(( (RANDOM % 20000) + 40000 ))

run_and_signal()
{
	local sig=$1
	shift
	"$bridge" "$@" --port "$port" --log "$work/bridge-$sig.log" &
	local pid=$!
	for _ in $(seq 1 100); do
		grep -q "not reachable" "$work/bridge-$sig.log" 2>/dev/null && break
		sleep 0.02
	done
	kill -s "$sig" "$pid"
	local rc=0
	wait "$pid" || rc=$?
	echo "$rc"
}

for sig in TERM INT; do
	rc=$(run_and_signal "$sig" --scripted)
	if [ "$rc" != 0 ] || ! grep -q "bridge stopped" "$work/bridge-$sig.log"; then
		echo "FAIL: SIG$sig: exit $rc, log: $(cat "$work/bridge-$sig.log")"
		fail=1
	else
		echo "ok: SIG$sig stops the bridge cleanly"
	fi
done

if [ -x "$vcard_tool" ]; then
	"$vcard_tool" create "$work/card.json" >/dev/null
	: >"$work/bridge-TERM.log"
	rc=$(run_and_signal TERM --card "$work/card.json")
	# (vcard saves only what changed; the bridge's part is to call save() on the way out.)
	if [ "$rc" != 0 ] || ! grep -q "card image saved to $work/card.json" "$work/bridge-TERM.log" ||
		[ ! -s "$work/card.json" ]; then
		echo "FAIL: card image not saved on SIGTERM (exit $rc): $(cat "$work/bridge-TERM.log")"
		fail=1
	else
		echo "ok: card image saved on SIGTERM"
	fi
	"$bridge" --card "$work/missing.json" --port "$port" --log "$work/missing.log"
	rc=$?
	if [ "$rc" != 1 ] || ! grep -q "cannot open the card" "$work/missing.log"; then
		echo "FAIL: a missing image must be refused with exit 1 (got $rc)"
		fail=1
	else
		echo "ok: missing image refused"
	fi
else
	echo "FAIL: no $vcard_tool"
	fail=1
fi

for args in "" "--scripted --card x" "--scripted --port 0" "--scripted --slot 99"; do
	# shellcheck disable=SC2086
	"$bridge" $args >/dev/null 2>&1
	rc=$?
	if [ "$rc" != 2 ]; then
		echo "FAIL: '$args' should be refused with exit 2, got $rc"
		fail=1
	fi
done
[ $fail = 0 ] && echo "ok: bad command lines refused"
exit $fail
