## src/vpcd/local.mk — the vpcd bridge: serves a vcard::Card to pcscd through vsmartcard's vpcd.

noinst_LTLIBRARIES += libvpcd.la
libvpcd_la_SOURCES = \
	src/vpcd/backoff.cpp src/vpcd/backoff.hpp \
	src/vpcd/bridge.cpp src/vpcd/bridge.hpp \
	src/vpcd/cac_card.cpp src/vpcd/cac_card.hpp \
	src/vpcd/card_session.cpp src/vpcd/card_session.hpp \
	src/vpcd/connection.cpp src/vpcd/connection.hpp \
	src/vpcd/control.hpp \
	src/vpcd/frame_codec.cpp src/vpcd/frame_codec.hpp \
	src/vpcd/logger.cpp src/vpcd/logger.hpp \
	src/vpcd/scripted_card.cpp src/vpcd/scripted_card.hpp \
	src/vpcd/stop_event.cpp src/vpcd/stop_event.hpp \
	src/vpcd/unique_fd.hpp
libvpcd_la_CXXFLAGS = $(AM_CXXFLAGS) -pthread
libvpcd_la_LIBADD = $(PTHREAD_LIBS) $(LIBS)

bin_PROGRAMS += vpcd-bridge
vpcd_bridge_SOURCES = src/vpcd/main.cpp
vpcd_bridge_CXXFLAGS = $(AM_CXXFLAGS) -pthread
vpcd_bridge_LDADD = libvpcd.la libvcard.la $(OPENSSL_LIBS) $(PTHREAD_LIBS)

# Socket activation for the harness (systemd's pcscd.socket, repeatedly): tests/e2e lifecycle scenarios.
bin_PROGRAMS += pcscd-socket-holder
pcscd_socket_holder_SOURCES = src/vpcd/socket_holder.cpp src/vpcd/unique_fd.hpp

# Reader re-enumeration under Debian's pcscd (tests/e2e/usb_reader.sh): vpcd dressed as a one-slot USB
# reader (an IFD handler bundle), and the udev events that plug and unplug it.
check_LTLIBRARIES += libifd-usb-shim.la
libifd_usb_shim_la_SOURCES = src/vpcd/ifd_usb_shim.cpp
libifd_usb_shim_la_CPPFLAGS = $(AM_CPPFLAGS) $(PCSC_CFLAGS)
libifd_usb_shim_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
libifd_usb_shim_la_LIBADD = -ldl

check_PROGRAMS += udev-event
udev_event_SOURCES = src/vpcd/udev_event.cpp
