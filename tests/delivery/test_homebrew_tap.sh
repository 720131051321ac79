#!/usr/bin/env bash
# The Homebrew tap (dist/homebrew, make homebrew-tap) matches upstream/opensc.pin and patches/series,
# is valid Ruby (ruby -c), and a changed patch or pin without regenerating fails, naming the mismatch.
set -uo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"
command -v ruby >/dev/null 2>&1 || dl_skip "ruby is not installed (Debian package ruby)"
formula="$dl_src/dist/homebrew/Formula/opensc-recovery.rb"

out=$(bash "$dl_src/build-aux/homebrew-tap" check "$dl_src" 2>&1); rc=$?
echo "$out"
[ $rc = 0 ] && dl_ok "dist/homebrew matches the pin and the series" || dl_fail "homebrew-tap check (rc $rc)"
dl_check "ruby -c $formula" ruby -c "$formula"
. "$dl_src/upstream/opensc.pin"
dl_check "the formula fetches the pinned release ($OPENSC_RELEASE_URL)" grep -q "url \"$OPENSC_RELEASE_URL\"" "$formula"
dl_check "the formula has the release's sha256" grep -q "sha256 \"$OPENSC_RELEASE_SHA256\"" "$formula"
n=$(sed -e 's/#.*//' -e '/^$/d' "$dl_src/patches/series" | wc -l)
dl_check "one patch block per patch in the series ($n)" [ "$(grep -c '^  patch do' "$formula")" = "$n" ]
dl_check "conflicts_with \"opensc\"" grep -q 'conflicts_with "opensc"' "$formula"
dl_check "autoreconf before configure" grep -q 'system "autoreconf", "--force", "--install", "--verbose"' "$formula"
for o in --enable-openssl --enable-pcsc --enable-sm --disable-silent-rules; do
	dl_check "homebrew-core's option $o" grep -q -- "$o" "$formula"
done

# The check can fail: a copy with a patch changed, then with the pin changed, not regenerated.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tap-mut.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
mk() { rm -rf "$tmp/t"; mkdir -p "$tmp/t"; cp -r "$dl_src/patches" "$dl_src/upstream" "$dl_src/dist" "$tmp/t/"; }
mk
last=$(sed -e 's/#.*//' -e '/^$/d' "$tmp/t/patches/series" | tail -n 1)
echo >>"$tmp/t/patches/$last"
out=$(bash "$dl_src/build-aux/homebrew-tap" check "$tmp/t" 2>&1); rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q "$last" && echo "$out" | grep -q "sha256"; then
	dl_ok "a changed patch fails, naming $last and its sha256"
else
	dl_fail "a changed patch was not detected: $out"
fi
mk
sed -i 's/^OPENSC_RELEASE_SHA256=.*/OPENSC_RELEASE_SHA256=0000000000000000000000000000000000000000000000000000000000000000/' "$tmp/t/upstream/opensc.pin"
out=$(bash "$dl_src/build-aux/homebrew-tap" check "$tmp/t" 2>&1); rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q "sha256 \"0000"; then
	dl_ok "a changed pin fails, naming the tarball sha256"
else
	dl_fail "a changed pin was not detected: $out"
fi
dl_finish
