## tests/pcsc/local.mk — libvpcsc: PC/SC semantics, fault plans, and stock OpenSC through the provider.
## The cmocka binaries link libvpcsc.la directly (SCard* are the provider's; no libpcsclite).

pcsc_test_cxxflags = $(AM_CXXFLAGS) $(PCSC_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/tests/pcsc -pthread
pcsc_test_ldadd = libvpcsc.la $(CMOCKA_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/pcsc/test_provider_semantics
TESTS += tests/pcsc/test_provider_semantics

tests_pcsc_test_provider_semantics_SOURCES = tests/pcsc/test_provider_semantics.cpp tests/pcsc/common.hpp
tests_pcsc_test_provider_semantics_CXXFLAGS = $(pcsc_test_cxxflags)
tests_pcsc_test_provider_semantics_LDADD = $(pcsc_test_ldadd)

check_PROGRAMS += tests/pcsc/test_provider_pinpad
TESTS += tests/pcsc/test_provider_pinpad

tests_pcsc_test_provider_pinpad_SOURCES = tests/pcsc/test_provider_pinpad.cpp tests/pcsc/common.hpp
tests_pcsc_test_provider_pinpad_CXXFLAGS = $(pcsc_test_cxxflags)
tests_pcsc_test_provider_pinpad_LDADD = $(pcsc_test_ldadd)

check_PROGRAMS += tests/pcsc/test_provider_late_card
TESTS += tests/pcsc/test_provider_late_card

tests_pcsc_test_provider_late_card_SOURCES = tests/pcsc/test_provider_late_card.cpp tests/pcsc/common.hpp
tests_pcsc_test_provider_late_card_CXXFLAGS = $(pcsc_test_cxxflags)
tests_pcsc_test_provider_late_card_LDADD = $(pcsc_test_ldadd)

check_PROGRAMS += tests/pcsc/test_fault_plan
TESTS += tests/pcsc/test_fault_plan

tests_pcsc_test_fault_plan_SOURCES = tests/pcsc/test_fault_plan.cpp tests/pcsc/common.hpp
tests_pcsc_test_fault_plan_CXXFLAGS = $(pcsc_test_cxxflags) $(JSON_CFLAGS)
tests_pcsc_test_fault_plan_LDADD = $(pcsc_test_ldadd)

## Stock OpenSC 0.27.1 through the provider. The C test compiles against the stock source tree
## (OpenSC installs no libopensc headers) and links the stock libopensc.so.
dist_check_SCRIPTS += tests/pcsc/test_opensc_tool_through_provider.sh
TESTS += tests/pcsc/test_opensc_tool_through_provider.sh
dist_check_SCRIPTS += tests/pcsc/test_opensc_pinpad.sh
EXTRA_DIST += tests/pcsc/provider_env.sh
TESTS += tests/pcsc/test_opensc_pinpad.sh

check_PROGRAMS += tests/pcsc/test_opensc_stock
TESTS += tests/pcsc/test_opensc_stock
tests_pcsc_test_opensc_stock_SOURCES = tests/pcsc/test_opensc_stock.c
tests_pcsc_test_opensc_stock_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(OPENSC_STOCK_SRC)/src -I$(OPENSC_STOCK_SRC)
$(tests_pcsc_test_opensc_stock_OBJECTS): $(OPENSC_DIR)/stock/.installed
tests_pcsc_test_opensc_stock_LDFLAGS = -Wl,-rpath,$(OPENSC_STOCK_PREFIX)/lib
tests_pcsc_test_opensc_stock_LDADD = $(OPENSC_STOCK_PREFIX)/lib/libopensc.so $(CMOCKA_LIBS) $(PTHREAD_LIBS) -ldl
tests_pcsc_test_opensc_stock_DEPENDENCIES = $(OPENSC_DIR)/stock/.installed libvpcsc.la
tests/pcsc/test_opensc_stock-test_opensc_stock.$(OBJEXT): $(OPENSC_DIR)/stock/.installed

## make valgrind-pcsc: the provider suites under valgrind (memcheck); make sanitize-pcsc: the same
## suites against a provider built with ASan+UBSan and with TSan (scripted cards only, no libvcard).
## Neither is part of make check.
pcsc_suites = tests/pcsc/test_provider_semantics tests/pcsc/test_provider_pinpad tests/pcsc/test_provider_late_card \
	tests/pcsc/test_fault_plan
valgrind-pcsc: $(pcsc_suites)
	@for t in $(pcsc_suites); do \
		echo "valgrind $$t"; \
		$(LIBTOOL) --mode=execute valgrind -q --error-exitcode=9 --leak-check=full \
			--errors-for-leak-kinds=definite ./$$t >$$t.valgrind.log 2>&1 || \
			{ cat $$t.valgrind.log; exit 1; }; \
	done

pcsc_san_sources = $(addprefix $(top_srcdir)/,$(filter %.cpp,$(libvpcsc_la_SOURCES)))
sanitize-pcsc:
	@for san in address,undefined thread; do \
		dir=tests/pcsc/san-$${san%%,*}; mkdir -p $$dir; \
		flags="-std=c++17 -g -O1 -fsanitize=$$san -fno-sanitize-recover=all -fno-omit-frame-pointer -pthread"; \
		echo "  SAN      $$san"; \
		$(CXX) $$flags -fPIC -shared -I$(top_srcdir)/src $(PCSC_CFLAGS) $(JSON_CFLAGS) $(pcsc_san_sources) \
			-Wl,--version-script=$(top_srcdir)/src/pcsc/libvpcsc.map -o $$dir/libvpcsc.so || exit 1; \
		for t in $(pcsc_suites); do \
			n=$$(basename $$t); \
			$(CXX) $$flags -I$(top_srcdir)/src -I$(top_srcdir)/tests/pcsc $(PCSC_CFLAGS) $(JSON_CFLAGS) \
				$(CMOCKA_CFLAGS) $(top_srcdir)/$$t.cpp -o $$dir/$$n -L$$dir -lvpcsc $(CMOCKA_LIBS) \
				-Wl,-rpath,$(abs_builddir)/$$dir || exit 1; \
			echo "  RUN      $$dir/$$n"; \
			$$dir/$$n >$$dir/$$n.log 2>&1 || { cat $$dir/$$n.log; exit 1; }; \
		done; \
	done
CLEANFILES += tests/pcsc/*.valgrind.log tests/pcsc/san-address/* tests/pcsc/san-thread/*
.PHONY: valgrind-pcsc sanitize-pcsc
