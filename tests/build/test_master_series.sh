#!/usr/bin/env bash
# The upstream pull-request series (patches/upstream-master/) applies with no fuzz to the pinned OpenSC
# master snapshot, equals what its patch tree exports, and its changed lines are clean under master's
# .clang-format (and codespell, where installed), and matches the 0.27.1 series topic by topic
# (build-aux/check-topics); the snapshot is obtained and verified by build-aux/opensc-master-fetch, which refuses
# a tarball of anything else naming both pinned checksums.
set -u
: "${top_srcdir:?}"
fetch="$top_srcdir/build-aux/opensc-master-fetch"
if ! tarball=$("$fetch" --offline 2>"${TMPDIR:-/tmp}/master-fetch.$$"); then
	cat "${TMPDIR:-/tmp}/master-fetch.$$" >&2; rm -f "${TMPDIR:-/tmp}/master-fetch.$$"
	echo "SKIP: the pinned OpenSC master snapshot is not available here (see upstream/opensc-master.pin)"
	exit 77
fi
rm -f "${TMPDIR:-/tmp}/master-fetch.$$"
fail=0
# A tarball of something else is refused with both pins named.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "not OpenSC" | gzip >"$tmp/other.tar.gz"
if "$fetch" --cache "$tmp/cache" --tarball "$tmp/other.tar.gz" >"$tmp/out" 2>"$tmp/err"; then
	echo "FAIL: opensc-master-fetch accepted a tarball that is not the pinned master"; fail=1
fi
. "$top_srcdir/upstream/opensc-master.pin"
for sum in "$OPENSC_MASTER_TAR_SHA256" "$OPENSC_MASTER_TARGZ_SHA256"; do
	grep -q "$sum" "$tmp/err" || { echo "FAIL: the refusal does not name the pinned checksum $sum"; fail=1; }
done
[ ! -e "$tmp/cache/$OPENSC_MASTER_TARBALL" ] || { echo "FAIL: the refused tarball entered the cache"; fail=1; }
PATCH_QUEUE_DEP3=0 bash "$top_srcdir/build-aux/patch-queue" check "$tarball" "$top_srcdir/patches/upstream-master" || fail=1
# ... and matches the 0.27.1 series topic by topic (patches/upstream-master/topics)
bash "$top_srcdir/build-aux/check-topics" "$top_srcdir/patches" "$top_srcdir/patches/upstream-master" || fail=1
[ $fail = 0 ] && echo "PASS: master series and pin" 
exit $fail
