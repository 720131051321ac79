#!/usr/bin/env bash
# The installer for real, without touching the machine: in a private mount namespace with overlays over
# /usr, /etc and /var (so also /var/lib/dpkg, dpkg's log and ldconfig's cache), Debian's own
# opensc-pkcs11 package (fetched through apt into the cache) is installed, then ours over it with
# dpkg-divert; ssh-agent loads the distribution's path and signs through pcscd restarts (the demo's
# harness: tests/harness, tests/e2e/ssh_agent_scenario.sh); p11-kit sees the fork; the distribution's
# libopensc and ours run side by side in one process; interrupted installs roll back; uninstall restores
# the package's file byte for byte with `dpkg --verify` clean. Then, with the package removed, the
# /usr/local/lib mode. Needs root (like the demo); skips (77) naming what is missing otherwise.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
. "$dl_src/tests/e2e/common.sh"
[ "$(id -u)" = 0 ] || dl_skip "needs root (mount namespace and overlays), like make demo"
for t in unshare dpkg dpkg-divert apt-get p11-kit; do
	command -v "$t" >/dev/null 2>&1 || dl_skip "missing: $t"
done
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || dl_skip "the kernel has no overlay filesystem"
e2e_prereqs || dl_skip "requirements of the e2e harness missing (above)"
dl_need_module
[ -x "$dl_build/tests/delivery/p11-two-modules" ] || { echo "FAIL: tests/delivery/p11-two-modules not built"; exit 1; }

# Debian's opensc-pkcs11, through apt, into the cache (once).
cache="${OPENSC_RECOVERY_CACHE:-${HOME:-/root}/.cache/opensc-recovery}/debs"
mkdir -p "$cache"
arch=$(dpkg --print-architecture)
deb=$(ls -t "$cache"/opensc-pkcs11_*_"$arch".deb 2>/dev/null | head -n 1)
if [ -z "$deb" ]; then
	(cd "$cache" && apt-get download opensc-pkcs11 >"$cache/apt-download.log" 2>&1) ||
		dl_skip "cannot download Debian's opensc-pkcs11 (apt-get download; see $cache/apt-download.log)"
	deb=$(ls -t "$cache"/opensc-pkcs11_*_"$arch".deb | head -n 1)
fi
echo "Debian package: $(basename "$deb")"

work=$(mktemp -d "${TMPDIR:-/tmp}/install-ns.XXXXXX")
echo "work directory (logs): $work"
image=$(e2e_personalise "$work") || { echo "FAIL: could not personalise the virtual ePass2003"; exit 1; }

DL_DEB=$deb DL_WORK=$work DL_IMAGE=$image \
	unshare --mount --propagation private -- bash "$here/install_namespace_inner.sh"
rc=$?
if [ $rc = 0 ]; then rm -rf "$work"; else echo "logs kept in $work"; fi
exit $rc
