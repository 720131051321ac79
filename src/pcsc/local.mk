## src/pcsc/local.mk — libvpcsc: the in-process PC/SC provider with virtual readers and a fault
## injector (src/fault). Installed as libvpcsc.so; exports only SCard* and vpcsc_* (src/pcsc/vpcsc.h).

lib_LTLIBRARIES += libvpcsc.la
libvpcsc_la_SOURCES = \
	src/fault/config_error.hpp \
	src/fault/entry_point.cpp src/fault/entry_point.hpp \
	src/fault/event_log.cpp src/fault/event_log.hpp \
	src/fault/injector.cpp src/fault/injector.hpp \
	src/fault/plan.cpp src/fault/plan.hpp \
	src/fault/scard_code.cpp src/fault/scard_code.hpp \
	src/pcsc/card_factory.cpp src/pcsc/card_factory.hpp \
	src/pcsc/guard.hpp \
	src/pcsc/pinpad.cpp src/pcsc/pinpad.hpp \
	src/pcsc/provider.cpp \
	src/pcsc/reader.hpp \
	src/pcsc/scenario.cpp src/pcsc/scenario.hpp \
	src/pcsc/scripted_card.cpp src/pcsc/scripted_card.hpp \
	src/pcsc/service.cpp src/pcsc/service.hpp \
	src/pcsc/vpcsc.h \
	src/vcard/card.hpp
libvpcsc_la_CXXFLAGS = $(AM_CXXFLAGS) $(PCSC_CFLAGS) $(JSON_CFLAGS) -pthread
libvpcsc_la_LDFLAGS = -avoid-version -no-undefined -Wl,--version-script=$(top_srcdir)/src/pcsc/libvpcsc.map
EXTRA_libvpcsc_la_DEPENDENCIES = $(top_srcdir)/src/pcsc/libvpcsc.map
libvpcsc_la_LIBADD = libvcard.la $(PTHREAD_LIBS)
EXTRA_DIST += src/pcsc/README.md src/pcsc/libvpcsc.map
