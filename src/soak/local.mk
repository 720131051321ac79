## src/soak/local.mk — the soak driver (soak-driver): signs in a loop through one opensc-pkcs11.so over
## libvpcsc with a virtual ePass2003 while PC/SC faults are injected; JSON + summary (src/soak/README.md).
## make soak / make bench / the smoke test are in tests/soak/local.mk.

noinst_PROGRAMS += soak-driver
soak_driver_SOURCES = \
	src/soak/main.cpp \
	src/soak/apdu_kind.cpp src/soak/apdu_kind.hpp \
	src/soak/ckr_name.cpp src/soak/ckr_name.hpp \
	src/soak/error.hpp \
	src/soak/fault_kind.cpp src/soak/fault_kind.hpp \
	src/soak/latency_histogram.cpp src/soak/latency_histogram.hpp \
	src/soak/openssl_ptr.hpp \
	src/soak/options.cpp src/soak/options.hpp \
	src/soak/pkcs11_module.cpp src/soak/pkcs11_module.hpp \
	src/soak/process_memory.cpp src/soak/process_memory.hpp \
	src/soak/report.cpp src/soak/report.hpp \
	src/soak/soak_result.hpp \
	src/soak/soak_run.cpp src/soak/soak_run.hpp \
	src/soak/verifier.cpp src/soak/verifier.hpp \
	src/soak/vpcsc_library.cpp src/soak/vpcsc_library.hpp \
	src/soak/work_dir.cpp src/soak/work_dir.hpp
# pkcs11.h: OpenSC's own (the module under test is OpenSC's)
soak_driver_CPPFLAGS = $(AM_CPPFLAGS) -I$(OPENSC_STOCK_SRC)/src/pkcs11 $(OPENSSL_CFLAGS) $(JSON_CFLAGS)
soak_driver_LDADD = $(OPENSSL_LIBS) -ldl
EXTRA_soak_driver_DEPENDENCIES = $(OPENSC_DIR)/stock/.installed
# pkcs11.h exists only once the stock tree is unpacked: compile after it (soak-driver is built by `all`)
$(soak_driver_OBJECTS): $(OPENSC_DIR)/stock/.installed
EXTRA_DIST += src/soak/README.md
