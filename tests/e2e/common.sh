# shellcheck shell=bash
# Shared by the end-to-end tests and the demo: requirements, card personalisation, one variant run
# inside its own namespace, and the side-by-side table.
#
# Environment (set by `make check` / `make demo`): top_srcdir, top_builddir, OPENSC_STOCK_PREFIX,
# OPENSC_PATCHED_PREFIX; optional PCSCD, VPCD_DRIVER, VPCD_BRIDGE, VCARD_TOOL.

e2e_src=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
e2e_build=${top_builddir:-$(pwd)}
export top_srcdir=$e2e_src top_builddir=$e2e_build
E2E_HARNESS="$e2e_src/tests/harness"
E2E_DIR="$e2e_src/tests/e2e"
E2E_PIN=${E2E_PIN:-123456}
export E2E_PIN
# shellcheck source=tests/harness/prereqs.sh
. "$E2E_HARNESS/prereqs.sh"

e2e_vcard_tool() { echo "${VCARD_TOOL:-$e2e_build/vcard-tool}"; }

# Name everything missing on stderr; 1 if anything is.
e2e_prereqs()
{
	local bad=0 t
	harness_prereqs || bad=1
	for t in ssh-agent ssh-add ssh-keygen timeout; do
		command -v "$t" >/dev/null 2>&1 || { echo "missing: $t (Debian package openssh-client / coreutils)" >&2; bad=1; }
	done
	[ -x "$(e2e_vcard_tool)" ] || { echo "missing: vcard-tool ($(e2e_vcard_tool); build it with 'make vcard-tool')" >&2; bad=1; }
	if [ -z "${OPENSC_STOCK_PREFIX:-}" ] || [ ! -x "$OPENSC_STOCK_PREFIX/bin/pkcs15-init" ]; then
		echo "missing: stock OpenSC (OPENSC_STOCK_PREFIX='${OPENSC_STOCK_PREFIX:-}'; 'make opensc-stock')" >&2
		bad=1
	fi
	return $bad
}

# e2e_variant_available PREFIX: the prefix has the PKCS#11 module and the tools.
e2e_variant_available()
{
	[ -n "${1:-}" ] && [ -r "$1/lib/opensc-pkcs11.so" ] && [ -x "$1/bin/opensc-tool" ]
}

# e2e_personalise WORKDIR → prints the personalised image's path (virtual ePass2003, PIN $E2E_PIN,
# RSA-2048 key), made with the stock pkcs15-init in its own namespace.
e2e_personalise()
{
	local work=$1
	mkdir -p "$work"
	if ! OPENSC_PREFIX="$OPENSC_STOCK_PREFIX" VCARD_TOOL="$(e2e_vcard_tool)" \
		"$E2E_HARNESS/netns-run" "$E2E_DIR/personalise.sh" "$work/epass2003.json" "$work/personalise" \
		>"$work/personalise.out" 2>&1; then
		cat "$work/personalise.out" >&2
		return 1
	fi
	echo "$work/epass2003.json"
}

# e2e_make_cac WORKDIR → prints the NSS database directory of a libcacard CAC. Its keys need no
# login (the PIN given to ssh-add is accepted, not checked): see make_cac_db.sh for why.
e2e_make_cac()
{
	local db="$1/cac-nssdb"
	"$E2E_DIR/make_cac_db.sh" "$db" >&2 || return 1
	echo "$db"
}

# e2e_card_args WORKDIR CARD: a private copy of CARD (an ePass2003 image file, or a CAC NSS
# database directory) under WORKDIR, and prints the vpcd-bridge arguments serving it; CARD "none"
# means a real token (no bridge).
e2e_card_args()
{
	local work=$1 card=$2
	if [ "$card" = none ]; then
		echo none # a real token: no bridge
	elif [ -d "$card" ]; then
		rm -rf "$work/cac-nssdb"
		cp -r "$card" "$work/cac-nssdb"
		echo "--cac $work/cac-nssdb"
	else
		cp "$card" "$work/card.json"
		echo "--card $work/card.json"
	fi
}

