## tests/vcard/local.mk — tests of the virtual ePass2003 (src/vcard).

vcard_test_cppflags = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS) $(JSON_CFLAGS) $(CMOCKA_CFLAGS)
vcard_test_ldadd = libvcard.la $(CMOCKA_LIBS) $(OPENSSL_LIBS)

check_PROGRAMS += tests/vcard/test_vcard_sm tests/vcard/test_vcard_card tests/vcard/test_vcard_image
tests_vcard_test_vcard_sm_SOURCES = tests/vcard/test_vcard_sm.cpp
tests_vcard_test_vcard_sm_CPPFLAGS = $(vcard_test_cppflags)
tests_vcard_test_vcard_sm_LDADD = $(vcard_test_ldadd)
tests_vcard_test_vcard_card_SOURCES = tests/vcard/test_vcard_card.cpp
tests_vcard_test_vcard_card_CPPFLAGS = $(vcard_test_cppflags)
tests_vcard_test_vcard_card_LDADD = $(vcard_test_ldadd)
tests_vcard_test_vcard_image_SOURCES = tests/vcard/test_vcard_image.cpp
tests_vcard_test_vcard_image_CPPFLAGS = $(vcard_test_cppflags)
tests_vcard_test_vcard_image_LDADD = $(vcard_test_ldadd)

dist_check_SCRIPTS += tests/vcard/epass2003_flows.sh tests/vcard/epass2003_flows_3des.sh \
	tests/vcard/epass2003_flows_aes.sh tests/vcard/epass2003_flows_fips.sh tests/vcard/make_test_token.sh \
	tests/vcard/p11test_conformance.sh tests/vcard/p11test_conformance_3des.sh \
	tests/vcard/p11test_conformance_fips.sh
EXTRA_DIST += tests/vcard/p11test_epass2003.allow

TESTS += tests/vcard/test_vcard_sm tests/vcard/test_vcard_card tests/vcard/test_vcard_image \
	tests/vcard/epass2003_flows_3des.sh tests/vcard/epass2003_flows_aes.sh tests/vcard/epass2003_flows_fips.sh \
	tests/vcard/p11test_conformance.sh tests/vcard/p11test_conformance_3des.sh \
	tests/vcard/p11test_conformance_fips.sh

## make test-token [VCARD_VARIANT=aes|3des|fips]: a personalised token image (test-token.img).
VCARD_VARIANT = aes
test-token: vcard-tool libvpcsc.la opensc-stock
	top_builddir='$(abs_top_builddir)' OPENSC_STOCK_PREFIX='$(OPENSC_STOCK_PREFIX)' \
	VPCSC_LIBRARY='$(abs_top_builddir)/.libs/libvpcsc.so' \
	$(BASH) $(srcdir)/tests/vcard/make_test_token.sh '$(abs_top_builddir)/test-token.img' '$(VCARD_VARIANT)'
CLEANFILES += test-token.img
.PHONY: test-token

## make fuzz-vcard [FUZZ_SECONDS=60]: libFuzzer + ASan/UBSan on the dispatcher (not in make check).
FUZZ_SECONDS = 60
VCARD_FUZZ_CXX = clang++
vcard_fuzz_sources = $(filter %.cpp,$(libvcard_la_SOURCES)) tests/vcard/fuzz_vcard_dispatcher.cpp
fuzz-vcard:
	$(VCARD_FUZZ_CXX) -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-I$(top_srcdir)/src $(OPENSSL_CFLAGS) $(JSON_CFLAGS) \
		$(addprefix $(top_srcdir)/,$(vcard_fuzz_sources)) $(OPENSSL_LIBS) -o fuzz_vcard_dispatcher
	rm -rf fuzz-vcard-corpus && mkdir -p fuzz-vcard-corpus
	printf '\x0a\x07\x00\xa4\x00\x00\x02\x3f\x00\x05\x00\x84\x00\x00\x10' >fuzz-vcard-corpus/seed1
	printf '\x04\x07\x00\xa4\x00\x00\x02\x50\x15\x0c\x00\x22\x41\xb6\x07\x80\x01\x92\x81\x02\x29\x20' >fuzz-vcard-corpus/seed2
	ASAN_OPTIONS=detect_leaks=1 ./fuzz_vcard_dispatcher -max_total_time=$(FUZZ_SECONDS) -seed=1 \
		-max_len=1024 -timeout=20 fuzz-vcard-corpus
CLEANFILES += fuzz_vcard_dispatcher
EXTRA_DIST += tests/vcard/fuzz_vcard_dispatcher.cpp
.PHONY: fuzz-vcard

## make valgrind-vcard: the vcard cmocka suites under valgrind (not in make check).
valgrind-vcard: tests/vcard/test_vcard_sm tests/vcard/test_vcard_card tests/vcard/test_vcard_image
	@for t in $^; do \
		echo "valgrind $$t"; \
		valgrind -q --error-exitcode=9 --leak-check=full ./$$t >$$t.valgrind.log 2>&1 || \
			{ cat $$t.valgrind.log; exit 1; }; \
	done
CLEANFILES += tests/vcard/*.valgrind.log
.PHONY: valgrind-vcard
