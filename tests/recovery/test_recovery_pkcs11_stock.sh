#!/usr/bin/env bash
# The PKCS#11-level recovery cases on stock OpenSC, checked against the stock column of pkcs11.tsv
# (what unpatched 0.27.1 does today). run_suite.sh runs them on both variants.
set -u
: "${top_builddir:?}" "${OPENSC_STOCK_PREFIX:?}"
OPENSC_PREFIX=$OPENSC_STOCK_PREFIX RECOVERY_VARIANT=stock exec "$top_builddir/tests/recovery/test_recovery_pkcs11"
