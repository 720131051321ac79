#!/usr/bin/env bash
# make export-quilt: dist/debian/patches (quilt series, DEP-3 headers) and the Fedora PatchNNNN list
# equal what patches/series exports now, and the series applies to the pinned tarball with a real
# `quilt push -a --fuzz=0`. A changed patch without `make export-quilt` must fail, naming the file.
set -uo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"
command -v quilt >/dev/null 2>&1 || dl_skip "quilt is not installed (Debian package quilt)"
[ -r "${OPENSC_TARBALL:-}" ] || { echo "FAIL: no pinned tarball (OPENSC_TARBALL='${OPENSC_TARBALL:-}')"; exit 1; }

out=$(bash "$dl_src/build-aux/export-quilt" check "$dl_src" "$OPENSC_TARBALL" 2>&1); rc=$?
echo "$out"
[ $rc = 0 ] && dl_ok "dist/debian + dist/fedora are current and quilt push -a applies them" || dl_fail "export-quilt check (rc $rc)"

# The check can fail: a copy of the tree with one patch changed and dist/ not regenerated.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/quilt-mut.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
cp -r "$dl_src/patches" "$dl_src/upstream" "$dl_src/dist" "$tmp/"
first=$(sed -e 's/#.*//' -e '/^$/d' "$tmp/patches/series" | head -n 1)
sed -i '0,/^diff --git/s//Extra line.\n\n&/' "$tmp/patches/$first"
out=$(bash "$dl_src/build-aux/export-quilt" check "$tmp" 2>&1); rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q "dist/debian/patches/$first differs"; then
	dl_ok "a changed patch without make export-quilt fails, naming dist/debian/patches/$first"
else
	dl_fail "a changed patch was not detected: $out"
fi
# DEP-3: every exported patch has Description (with a long description), Author, Forwarded, Last-Update.
for p in $(cat "$dl_src/dist/debian/patches/series"); do
	f="$dl_src/dist/debian/patches/$p"
	for k in Description Author Forwarded Last-Update; do
		grep -q "^$k: ." "$f" || dl_fail "$p: no DEP-3 $k"
	done
	sed -n '2p' "$f" | grep -q '^ ' || dl_fail "$p: no long description"
done
dl_finish