# e2e_run_ssh_variant NAME PREFIX WORKDIR CARD: the OpenSSH scenario for one OpenSC, on a fresh copy
# of the card; its result is WORKDIR/result.env.
e2e_run_ssh_variant()
{
	local name=$1 prefix=$2 work=$3 card=$4
	mkdir -p "$work"
	E2E_VARIANT=$name E2E_PREFIX=$prefix E2E_WORKDIR=$work E2E_BRIDGE_ARGS="$(e2e_card_args "$work" "$card")" \
		timeout 300 "$E2E_HARNESS/netns-run" "$E2E_DIR/ssh_agent_scenario.sh" 2>&1 | tee "$work/scenario.out" |
		sed "s/^/  [$name] /"
	[ -r "$work/result.env" ]
}

# e2e_run_p11_variant NAME PREFIX WORKDIR CARD: the raw PKCS#11 scenario (one session across
# restarts; E2E_CLIENTS processes) for one OpenSC; result in WORKDIR/result.env. E2E_BRIDGE_EXTRA:
# more vpcd-bridge options (e.g. --verbose: every APDU in WORKDIR/bridge.log).
e2e_run_p11_variant()
{
	local name=$1 prefix=$2 work=$3 card=$4
	mkdir -p "$work"
	E2E_VARIANT=$name E2E_PREFIX=$prefix E2E_WORKDIR=$work \
		E2E_BRIDGE_ARGS="$(e2e_card_args "$work" "$card")${E2E_BRIDGE_EXTRA:+ $E2E_BRIDGE_EXTRA}" \
		P11_CLIENT="${P11_CLIENT:-$e2e_build/tests/e2e/p11-session-loop}" \
		timeout 300 "$E2E_HARNESS/netns-run" "$E2E_DIR/p11_scenario.sh" 2>&1 | tee "$work/scenario.out" |
		sed "s/^/  [$name] /"
	[ -r "$work/result.env" ]
}

# e2e_run_nss_variant NAME PREFIX WORKDIR CARD: p11_scenario.sh with NSS as the caller
# (nss-sign-loop: SECMOD_LoadUserModule, one login, PK11_Sign in a loop, a thread in
# SECMOD_WaitForAnyTokenEvent); result in WORKDIR/result.env, the client's log WORKDIR/p11.log.
e2e_run_nss_variant()
{
	P11_CLIENT="${NSS_CLIENT:-$e2e_build/tests/e2e/nss-sign-loop}" e2e_run_p11_variant "$@"
}

# e2e_run_tls_variant NAME PREFIX WORKDIR CARD: p11_scenario.sh with OpenSSL + libp11 as the caller
# (tls_handshake_loop.sh: openssl s_server on the token's key through the pkcs11 engine, s_client
# handshakes in a loop); result in WORKDIR/result.env, the handshakes in WORKDIR/p11.log.
e2e_run_tls_variant()
{
	P11_CLIENT="$E2E_DIR/tls_handshake_loop.sh" e2e_run_p11_variant "$@"
}

