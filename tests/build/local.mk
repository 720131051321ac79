## Build foundation tests: the pinned tarball is verified, the patch queue is consistent, the two
## builds carry different identities, and OpenSC's own unit tests pass in the patched tree.
TESTS += \
	tests/build/test_tarball_checksum_refused.sh \
	tests/build/test_check_patches.sh \
	tests/build/test_master_series.sh \
	tests/build/test_identity_stock_vs_patched.sh \
	tests/build/test_opensc_unittests_patched.sh \
	tests/build/test_reader_pcsc_helgrind.sh
# builds in OpenSC's unit-test directory: not at the same time as OpenSC's own make check there
tests/build/test_reader_pcsc_helgrind.log: tests/build/test_opensc_unittests_patched.log
EXTRA_DIST += tests/build/test_tarball_checksum_refused.sh tests/build/test_check_patches.sh tests/build/test_master_series.sh \
	tests/build/test_identity_stock_vs_patched.sh tests/build/test_opensc_unittests_patched.sh \
	tests/build/test_reader_pcsc_helgrind.sh tests/build/helgrind.supp tests/build/tsan.supp
