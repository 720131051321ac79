## tests/delivery/local.mk — the delivery checks (doc/delivery.md): the self-contained module, its
## installer (temporary target; and for real in a private namespace when root), the Homebrew tap (matches
## the pin and the series, ruby -c, replayed on Linux) and the quilt export (quilt push -a).

# Two PKCS#11 modules in one process (the interposition check). OpenSC's own pkcs11.h comes from the
# pinned release tree, which `all` unpacks before check programs are built.
check_PROGRAMS += tests/delivery/p11-two-modules
tests_delivery_p11_two_modules_SOURCES = tests/delivery/p11_two_modules.cpp
tests_delivery_p11_two_modules_CPPFLAGS = $(AM_CPPFLAGS) -I$(OPENSC_STOCK_SRC)/src/pkcs11
$(tests_delivery_p11_two_modules_OBJECTS): $(OPENSC_DIR)/stock/.installed
tests_delivery_p11_two_modules_LDADD = $(LIBS)

# The module is built (once; cached like the OpenSC trees) before the tests run.
check_DATA += $(MODULE_FILES)

delivery_test_list = tests/delivery/test_quilt_export.sh tests/delivery/test_homebrew_tap.sh \
	tests/delivery/test_module.sh tests/delivery/test_install_module.sh \
	tests/delivery/test_install_module_namespace.sh tests/delivery/test_homebrew_replay.sh
TESTS += $(delivery_test_list)
dist_check_SCRIPTS += $(delivery_test_list)
EXTRA_DIST += tests/delivery/common.sh tests/delivery/install_namespace_inner.sh tests/delivery/homebrew_replay.rb
