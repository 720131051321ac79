#!/usr/bin/env bash
# A tarball whose checksum does not match the pin is refused, the message names both checksums,
# and opensc-build stops before anything is extracted or installed.
set -u
fail() { echo "FAIL: $*"; exit 1; }
: "${top_srcdir:?}" "${OPENSC_TARBALL:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

cp "$OPENSC_TARBALL" "$tmp/opensc-0.27.1.tar.gz"
# flip one byte in the middle
size=$(stat -c %s "$tmp/opensc-0.27.1.tar.gz")
printf '\x5a' | dd of="$tmp/opensc-0.27.1.tar.gz" bs=1 seek=$((size / 2)) conv=notrunc status=none
good=$(sha256sum "$OPENSC_TARBALL" | cut -d' ' -f1)
bad=$(sha256sum "$tmp/opensc-0.27.1.tar.gz" | cut -d' ' -f1)
[ "$good" != "$bad" ] || fail "corruption did not change the checksum"

# 1. the fetch step refuses it and names both checksums
if "$top_srcdir/build-aux/opensc-fetch" --cache "$tmp/cache" --tarball "$tmp/opensc-0.27.1.tar.gz" >"$tmp/out" 2>"$tmp/err"; then
	fail "opensc-fetch accepted a corrupted tarball"
fi
grep -q "REFUSED" "$tmp/err" || fail "no REFUSED message: $(cat "$tmp/err")"
grep -q "$bad" "$tmp/err" || fail "message does not name the actual checksum"
. "$top_srcdir/upstream/opensc.pin"
grep -q "$OPENSC_RELEASE_SHA256" "$tmp/err" || fail "message does not name the pinned release checksum"
grep -q "$OPENSC_ORIG_SHA256" "$tmp/err" || fail "message does not name the pinned orig checksum"
[ ! -e "$tmp/cache/opensc-0.27.1.tar.gz" ] || fail "the corrupted tarball entered the cache"

# 2. the build step refuses it too and builds nothing
if bash "$top_srcdir/build-aux/opensc-build" --variant stock --tarball "$tmp/opensc-0.27.1.tar.gz" \
	--dir "$tmp/build" -- --enable-pcsc >"$tmp/out" 2>"$tmp/err"; then
	fail "opensc-build built a corrupted tarball"
fi
grep -q "REFUSED" "$tmp/err" || fail "opensc-build gave no checksum message"
[ ! -e "$tmp/build/src" ] && [ ! -e "$tmp/build/prefix" ] || fail "opensc-build extracted or installed something"

# 3. configure stops with the message (run from a copy of what configure needs: the source directory
# may be configured in place, which forbids a second build directory)
mkdir -p "$tmp/cfg" "$tmp/src/upstream"
cp -r "$top_srcdir/configure" "$top_srcdir/build-aux" "$tmp/src/"
cp "$top_srcdir/upstream/opensc.pin" "$tmp/src/upstream/"
if (cd "$tmp/cfg" && "$tmp/src/configure" --with-opensc-cache="$tmp/cache" \
	--with-opensc-tarball="$tmp/opensc-0.27.1.tar.gz" >"$tmp/out" 2>"$tmp/err"); then
	fail "configure accepted a corrupted tarball"
fi
grep -q "$bad" "$tmp/err" || fail "configure did not name the actual checksum: $(tail -5 "$tmp/err")"

# 4. and the real one is accepted
"$top_srcdir/build-aux/opensc-fetch" --cache "$tmp/cache" --tarball "$OPENSC_TARBALL" >"$tmp/out" 2>"$tmp/err" ||
	fail "the pinned tarball was refused: $(cat "$tmp/err")"
echo "PASS: corrupted tarball refused (sha256 $bad), pinned one accepted"
