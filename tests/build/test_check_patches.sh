#!/usr/bin/env bash
# Every patch applies to the pristine tarball with no fuzz, carries DEP-3 fields, and patches/
# equals what its patch tree exports.
set -u
: "${top_srcdir:?}" "${OPENSC_TARBALL:?}"
exec bash "$top_srcdir/build-aux/patch-queue" check "$OPENSC_TARBALL" "$top_srcdir/patches"
