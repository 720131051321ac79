#!/usr/bin/env bash
# build-aux/opensc-recovery-install in its "local" mode (the /usr/local/lib/opensc-pkcs11.so case),
# pointed at a temporary target and state directory (no root needed, nothing outside $TMPDIR touched):
# --dry-run changes nothing; install keeps a backup and records sha256s; the refusals (not the fork,
# not an OpenSC module, installed twice, uninstall of something not installed, a target changed since
# install) each name the file and the reason; uninstall restores the original byte for byte; and an
# install or uninstall interrupted after any step leaves the old or the new module at the target, never
# none, and a later uninstall completes the rollback.
set -uo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"
dl_need_module
stock=${OPENSC_STOCK_PREFIX:-}
[ -r "$stock/lib/opensc-pkcs11.so" ] || { echo "FAIL: stock OpenSC not built (OPENSC_STOCK_PREFIX='$stock')"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/install-test.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
export PCSCLITE_CSOCK_NAME="$tmp/no-pcscd"
T="$tmp/lib/opensc-pkcs11.so"
S="$tmp/state"
inst() { bash "$INSTALLER" --mode local --target "$T" --state-dir "$S" --info-tool "$P11_INFO" "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
fresh() { rm -rf "$tmp/lib" "$S"; mkdir -p "$tmp/lib"; cp "$stock/lib/opensc-pkcs11.so" "$T"; }
ours=$(sha "$MODULE_SO")
orig=$(sha "$stock/lib/opensc-pkcs11.so")
# expect_refusal DESCRIPTION FILE REASON-REGEX COMMAND...
expect_refusal()
{
	local d=$1 file=$2 re=$3 out rc
	shift 3
	out=$("$@" 2>&1); rc=$?
	if [ $rc = 1 ] && echo "$out" | grep -q "refused: $file: .*$re"; then
		dl_ok "$d: $(echo "$out" | grep 'refused:' | sed "s|$tmp|\$TMP|g")"
	else
		dl_fail "$d (rc $rc): $out"
	fi
}

fresh
# --dry-run: every step printed, nothing changed
out=$(inst --dry-run install "$MODULE_SO" 2>&1); rc=$?
echo "$out" | sed "s|$tmp|\$TMP|g; s/^/    /"
dl_check "--dry-run exits 0" [ $rc = 0 ]
dl_check "--dry-run prints the steps (backup link, copy, rename into place)" \
	eval 'has "$out" "\[dry-run\] step .*ln .*opensc-recovery-backup" && has "$out" "\[dry-run\] step .*mv -f .*opensc-recovery-new"'
dl_check "--dry-run changed nothing" sh -c "[ '$(sha "$T")' = '$orig' ] && [ ! -e '$S' ] && [ \$(ls '$tmp/lib' | wc -l) = 1 ]"

# refusals
expect_refusal "uninstall before any install" "$T" "nothing installed" inst uninstall
expect_refusal "installing a module that is not the fork" "$stock/lib/opensc-pkcs11.so" "not the opensc-recovery module" \
	inst install "$stock/lib/opensc-pkcs11.so"
if [ -r /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so ]; then
	cp /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so "$T"
	expect_refusal "replacing a PKCS#11 module that is not OpenSC's (p11-kit-trust)" "$T" "not an OpenSC PKCS#11 module" \
		inst install "$MODULE_SO"
fi
printf 'not a library\n' >"$T"
expect_refusal "replacing a file that is no PKCS#11 module" "$T" "not a loadable PKCS#11 module" inst install "$MODULE_SO"
dl_check "the refused files were left alone" [ "$(cat "$T")" = "not a library" ]

# install, twice, uninstall
fresh
out=$(inst install "$MODULE_SO" 2>&1); rc=$?
echo "$out" | sed "s|$tmp|\$TMP|g; s/^/    /"
dl_check "install over a stock OpenSC module" [ $rc = 0 ]
dl_check "the target is our module (sha256)" [ "$(sha "$T")" = "$ours" ]
dl_check "the target is a copy, not a link" [ ! -L "$T" ]
dl_check "the original is kept as the backup (sha256)" [ "$(sha "$T.opensc-recovery-backup")" = "$orig" ]
dl_check "the state records both sha256" sh -c "grep -q 'original_sha256=$orig' '$S/installed' && grep -q 'installed_sha256=$ours' '$S/installed'"
dl_check "C_GetInfo of the installed module names the fork" sh -c "'$P11_INFO' '$T' | grep -q 'description=.*+recovery'"
expect_refusal "installing twice" "$T" "already installed" inst install "$MODULE_SO"
cp "$T" "$tmp/ours.so"; printf 'x' >>"$T"
expect_refusal "uninstalling a target changed since install" "$T" "not the file .* installed" inst uninstall
cp "$tmp/ours.so" "$T"
out=$(inst uninstall 2>&1); rc=$?
echo "$out" | sed "s|$tmp|\$TMP|g; s/^/    /"
dl_check "uninstall" [ $rc = 0 ]
dl_check "the original is back byte for byte" cmp -s "$T" "$stock/lib/opensc-pkcs11.so"
dl_check "no backup, temporary file or state left" sh -c "[ \$(ls '$tmp/lib' | wc -l) = 1 ] && [ ! -e '$S/installed' ]"

# nothing at the target before: uninstall removes ours
rm -rf "$tmp/lib" "$S"
inst install "$MODULE_SO" >/dev/null 2>&1 && inst uninstall >/dev/null 2>&1
dl_check "install where there was nothing, uninstall: nothing again" [ ! -e "$T" ]

# interruptions: after each step of install, then of uninstall
nsteps=$(fresh; inst --dry-run install "$MODULE_SO" 2>&1 | grep -c '^\[dry-run\] step')
usteps=$(fresh; inst install "$MODULE_SO" >/dev/null 2>&1; inst --dry-run uninstall 2>&1 | grep -c '^\[dry-run\] step')
bad=0
for ((n = 1; n <= nsteps; n++)); do
	fresh
	OPENSC_RECOVERY_INSTALL_STOP_AFTER=$n inst install "$MODULE_SO" >/dev/null 2>&1
	now=$(sha "$T" 2>/dev/null || echo missing)
	if [ "$now" != "$orig" ] && [ "$now" != "$ours" ]; then echo "    install stopped after step $n: target is $now"; bad=1; fi
	inst uninstall >"$tmp/u.out" 2>&1 || { echo "    install stopped after step $n: uninstall failed: $(cat "$tmp/u.out")"; bad=1; }
	cmp -s "$T" "$stock/lib/opensc-pkcs11.so" && [ "$(ls "$tmp/lib" | wc -l)" = 1 ] ||
		{ echo "    install stopped after step $n: not rolled back ($(ls "$tmp/lib"))"; bad=1; }
done
for ((n = 1; n <= usteps; n++)); do
	fresh
	inst install "$MODULE_SO" >/dev/null 2>&1
	OPENSC_RECOVERY_INSTALL_STOP_AFTER=$n inst uninstall >/dev/null 2>&1
	now=$(sha "$T" 2>/dev/null || echo missing)
	if [ "$now" != "$orig" ] && [ "$now" != "$ours" ]; then echo "    uninstall stopped after step $n: target is $now"; bad=1; fi
	if [ -e "$S/installed" ]; then
		inst uninstall >"$tmp/u.out" 2>&1 || { echo "    uninstall stopped after step $n: second uninstall failed: $(cat "$tmp/u.out")"; bad=1; }
	fi
	cmp -s "$T" "$stock/lib/opensc-pkcs11.so" && [ "$(ls "$tmp/lib" | wc -l)" = 1 ] ||
		{ echo "    uninstall stopped after step $n: not rolled back ($(ls "$tmp/lib"))"; bad=1; }
done
dl_check "interrupted after each of $nsteps install and $usteps uninstall steps: old or new module always in place, uninstall completes the rollback" [ $bad = 0 ]
dl_finish
