#!/usr/bin/env bash
# make demo-long — every real caller across real pcscd restarts, stock vs patched OpenSC 0.27.1, the
# long form of `make demo` (each caller in its own private namespace, on a fresh copy of the card):
#   ssh-agent          ssh-add -s once, ssh-keygen -Y sign through the agent (verified)
#   ssh-agent -c       the same with `ssh-add -c`: the agent asks (SSH_ASKPASS) to confirm every use
#   ssh-agent consent  a key that needs the PIN before each use (pkcs15-init --user-consent 1,
#                      CKA_ALWAYS_AUTHENTICATE): the agent cannot ask for it, so every attempt must be
#                      refused cleanly, before and after each restart (no hang, never signed: the
#                      recovery must not replay the cached PIN for such a key)
#   NSS                nss-sign-loop: SECMOD_LoadUserModule, one login, PK11_Sign every 100 ms, a thread
#                      in SECMOD_WaitForAnyTokenEvent, NSS's own presence checks
#   OpenSSL+libp11     openssl s_server on the token's key (pkcs11 engine), s_client handshakes
# Pass criteria: stock fails after the first restart (except the consent key, refused by both);
# patched survives every restart with no failure after pcscd is back and no new login, the -c run had
# a confirmation for every good signature, the consent key is refused cleanly every time.
# Environment: DEMO_LONG_RESTARTS (10, alternating SIGTERM / SIGKILL), DEMO_LONG_CALLERS (all:
# "ssh ssh-confirm ssh-consent nss tls"), DEMO_LONG_WINDOW (3 s between restarts for NSS / libp11).
# Exit 0 when every caller met its criteria, 1 otherwise.
set -uo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

start=$(date +%s)
restarts=${DEMO_LONG_RESTARTS:-10}
callers=${DEMO_LONG_CALLERS:-ssh ssh-confirm ssh-consent nss tls}
window=${DEMO_LONG_WINDOW:-3}
echo "make demo-long: real callers across $restarts real pcscd restarts each (stock vs patched OpenSC 0.27.1)"
if ! e2e_prereqs; then
	echo "make demo-long: cannot run: the requirements above are missing" >&2
	exit 1
fi
if ! e2e_variant_available "${OPENSC_PATCHED_PREFIX:-}"; then
	echo "make demo-long: cannot run: patched OpenSC missing (OPENSC_PATCHED_PREFIX='${OPENSC_PATCHED_PREFIX:-}')" >&2
	exit 1
fi
logs="$e2e_build/demo-logs/long-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$logs"
echo "personalising two virtual ePass2003 (PIN $E2E_PIN): a normal key, and a user-consent key ..."
image=$(e2e_personalise "$logs/card") || { echo "make demo-long: personalising failed (see $logs/card)" >&2; exit 1; }
consent_image=""
case " $callers " in *" ssh-consent "*)
	consent_image=$(E2E_USER_CONSENT=1 e2e_personalise "$logs/consent-card") ||
		{ echo "make demo-long: personalising the user-consent card failed (see $logs/consent-card)" >&2; exit 1; }
	;;
esac

label_of()
{
	case $1 in
	ssh) echo "ssh-agent (ssh-keygen -Y sign)" ;;
	ssh-confirm) echo "ssh-agent, ssh-add -c (confirm)" ;;
	ssh-consent) echo "ssh-agent, user-consent key" ;;
	nss) echo "NSS (PK11_Sign, one login)" ;;
	tls) echo "OpenSSL+libp11 (TLS handshakes)" ;;
	esac
}

for c in $callers; do
	echo "== $(label_of "$c"): stock, then patched"
	for v in stock patched; do
		prefix=$OPENSC_STOCK_PREFIX
		[ $v = patched ] && prefix=$OPENSC_PATCHED_PREFIX
		case $c in
		ssh) E2E_RESTARTS=$restarts E2E_SIGS=3 E2E_DEADLINE=5 e2e_run_ssh_variant "$v" "$prefix" "$logs/$c-$v" "$image" ;;
		ssh-confirm) E2E_SSH_CONFIRM=1 E2E_RESTARTS=$restarts E2E_SIGS=3 E2E_DEADLINE=5 \
			e2e_run_ssh_variant "$v" "$prefix" "$logs/$c-$v" "$image" ;;
		ssh-consent) E2E_SSH_EXPECT=refuse E2E_HANG=15 E2E_RESTARTS=$restarts E2E_SIGS=2 \
			e2e_run_ssh_variant "$v" "$prefix" "$logs/$c-$v" "$consent_image" ;;
		nss) E2E_RESTARTS=$restarts E2E_DEADLINE=$window e2e_run_nss_variant "$v" "$prefix" "$logs/$c-$v" "$image" ;;
		tls) E2E_RESTARTS=$restarts E2E_DEADLINE=$window e2e_run_tls_variant "$v" "$prefix" "$logs/$c-$v" "$image" ;;
		*) echo "make demo-long: unknown caller '$c' (ssh ssh-confirm ssh-consent nss tls)" >&2; exit 1 ;;
		esac
	done
