#!/usr/bin/env bash
# make demo — the main job: OpenSSH's ssh-agent signing through OpenSC while pcscd is restarted,
# first with the stock OpenSC 0.27.1 module, then with the patched one, on the embedded virtual
# ePass2003 (no hardware). Each run owns a private pcscd (tests/harness/netns-run).
# Prints a side-by-side table and where the logs are. Exit 0 when stock fails and patched survives
# every restart; 1 otherwise, or when something required is missing (named).
# Environment: DEMO_RESTARTS (3), DEMO_SIGS (3 signatures after each recovery), DEMO_DEADLINE (5 s).
# A real token instead of the virtual ePass2003: DEMO_REAL_TOKEN=1 DEMO_PIN=<user PIN> (a token in
# a USB reader, found by pcscd's CCID driver inside the private namespace; an RSA key on it; no
# bridge). Not tried on hardware by this project. Mind the PIN try counter: a wrong PIN is tried
# once per variant.
set -uo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

start=$(date +%s)
echo "make demo: ssh-agent + OpenSC across real pcscd restarts (stock vs patched OpenSC 0.27.1)"
if ! e2e_prereqs; then
	echo "make demo: cannot run: the requirements above are missing" >&2
	exit 1
fi
if ! e2e_variant_available "${OPENSC_PATCHED_PREFIX:-}"; then
	echo "make demo: cannot run: patched OpenSC missing (OPENSC_PATCHED_PREFIX='${OPENSC_PATCHED_PREFIX:-}'; 'make opensc-patched')" >&2
	exit 1
fi
logs="$e2e_build/demo-logs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$logs"
export E2E_RESTARTS=${DEMO_RESTARTS:-3} E2E_SIGS=${DEMO_SIGS:-3} E2E_DEADLINE=${DEMO_DEADLINE:-5}

if [ "${DEMO_REAL_TOKEN:-0}" = 1 ]; then
	[ -n "${DEMO_PIN:-}" ] || { echo "make demo: DEMO_REAL_TOKEN=1 needs DEMO_PIN (the token's user PIN)" >&2; exit 1; }
	export E2E_PIN=$DEMO_PIN
	image=none
	echo "1. real token (no virtual card): it must be in a USB reader now"
else
	echo "1. personalising a virtual ePass2003 (PIN $E2E_PIN, RSA-2048 key generated on the card) ..."
	image=$(e2e_personalise "$logs") || { echo "make demo: personalising the virtual ePass2003 failed (see $logs)" >&2; exit 1; }
fi
echo "2. stock OpenSC: ssh-add -s once, then sign; pcscd restarted $E2E_RESTARTS times (SIGTERM/SIGKILL) ..."
e2e_run_ssh_variant stock "$OPENSC_STOCK_PREFIX" "$logs/stock" "$image"
echo "3. patched OpenSC: the same ..."
e2e_run_ssh_variant patched "$OPENSC_PATCHED_PREFIX" "$logs/patched" "$image"

echo
e2e_table "$logs/stock/result.env" "$logs/patched/result.env"
echo
echo "Reading the table: every attempt is 'ssh-keygen -Y sign' through the agent, verified with"
echo "'ssh-keygen -Y verify'; nobody runs ssh-add again. 'service back' is the moment the restarted"
echo "pcscd accepts clients; it reports the card ~0.4 s later (it polls its readers): the patched"
echo "module waits for the card then, a failure there counts as 'failed before card back'."
echo "A restart is survived when a good signature follows within"
echo "${E2E_DEADLINE}s and the next $E2E_SIGS all succeed."
echo
echo "Logs: $logs"
echo "  {stock,patched}/signatures.log  every attempt with its time and error"
echo "  {stock,patched}/pcscd.log       pcscd -d across restarts;  bridge.log  vpcd bridge (card side)"
echo "  {stock,patched}/harness.log     restarts;  ssh-add.log / ssh-agent.log"

rc=0
s="$logs/stock/result.env" p="$logs/patched/result.env"
if [ "$(e2e_result "$s" status 2>/dev/null)" != done ] || [ "$(e2e_result "$p" status 2>/dev/null)" != done ]; then
	echo "Verdict: the scenario could not run: $(e2e_result "$s" reason 2>/dev/null) $(e2e_result "$p" reason 2>/dev/null)"
	rc=1
else
	if [ "$(e2e_result "$s" restarts_survived)" = 0 ]; then
		echo "Verdict: stock OpenSC stops signing after the first pcscd restart (OpenSC #3395)."
	else
		echo "Verdict: stock OpenSC survived a restart: the demo did not reproduce the bug."
		rc=1
	fi
	if [ "$(e2e_result "$p" restarts_survived)" = "$E2E_RESTARTS" ]; then
		echo "         patched OpenSC kept signing through all $E2E_RESTARTS restarts."
	else
		echo "         patched OpenSC survived only $(e2e_result "$p" restarts_survived) of $E2E_RESTARTS restarts."
		rc=1
	fi
fi
echo "(demo took $(($(date +%s) - start)) s)"
exit $rc
