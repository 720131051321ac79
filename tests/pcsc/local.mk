## tests/pcsc/local.mk — libvpcsc: PC/SC semantics, fault plans, and stock OpenSC through the provider.
## The cmocka binaries link libvpcsc.la directly (SCard* are the provider's; no libpcsclite).

pcsc_test_cxxflags = $(AM_CXXFLAGS) $(PCSC_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/tests/pcsc -pthread
pcsc_test_ldadd = libvpcsc.la $(CMOCKA_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/pcsc/test_provider_semantics
TESTS += tests/pcsc/test_provider_semantics

tests_pcsc_test_provider_semantics_SOURCES = tests/pcsc/test_provider_semantics.cpp tests/pcsc/common.hpp
tests_pcsc_test_provider_semantics_CXXFLAGS = $(pcsc_test_cxxflags)
tests_pcsc_test_provider_semantics_LDADD = $(pcsc_test_ldadd)

check_PROGRAMS += tests/pcsc/test_fault_plan
TESTS += tests/pcsc/test_fault_plan

tests_pcsc_test_fault_plan_SOURCES = tests/pcsc/test_fault_plan.cpp tests/pcsc/common.hpp
tests_pcsc_test_fault_plan_CXXFLAGS = $(pcsc_test_cxxflags) $(JSON_CFLAGS)
tests_pcsc_test_fault_plan_LDADD = $(pcsc_test_ldadd)

## Stock OpenSC 0.27.1 through the provider. The C test compiles against the stock source tree
## (OpenSC installs no libopensc headers) and links the stock libopensc.so.
dist_check_SCRIPTS += tests/pcsc/test_opensc_tool_through_provider.sh
TESTS += tests/pcsc/test_opensc_tool_through_provider.sh

check_PROGRAMS += tests/pcsc/test_opensc_stock
TESTS += tests/pcsc/test_opensc_stock
tests_pcsc_test_opensc_stock_SOURCES = tests/pcsc/test_opensc_stock.c
tests_pcsc_test_opensc_stock_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(OPENSC_STOCK_SRC)/src -I$(OPENSC_STOCK_SRC)
tests_pcsc_test_opensc_stock_LDFLAGS = -Wl,-rpath,$(OPENSC_STOCK_PREFIX)/lib
tests_pcsc_test_opensc_stock_LDADD = $(OPENSC_STOCK_PREFIX)/lib/libopensc.so $(CMOCKA_LIBS) $(PTHREAD_LIBS) -ldl
tests_pcsc_test_opensc_stock_DEPENDENCIES = $(OPENSC_DIR)/stock/.installed libvpcsc.la
tests/pcsc/test_opensc_stock-test_opensc_stock.$(OBJEXT): $(OPENSC_DIR)/stock/.installed