done

echo
echo "OK / failed attempts, pcscd restarts survived; 'login': the caller had to log in again"
echo "(user-consent key: refused / signed attempts, restarts after which every attempt was refused cleanly)"
printf '%-36s | %-37s | %-37s\n' "" "stock OpenSC 0.27.1" "patched OpenSC 0.27.1"
printf '%-36s-+-%-37s-+-%-37s\n' "------------------------------------" "-------------------------------------" "-------------------------------------"
for c in $callers; do
	if [ "$c" = ssh-consent ]; then
		cell()
		{
			local f=$1
			[ -r "$f" ] && [ "$(e2e_result "$f" status)" = done ] || { echo "setup failed"; return; }
			echo "$(e2e_result "$f" sig_fail) refused ($(e2e_result "$f" hung) hung) / $(e2e_result "$f" sig_ok) signed, $(e2e_result "$f" restarts_survived) of $(e2e_result "$f" restarts)"
		}
		printf '%-36s | %-37s | %-37s\n' "$(label_of "$c")" "$(cell "$logs/$c-stock/result.env")" "$(cell "$logs/$c-patched/result.env")"
	else
		e2e_caller_row "$(label_of "$c")" "$logs/$c-stock/result.env" "$logs/$c-patched/result.env"
	fi
done
echo

rc=0
verdict() { echo "  $1: $2"; [ "${3:-ok}" = ok ] || rc=1; }
for c in $callers; do
	s="$logs/$c-stock/result.env" p="$logs/$c-patched/result.env"
	if [ "$(e2e_result "$s" status 2>/dev/null)" != done ] || [ "$(e2e_result "$p" status 2>/dev/null)" != done ]; then
		verdict "$c" "could not run: $(e2e_result "$s" reason 2>/dev/null) $(e2e_result "$p" reason 2>/dev/null)" fail
		continue
	fi
	if [ "$c" = ssh-consent ]; then
		bad=""
		for f in "$s" "$p"; do
			[ "$(e2e_result "$f" sig_ok)" = 0 ] || bad="$bad $(e2e_result "$f" variant) signed with a user-consent key;"
			[ "$(e2e_result "$f" hung)" = 0 ] || bad="$bad $(e2e_result "$f" variant) hung $(e2e_result "$f" hung) time(s);"
		done
		[ "$(e2e_result "$p" restarts_survived)" = "$restarts" ] || bad="$bad patched: not every restart ended in clean refusals;"
		if [ -z "$bad" ]; then
			verdict "$c" "every attempt refused cleanly (longest: stock $(e2e_result "$s" max_attempt_ms) ms, patched $(e2e_result "$p" max_attempt_ms) ms)"
		else
			verdict "$c" "FAIL:$bad" fail
		fi
		continue
	fi
	bad=""
	[ "$(e2e_result "$s" restarts_survived)" = 0 ] && [ "$(e2e_result "$s" sig_fail)" != 0 ] ||
		bad="$bad stock survived $(e2e_result "$s" restarts_survived) restart(s) (not reproduced);"
	[ "$(e2e_result "$p" restarts_survived)" = "$restarts" ] ||
		bad="$bad patched survived $(e2e_result "$p" restarts_survived) of $restarts;"
	[ "$(e2e_result "$p" outage_fail)" = 0 ] ||
		bad="$bad patched: $(e2e_result "$p" outage_fail) failure(s) after pcscd was back;"
	case "$(e2e_result "$p" login_needed)" in "" | 0) ;; *) bad="$bad patched: $(e2e_result "$p" login_needed) new login(s);" ;; esac
	if [ "$c" = ssh-confirm ] && [ "$(e2e_result "$p" confirmations)" -lt "$(e2e_result "$p" sig_ok)" ]; then
		bad="$bad patched: $(e2e_result "$p" confirmations) confirmation(s) for $(e2e_result "$p" sig_ok) signatures;"
	fi
	if [ -z "$bad" ]; then
		verdict "$c" "stock stops after the first restart; patched kept going through all $restarts"
	else
		verdict "$c" "FAIL:$bad" fail
	fi
done
echo "Logs: $logs/<caller>-{stock,patched}/"
echo "(demo-long took $(($(date +%s) - start)) s)"
exit $rc
