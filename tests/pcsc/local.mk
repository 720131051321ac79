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
