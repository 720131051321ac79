#!/usr/bin/env bash
# The Homebrew formula replayed on Linux (tests/delivery/homebrew_replay.rb, a minimal stand-in for
# Homebrew's formula DSL): the pinned tarball, the formula's patches in its order (each sha256 checked),
# its install steps (autoreconf, configure with homebrew-core's options, make install) into a temporary
# prefix, then its `test do` block (opensc-tool -i and the module's C_GetInfo name the fork).
# This builds OpenSC once more (several minutes of CPU): a pass is remembered for the same inputs
# (formula, its patches, the tarball, the stand-in) under homebrew-replay/ in the build directory;
# any change replays it again (only the `test do` block when nothing else changed).
# HOMEBREW_REPLAY_FORCE=1 replays everything regardless.
set -uo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"
command -v ruby >/dev/null 2>&1 || dl_skip "ruby is not installed (Debian package ruby)"
[ -r "${OPENSC_TARBALL:-}" ] || { echo "FAIL: no pinned tarball (OPENSC_TARBALL='${OPENSC_TARBALL:-}')"; exit 1; }
formula="$dl_src/dist/homebrew/Formula/opensc-recovery.rb"
replay="$dl_src/tests/delivery/homebrew_replay.rb"
dir="$dl_build/homebrew-replay"
mkdir -p "$dir"
key=$(cat "$formula" "$dl_src"/dist/homebrew/patches/* "$replay" "$OPENSC_TARBALL" | sha256sum | cut -d' ' -f1)
if [ "${HOMEBREW_REPLAY_FORCE:-0}" != 1 ] && [ -f "$dir/passed" ] && [ "$(cat "$dir/passed")" = "$key" ]; then
	echo "the formula was replayed for these same inputs (formula, patches, tarball, stand-in) on $(date -r "$dir/passed" -u +%FT%TZ):"
	grep -E 'homebrew-replay: (applied|  ok|PASS|tarball)' "$dir/replay.log"
	echo "PASS (remembered; HOMEBREW_REPLAY_FORCE=1 replays it again)"
	exit 0
fi
rm -f "$dir/passed"
# The build is reused when only the formula's `test do` block changed (same install key).
install_key=$( (sed '/^  test do/,/^  end/d' "$formula"; cat "$dl_src"/dist/homebrew/patches/* "$replay" "$OPENSC_TARBALL") |
	sha256sum | cut -d' ' -f1)
test_only=0
if [ "${HOMEBREW_REPLAY_FORCE:-0}" != 1 ] && [ -f "$dir/run/installed-by" ] && [ "$(cat "$dir/run/installed-by")" = "$install_key" ]; then
	test_only=1
fi
echo "replaying $formula (log: $dir/replay.log, build log: $dir/run/build.log)"
if REPLAY_JOBS=${OPENSC_JOBS:-2} REPLAY_TEST_ONLY=$test_only REPLAY_INSTALL_KEY=$install_key \
	ruby "$replay" "$formula" "$OPENSC_TARBALL" "$dir/run" "$dl_src/upstream/opensc.pin" >"$dir/replay.log" 2>&1; then
	cat "$dir/replay.log"
	echo "$key" >"$dir/passed"
	rm -rf "$dir/run/src" # the build tree (the prefix, the logs and installed-by stay)
	echo PASS
	exit 0
fi
cat "$dir/replay.log"
tail -n 30 "$dir/run/build.log" 2>/dev/null
echo FAIL
exit 1