# e2e_libp11_engine: the path of libp11's OpenSSL engine, or 1 (named on stderr) when missing.
e2e_libp11_engine()
{
	local e
	for e in /usr/lib/*/engines-3/pkcs11.so /usr/lib/engines-3/pkcs11.so; do
		[ -r "$e" ] && { echo "$e"; return 0; }
	done
	echo "missing: libp11's OpenSSL engine pkcs11.so (Debian package libengine-pkcs11-openssl)" >&2
	return 1
}

# e2e_result FILE KEY: one value of a result.env
e2e_result()
{
	(
		# shellcheck disable=SC1090
		. "$1"
		eval "echo \"\${$2[*]}\""
	)
}

# e2e_table STOCK_RESULT PATCHED_RESULT (a missing file shows as "not run")
e2e_table()
{
	local s=$1 p=$2
	col()
	{
		local f=$1 what=$2
		if [ ! -r "$f" ]; then echo "not run"; return; fi
		if [ "$(e2e_result "$f" status)" != done ]; then echo "setup failed"; return; fi
		case $what in
		sigs) echo "$(e2e_result "$f" sig_ok) OK / $(e2e_result "$f" sig_fail) failed" ;;
		restarts) echo "$(e2e_result "$f" restarts_survived) of $(e2e_result "$f" restarts)" ;;
		outage)
			if [ "$(e2e_result "$f" restarts_survived)" = 0 ]; then echo "- (never back)"
			else echo "$(e2e_result "$f" outage_fail)"; fi
			;;
		recovery)
			local v out=""
			for v in $(e2e_result "$f" recovery_ms); do
				if [ "$v" = - ]; then out="$out never"; else out="$out ${v}ms"; fi
			done
			echo "${out# }"
			;;
		esac
	}
	printf '%-36s | %-28s | %-28s\n' "" "stock ${DEMO_OPENSC:-OpenSC 0.27.1}" "patched ${DEMO_OPENSC:-OpenSC 0.27.1}"
	printf '%-36s-+-%-28s-+-%-28s\n' "------------------------------------" "----------------------------" "----------------------------"
	printf '%-36s | %-28s | %-28s\n' "signatures OK / failed" "$(col "$s" sigs)" "$(col "$p" sigs)"
	printf '%-36s | %-28s | %-28s\n' "  of which failed before card back" "$(col "$s" outage)" "$(col "$p" outage)"
	printf '%-36s | %-28s | %-28s\n' "pcscd restarts survived" "$(col "$s" restarts)" "$(col "$p" restarts)"
	printf '%-36s | %-28s | %-28s\n' "service back -> first good signature" "$(col "$s" recovery)" "$(col "$p" recovery)"
}

# e2e_caller_row LABEL STOCK_RESULT PATCHED_RESULT: one compact row of the callers' table:
# signatures (or handshakes) OK / failed, restarts survived, and new logins when a caller counts them.
e2e_caller_row()
{
	local label=$1 s=$2 p=$3
	cell()
	{
		local f=$1 out
		if [ ! -r "$f" ]; then echo "not run"; return; fi
		if [ "$(e2e_result "$f" status)" != done ]; then echo "setup failed"; return; fi
		out="$(e2e_result "$f" sig_ok) OK / $(e2e_result "$f" sig_fail) failed, $(e2e_result "$f" restarts_survived) of $(e2e_result "$f" restarts)"
		case "$(e2e_result "$f" login_needed)" in "" | 0) ;; *) out="$out, $(e2e_result "$f" login_needed) login" ;; esac
		echo "$out"
	}
	printf '%-36s | %-37s | %-37s\n' "$label" "$(cell "$s")" "$(cell "$p")"
}

# e2e_run_both RUNNER WORKDIR IMAGE: the scenario of RUNNER (e2e_run_ssh_variant, e2e_run_p11_variant)
# on stock, then on patched if it is built, and the side-by-side table. Sets patched_ran (0 or 1).
e2e_run_both()
{
	local runner=$1 work=$2 image=$3
	"$runner" stock "$OPENSC_STOCK_PREFIX" "$work/stock" "$image"
	patched_ran=0
	if e2e_variant_available "${OPENSC_PATCHED_PREFIX:-}"; then
		"$runner" patched "$OPENSC_PATCHED_PREFIX" "$work/patched" "$image"
		patched_ran=1
	fi
	echo
	e2e_table "$work/stock/result.env" "$work/patched/result.env"
}

# e2e_finish WORKDIR RC: keeps the logs of a failed test (RC 1), removes them otherwise; exits RC.
e2e_finish()
{
	if [ "$2" = 1 ]; then echo "logs kept in $1"; else rm -rf "$1"; fi
	exit "$2"
}

# e2e_verdict WORKDIR PATCHED_RAN: assert stock fails and patched survives; prints why; returns
# 0 (as expected), 1 (not), 77 (stock as expected, patched not built).
e2e_verdict()
{
	local work=$1 patched_ran=$2 failures=0 s="$1/stock/result.env" p="$1/patched/result.env"
	if [ ! -r "$s" ] || [ "$(e2e_result "$s" status)" != done ]; then
		echo "FAIL: stock scenario did not run: $(e2e_result "$s" reason 2>/dev/null)"
		failures=$((failures + 1))
	elif [ "$(e2e_result "$s" restarts_survived)" != 0 ] || [ "$(e2e_result "$s" sig_fail)" = 0 ]; then
		echo "FAIL: stock OpenSC survived pcscd restarts; the scenario no longer reproduces OpenSC #3395"
		failures=$((failures + 1))
	else
		echo "ok: stock fails after a pcscd restart as measured ($(e2e_result "$s" first_fail_reason | cut -c1-80))"
	fi
	if [ "$patched_ran" = 0 ]; then
		echo "patched OpenSC not available (OPENSC_PATCHED_PREFIX='${OPENSC_PATCHED_PREFIX:-}')"
		[ $failures = 0 ] && return 77
		return 1
	fi
	if [ ! -r "$p" ] || [ "$(e2e_result "$p" status)" != done ]; then
		echo "FAIL: patched scenario did not run: $(e2e_result "$p" reason 2>/dev/null)"
		failures=$((failures + 1))
	elif [ "$(e2e_result "$p" restarts_survived)" != "$(e2e_result "$p" restarts_planned)" ] ||
		[ "$(e2e_result "$p" restarts)" != "$(e2e_result "$p" restarts_planned)" ]; then
		echo "FAIL: patched OpenSC survived $(e2e_result "$p" restarts_survived) of $(e2e_result "$p" restarts_planned) restarts"
		failures=$((failures + 1))
	else
		echo "ok: patched survived every restart ($(e2e_result "$p" outage_fail) attempt(s) failed before the card was back)"
	fi
	[ $failures = 0 ]
}

# e2e_verdict_callers WORKDIR PATCHED_RAN: e2e_verdict, and for patched also: no attempt failed
# after "service back" (outage_fail 0), and the caller never needed a new login (login_needed 0,
# counted by nss-sign-loop). Same return codes as e2e_verdict.
e2e_verdict_callers()
{
	local work=$1 patched_ran=$2 rc p="$1/patched/result.env"
	e2e_verdict "$work" "$patched_ran"
	rc=$?
	[ "$patched_ran" = 1 ] && [ -r "$p" ] && [ "$(e2e_result "$p" status)" = done ] || return $rc
	if [ "$(e2e_result "$p" outage_fail)" != 0 ]; then
		echo "FAIL: patched: $(e2e_result "$p" outage_fail) attempt(s) failed after pcscd was back (expected 0)"
		rc=1
	elif [ "$(e2e_result "$p" restarts_survived)" = "$(e2e_result "$p" restarts_planned)" ]; then
		echo "ok: patched: no attempt failed after pcscd was back"
	fi
	if [ "$(e2e_result "$p" login_needed)" != 0 ]; then
		echo "FAIL: patched: the caller needed a new login $(e2e_result "$p" login_needed) time(s) (expected none)"
		rc=1
	else
		echo "ok: patched: no new login needed"
	fi
	return $rc
}

# e2e_p11_restart_test NAME: the raw PKCS#11 session loop across real pcscd restarts (E2E_RESTARTS,
# default 4), stock then patched, with the usual verdict; skips (77) when a requirement is missing.
# The caller sets E2E_POLL_SLOTS etc. for its variant.
e2e_p11_restart_test()
{
	local work image
	P11_CLIENT=${P11_CLIENT:-$e2e_build/tests/e2e/p11-session-loop}
	export P11_CLIENT
	if ! e2e_prereqs || [ ! -x "$P11_CLIENT" ]; then
		[ -x "$P11_CLIENT" ] || echo "missing: $P11_CLIENT (make tests/e2e/p11-session-loop)" >&2
		echo "SKIP: requirements missing (above)"
		exit 77
	fi
	work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-$1.XXXXXX")
	export E2E_RESTARTS=${E2E_RESTARTS:-4} E2E_DEADLINE=${E2E_DEADLINE:-4}
	echo "work directory (logs): $work"
	image=$(e2e_personalise "$work") || { echo "FAIL: could not personalise the virtual ePass2003"; exit 1; }

	e2e_run_both e2e_run_p11_variant "$work" "$image"
	echo
	e2e_verdict "$work" "$patched_ran"
	e2e_finish "$work" $?
}
