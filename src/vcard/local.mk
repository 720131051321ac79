## src/vcard/local.mk — the virtual ePass2003 card OS (libvcard.la) and vcard-tool.

noinst_LTLIBRARIES += libvcard.la
libvcard_la_SOURCES = \
	src/vcard/card.hpp \
	src/vcard/access_rule.hpp \
	src/vcard/apdu.cpp src/vcard/apdu.hpp \
	src/vcard/apdu_log.cpp src/vcard/apdu_log.hpp \
	src/vcard/asym_key.cpp src/vcard/asym_key.hpp \
	src/vcard/card_image.cpp src/vcard/card_image.hpp \
	src/vcard/card_options.cpp src/vcard/card_options.hpp \
	src/vcard/crypto.cpp src/vcard/crypto.hpp \
	src/vcard/epass2003_card.cpp src/vcard/epass2003_card.hpp \
	src/vcard/epass2003_file_commands.cpp \
	src/vcard/epass2003_key_commands.cpp \
	src/vcard/epass2003_security_commands.cpp \
	src/vcard/error.hpp \
	src/vcard/file_system.cpp src/vcard/file_system.hpp \
	src/vcard/hex.cpp src/vcard/hex.hpp \
	src/vcard/secret_store.cpp src/vcard/secret_store.hpp \
	src/vcard/secure_bytes.hpp \
	src/vcard/secure_messaging.cpp src/vcard/secure_messaging.hpp \
	src/vcard/sm_host.cpp src/vcard/sm_host.hpp \
	src/vcard/sm_session.cpp src/vcard/sm_session.hpp \
	src/vcard/sm_variant.hpp \
	src/vcard/status_word.hpp
libvcard_la_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS) $(JSON_CFLAGS)
libvcard_la_CXXFLAGS = $(AM_CXXFLAGS) -pthread
libvcard_la_LIBADD = $(OPENSSL_LIBS) $(PTHREAD_LIBS)

bin_PROGRAMS += vcard-tool
vcard_tool_SOURCES = src/vcard/vcard_tool.cpp
vcard_tool_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS) $(JSON_CFLAGS)
vcard_tool_LDADD = libvcard.la
EXTRA_DIST += src/vcard/README.md
