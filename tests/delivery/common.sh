# shellcheck shell=bash
# Shared by the delivery tests (make check): paths and small assertions.
# Environment from make check: top_srcdir, top_builddir, OPENSC_TARBALL, OPENSC_STOCK_PREFIX,
# OPENSC_PATCHED_PREFIX.
dl_src=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
dl_build=${top_builddir:-$(pwd)}
MODULE_DIR="$dl_build/module"
MODULE_SO="$MODULE_DIR/opensc-pkcs11.so"
P11_INFO="$MODULE_DIR/opensc-p11-info"
INSTALLER="$dl_src/build-aux/opensc-recovery-install"
dl_failures=0
# The fork's identity as the series sets it (VERSION.mk): the version suffix and the product name that
# C_GetInfo reports as its library description.
dl_series_value()
{
	local p
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$dl_src/patches/series" | while read -r p; do
		sed -n "s/^+$1=//p" "$dl_src/patches/$p"
	done | tail -n 1
}
DL_SUFFIX=$(dl_series_value PACKAGE_SUFFIX)
DL_PRODUCT=$(dl_series_value VS_FF_PRODUCT_NAME)

dl_ok() { echo "ok: $*"; }
dl_fail() { echo "FAIL: $*"; dl_failures=$((dl_failures + 1)); }
dl_skip() { echo "SKIP: $*"; exit 77; }
# dl_check DESCRIPTION COMMAND...: ok when COMMAND succeeds
dl_check() { local d=$1; shift; if "$@"; then dl_ok "$d"; else dl_fail "$d"; fi; }
# has TEXT REGEX: TEXT contains a line matching REGEX
has() { printf '%s\n' "$1" | grep -q -e "$2"; }
# hasf TEXT STRING: TEXT contains STRING (no regex)
hasf() { printf '%s\n' "$1" | grep -q -F -e "$2"; }
dl_need_module()
{
	[ -r "$MODULE_SO" ] && [ -x "$P11_INFO" ] || { echo "FAIL: $MODULE_SO not built ('make module')"; exit 1; }
}
dl_finish() { if [ "$dl_failures" = 0 ]; then echo "PASS"; exit 0; fi; echo "$dl_failures failure(s)"; exit 1; }
