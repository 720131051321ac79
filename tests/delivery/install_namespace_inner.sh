#!/usr/bin/env bash
# Inside test_install_module_namespace.sh's private mount namespace (see there). Environment: DL_DEB,
# DL_WORK, DL_IMAGE, and make check's top_srcdir, top_builddir, OPENSC_*_PREFIX.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
. "$dl_src/tests/e2e/common.sh"
W=$DL_WORK
two="$dl_build/tests/delivery/p11-two-modules"
export PCSCLITE_CSOCK_NAME="$W/no-pcscd" # outside the harness: never the machine's pcscd
sha() { sha256sum "$1" | cut -d' ' -f1; }
inst() { bash "$INSTALLER" --info-tool "$P11_INFO" "$@"; }

# Overlays: every write below lands in a tmpfs that disappears with the namespace.
mkdir -p "$W/ovl"
mount -t tmpfs -o size=512m tmpfs "$W/ovl" || { echo "FAIL: tmpfs"; exit 1; }
for d in /usr /etc /var; do
	n=${d//\//_}
	mkdir -p "$W/ovl/$n/upper" "$W/ovl/$n/work"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$W/ovl/$n/upper,workdir=$W/ovl/$n/work" "$d" ||
		{ echo "FAIL: overlay over $d"; exit 1; }
done
dl_ok "overlays over /usr, /etc, /var (with /var/lib/dpkg) in a private mount namespace"

export DEBIAN_FRONTEND=noninteractive
dpkg -i "$DL_DEB" >"$W/dpkg-i.log" 2>&1 || { cat "$W/dpkg-i.log"; echo "FAIL: dpkg -i $(basename "$DL_DEB")"; exit 1; }
pkgver=$(dpkg-query -W -f='${Version}' opensc-pkcs11)
T=$(dpkg-query -L opensc-pkcs11 | grep '/opensc-pkcs11\.so$' | grep -v '/pkcs11/' | head -n 1)
L="$(dirname "$T")/pkcs11/opensc-pkcs11.so"
orig=$(sha "$T")
ours=$(sha "$MODULE_SO")
dl_ok "Debian's opensc-pkcs11 $pkgver installed: $T (sha256 ${orig:0:16}...), $L -> $(readlink "$L")"
dl_check "dpkg --verify opensc-pkcs11 is clean before" [ -z "$(dpkg --verify opensc-pkcs11 2>&1)" ]
p11kit() { p11-kit list-modules 2>/dev/null | awk '/^opensc-pkcs11:/{on=1} on && /library-description/{print; exit}'; }
echo "    p11-kit before: $(p11kit)"

# Before: the distribution's own module on the same path stops signing at the first pcscd restart
# (OpenSC #3395), so the scenario below can tell the two apart.
unset PCSCLITE_CSOCK_NAME
E2E_RESTARTS=1 E2E_SIGS=2 E2E_DEADLINE=4 E2E_MODULE=$T e2e_run_ssh_variant distribution "$OPENSC_PATCHED_PREFIX" "$W/ssh-dist" "$DL_IMAGE"
export PCSCLITE_CSOCK_NAME="$W/no-pcscd"
r="$W/ssh-dist/result.env"
if [ -r "$r" ] && [ "$(e2e_result "$r" status)" = done ]; then
	dl_check "before: Debian's $pkgver module at $T: $(e2e_result "$r" sig_ok) signatures OK, $(e2e_result "$r" sig_fail) failed, $(e2e_result "$r" restarts_survived) of $(e2e_result "$r" restarts_planned) restarts survived (it does not recover)" \
		[ "$(e2e_result "$r" restarts_survived)" = 0 ]
else
	dl_fail "the ssh-agent scenario with Debian's module did not run: $(e2e_result "$r" reason 2>/dev/null)"
fi

# --dry-run, then install
out=$(inst --dry-run install "$MODULE_SO" 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
dl_check "--dry-run: every step printed, nothing changed" sh -c "[ $rc = 0 ] && [ '$(sha "$T")' = '$orig' ] && [ -z \"\$(dpkg-divert --list '$T')\" ] && [ ! -e /var/lib/opensc-recovery/installed ]"
out=$(inst install "$MODULE_SO" 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
dl_check "install (divert mode found automatically)" has "$out" '(divert, owned by opensc-pkcs11'
[ $rc = 0 ] || dl_fail "install exited $rc"
dl_check "$T is ours (sha256)" [ "$(sha "$T")" = "$ours" ]
dl_check "the package's file kept as $T.distrib (sha256)" [ "$(sha "$T.distrib")" = "$orig" ]
dl_check "dpkg-divert: diverted by opensc-recovery to $T.distrib" sh -c "[ \"\$(dpkg-divert --listpackage '$T')\" = opensc-recovery ] && [ \"\$(dpkg-divert --truename '$T')\" = '$T.distrib' ]"
dl_check "$L resolves to ours" [ "$(sha "$(readlink -f "$L")")" = "$ours" ]
echo "    dpkg --verify opensc-pkcs11 while installed: '$(dpkg --verify opensc-pkcs11 2>&1 | tr '\n' ' ')'"
out=$(inst install "$MODULE_SO" 2>&1)
dl_check "installing twice is refused, naming the file: $(echo "$out" | grep refused)" has "$out" "refused: $T: already installed"
p=$(p11kit)
echo "    p11-kit while installed: $p"
dl_check "p11-kit list-modules sees the fork" has "$p" "$DL_SUFFIX"

# The compiled-in configuration file (no OPENSC_CONF): /etc/opensc/opensc.conf in the overlay.
mkdir -p /etc/opensc
printf 'app default {\n\tdebug = 3;\n\tdebug_file = %s/default-conf.log;\n}\n' "$W" >/etc/opensc/opensc.conf
(unset OPENSC_CONF; "$P11_INFO" "$T" >/dev/null 2>&1)
dl_check "without OPENSC_CONF the module reads /etc/opensc/opensc.conf (its debug_file written)" [ -s "$W/default-conf.log" ]
# The distribution's libopensc (0.23) and ours in one process, in the three orders of test_module.sh.
dist_onepin="$(dirname "$T")/onepin-opensc-pkcs11.so"
dist_lib=$(readlink -f "$(dirname "$T")/libopensc.so.8")
versions() { sed -n 's/.*OpenSC version: \([^ ]*\).*/\1/Ip' "$1" | sort -u | tr '\n' ' ' | sed 's/ $//'; }
for items in "--global-lib $dist_lib --module $T" "--global-module $T --global-lib $dist_lib" \
	"--global-module $dist_onepin --module $T"; do
	rm -f "$W/default-conf.log"
	# shellcheck disable=SC2086
	(unset OPENSC_CONF; "$two" $items >"$W/two.out" 2>&1)
	got=$(versions "$W/default-conf.log")
	sed 's/^/    /' "$W/two.out"
	dl_check "one process: ${items//$(dirname "$T")\//}: each libopensc runs its own code (log: '$got'), ours answers as the fork" \
		eval 'has "$got" "^0\.23\.[0-9]* 0\.27\.1$DL_SUFFIX\$" && grep -q -F "$DL_PRODUCT" "$W/two.out"'
done
rm -f /etc/opensc/opensc.conf

# ssh-agent with the distribution's path, through pcscd restarts (the demo's harness).
export E2E_RESTARTS=${E2E_RESTARTS:-3} E2E_SIGS=${E2E_SIGS:-2} E2E_DEADLINE=${E2E_DEADLINE:-5}
unset PCSCLITE_CSOCK_NAME
E2E_MODULE=$T e2e_run_ssh_variant opensc-recovery "$OPENSC_PATCHED_PREFIX" "$W/ssh" "$DL_IMAGE"
export PCSCLITE_CSOCK_NAME="$W/no-pcscd"
r="$W/ssh/result.env"
if [ -r "$r" ] && [ "$(e2e_result "$r" status)" = done ]; then
	dl_check "ssh-add -s $T: $(e2e_result "$r" sig_ok) signatures OK, $(e2e_result "$r" sig_fail) failed, $(e2e_result "$r" restarts_survived) of $(e2e_result "$r" restarts_planned) pcscd restarts survived" \
		[ "$(e2e_result "$r" restarts_survived)" = "$(e2e_result "$r" restarts_planned)" ]
else
	dl_fail "the ssh-agent scenario did not run: $(e2e_result "$r" reason 2>/dev/null)"
fi

# Uninstall: the package's file back, byte for byte, dpkg --verify clean.
out=$(inst uninstall 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
dl_check "uninstall" [ $rc = 0 ]
dl_check "$T is the package's file again (sha256 ${orig:0:16}...)" [ "$(sha "$T")" = "$orig" ]
dl_check "no diversion, no $T.distrib" sh -c "[ -z \"\$(dpkg-divert --list '$T')\" ] && [ ! -e '$T.distrib' ]"
dl_check "dpkg --verify opensc-pkcs11 is clean" [ -z "$(dpkg --verify opensc-pkcs11 2>&1)" ]
p=$(p11kit)
dl_check "p11-kit sees the distribution's module again ($p)" eval '! has "$p" recovery'
out=$(inst uninstall 2>&1)
dl_check "uninstalling again is refused, naming the file: $(echo "$out" | grep refused)" has "$out" "refused: $T: nothing installed"

# Interrupted after each step (install, then uninstall): the package's file or ours is always at the
# target, and uninstall always ends with the package's file, no diversion, dpkg --verify clean.
n_i=$(inst --dry-run install "$MODULE_SO" 2>&1 | grep -c '^\[dry-run\] step')
bad=0
for ((n = 1; n <= n_i; n++)); do
	OPENSC_RECOVERY_INSTALL_STOP_AFTER=$n inst install "$MODULE_SO" >/dev/null 2>&1
	now=$(sha "$T" 2>/dev/null || echo missing)
	[ "$now" = "$orig" ] || [ "$now" = "$ours" ] || { echo "    install stopped after step $n: $T is $now"; bad=1; }
	inst uninstall >"$W/u.out" 2>&1 || { echo "    after install step $n: uninstall: $(cat "$W/u.out")"; bad=1; }
	[ "$(sha "$T")" = "$orig" ] && [ -z "$(dpkg-divert --list "$T")" ] && [ -z "$(dpkg --verify opensc-pkcs11 2>&1)" ] &&
		[ ! -e "$T.distrib" ] || { echo "    after install step $n: not rolled back"; bad=1; }
done
inst install "$MODULE_SO" >/dev/null 2>&1
n_u=$(inst --dry-run uninstall 2>&1 | grep -c '^\[dry-run\] step')
inst uninstall >/dev/null 2>&1
for ((n = 1; n <= n_u; n++)); do
	inst install "$MODULE_SO" >/dev/null 2>&1
	OPENSC_RECOVERY_INSTALL_STOP_AFTER=$n inst uninstall >/dev/null 2>&1
	now=$(sha "$T" 2>/dev/null || echo missing)
	[ "$now" = "$orig" ] || [ "$now" = "$ours" ] || { echo "    uninstall stopped after step $n: $T is $now"; bad=1; }
	if [ -e /var/lib/opensc-recovery/installed ]; then inst uninstall >"$W/u.out" 2>&1 || { echo "    uninstall step $n: $(cat "$W/u.out")"; bad=1; }; fi
	[ "$(sha "$T")" = "$orig" ] && [ -z "$(dpkg-divert --list "$T")" ] && [ -z "$(dpkg --verify opensc-pkcs11 2>&1)" ] ||
		{ echo "    after uninstall step $n: not rolled back"; bad=1; }
done
dl_check "interrupted after each of $n_i install / $n_u uninstall steps: a module always in place, rollback complete, dpkg --verify clean" [ $bad = 0 ]

# Without the package: /usr/local/lib/opensc-pkcs11.so, a copy.
dpkg -r opensc-pkcs11 >>"$W/dpkg-i.log" 2>&1
out=$(inst install "$MODULE_SO" 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
dl_check "without opensc-pkcs11: installed as /usr/local/lib/opensc-pkcs11.so, a copy" \
	sh -c "[ $rc = 0 ] && [ -f /usr/local/lib/opensc-pkcs11.so ] && [ ! -L /usr/local/lib/opensc-pkcs11.so ] && [ '$(sha /usr/local/lib/opensc-pkcs11.so 2>/dev/null)' = '$ours' ]"
inst uninstall >/dev/null 2>&1
dl_check "and uninstalled: nothing there again" [ ! -e /usr/local/lib/opensc-pkcs11.so ]
echo "(namespace part took $SECONDS s)"
dl_finish
