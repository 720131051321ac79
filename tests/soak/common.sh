# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the soak scripts (sourced): where things are, and a personalised token.
# Environment (from make): top_srcdir, top_builddir, OPENSC_STOCK_PREFIX, OPENSC_PATCHED_PREFIX, VPCSC_LIBRARY.
# make soak / make bench give them relative to the directory make runs in, so a copied build tree
# uses itself; soak_driver runs the driver with LD_LIBRARY_PATH on the variant's prefix, because
# OpenSC's libraries carry the RUNPATH of the prefix they were built for.

soak_die() { echo "${0##*/}: $*" >&2; exit 1; }

soak_init()
{
	: "${top_srcdir:?}" "${top_builddir:?}" "${OPENSC_STOCK_PREFIX:?}" "${OPENSC_PATCHED_PREFIX:?}" "${VPCSC_LIBRARY:?}"
	SOAK_DRIVER=${SOAK_DRIVER:-$top_builddir/soak-driver}
	STOCK_MODULE=$OPENSC_STOCK_PREFIX/lib/opensc-pkcs11.so
	PATCHED_MODULE=$OPENSC_PATCHED_PREFIX/lib/opensc-pkcs11.so
	export VPCSC_LIBRARY
	[ -x "$SOAK_DRIVER" ] || soak_die "no soak driver at $SOAK_DRIVER (make soak-driver)"
	command -v jq >/dev/null || soak_die "jq is needed"
	for m in "$STOCK_MODULE" "$PATCHED_MODULE" "$VPCSC_LIBRARY"; do
		[ -f "$m" ] || soak_die "missing $m"
	done
}

# soak_driver stock|patched ARGS...: the driver on that variant's module, its libraries from its prefix
soak_driver()
{
	local prefix
	case $1 in
	stock) prefix=$OPENSC_STOCK_PREFIX ;;
	patched) prefix=$OPENSC_PATCHED_PREFIX ;;
	*) soak_die "soak_driver: unknown variant $1" ;;
	esac
	shift
	LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
		"$SOAK_DRIVER" --module "$prefix/lib/opensc-pkcs11.so" "$@"
}

# soak_token DIR: prints the path of a token image: $SOAK_TOKEN if set, else one personalised now
# in DIR with stock pkcs15-init (tests/vcard/make_test_token.sh: user PIN 123456, key 01 RSA-2048 sign)
soak_token()
{
	if [ -n "${SOAK_TOKEN:-}" ]; then
		[ -f "$SOAK_TOKEN" ] || soak_die "SOAK_TOKEN=$SOAK_TOKEN: no such file"
		echo "$SOAK_TOKEN"
		return
	fi
	VCARD_TOKEN_CERT=0 bash "$top_srcdir/tests/vcard/make_test_token.sh" "$1/token.img" >"$1/token.log" 2>&1 ||
		{ cat "$1/token.log" >&2; soak_die "personalising the token failed"; }
	echo "$1/token.img"
}
