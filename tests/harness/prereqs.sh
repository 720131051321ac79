# shellcheck shell=bash
# What a real-pcscd run needs; harness_prereqs names every missing piece on stderr and returns 1.
# Locations can be overridden: PCSCD, VPCD_DRIVER, VPCD_BRIDGE (else $top_builddir/vpcd-bridge).

harness_pcscd() { echo "${PCSCD:-$(command -v pcscd 2>/dev/null || echo /usr/sbin/pcscd)}"; }
harness_vpcd_driver() { echo "${VPCD_DRIVER:-/usr/lib/pcsc/drivers/serial/libifdvpcd.so}"; }
harness_bridge() { echo "${VPCD_BRIDGE:-${top_builddir:-.}/vpcd-bridge}"; }

harness_prereqs()
{
	local missing=()
	if [ "$(id -u)" != 0 ]; then
		missing+=("root (private mount + network + PID namespaces need it; run as root or in a root container)")
	elif ! command -v unshare >/dev/null 2>&1; then
		missing+=("unshare (Debian package util-linux)")
	elif ! unshare --mount --net --pid --fork true 2>/dev/null; then
		missing+=("namespaces: 'unshare --mount --net --pid --fork' is refused here (container without CAP_SYS_ADMIN? run it --privileged)")
	fi
	command -v ip >/dev/null 2>&1 || missing+=("ip (Debian package iproute2)")
	[ -x "$(harness_pcscd)" ] || missing+=("pcscd (Debian package pcscd; looked for $(harness_pcscd))")
	[ -r "$(harness_vpcd_driver)" ] || missing+=("vpcd driver $(harness_vpcd_driver) (Debian package vsmartcard-vpcd)")
	[ -d /run/pcscd ] || mkdir -p /run/pcscd 2>/dev/null || missing+=("/run/pcscd (mount point for the private tmpfs)")
	[ -x "$(harness_bridge)" ] || missing+=("vpcd-bridge ($(harness_bridge); build it with 'make vpcd-bridge')")
	if [ ${#missing[@]} -gt 0 ]; then
		local m
		for m in "${missing[@]}"; do echo "missing: $m" >&2; done
		return 1
	fi
	return 0
}
