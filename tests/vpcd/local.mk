## tests/vpcd/local.mk — unit tests of the vpcd bridge (no pcscd needed).

vpcd_test_cxxflags = $(AM_CXXFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/tests/vpcd -pthread
vpcd_test_ldadd = libvpcd.la $(CMOCKA_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/vpcd/test_frame_codec tests/vpcd/test_backoff tests/vpcd/test_bridge_protocol \
	tests/vpcd/test_ifdvpcd_driver
TESTS += tests/vpcd/test_frame_codec tests/vpcd/test_backoff tests/vpcd/test_bridge_protocol \
	tests/vpcd/test_ifdvpcd_driver

tests_vpcd_test_frame_codec_SOURCES = tests/vpcd/test_frame_codec.cpp
tests_vpcd_test_frame_codec_CXXFLAGS = $(vpcd_test_cxxflags)
tests_vpcd_test_frame_codec_LDADD = $(vpcd_test_ldadd)

tests_vpcd_test_backoff_SOURCES = tests/vpcd/test_backoff.cpp
tests_vpcd_test_backoff_CXXFLAGS = $(vpcd_test_cxxflags)
tests_vpcd_test_backoff_LDADD = $(vpcd_test_ldadd)

tests_vpcd_test_bridge_protocol_SOURCES = tests/vpcd/test_bridge_protocol.cpp tests/vpcd/bridge_thread.hpp
tests_vpcd_test_bridge_protocol_CXXFLAGS = $(vpcd_test_cxxflags)
tests_vpcd_test_bridge_protocol_LDADD = $(vpcd_test_ldadd)

# Loads Debian's libifdvpcd.so and provides pcscd's log_msg to it.
tests_vpcd_test_ifdvpcd_driver_SOURCES = tests/vpcd/test_ifdvpcd_driver.cpp tests/vpcd/bridge_thread.hpp
tests_vpcd_test_ifdvpcd_driver_CXXFLAGS = $(vpcd_test_cxxflags) $(PCSC_CFLAGS)
tests_vpcd_test_ifdvpcd_driver_LDFLAGS = -export-dynamic
tests_vpcd_test_ifdvpcd_driver_LDADD = $(vpcd_test_ldadd) $(LIBS)

# vpcd-bridge as a process: stop signals, save on exit, command-line errors.
TESTS += tests/vpcd/test_bridge_signals.sh
dist_check_SCRIPTS += tests/vpcd/test_bridge_signals.sh
