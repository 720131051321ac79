## Delivery (doc/delivery.md, doc/homebrew.md): the self-contained replacement module and its installer,
## the Homebrew tap and the distribution patch formats, all generated from upstream/opensc.pin and
## patches/series.

MODULE_DIR = $(abs_top_builddir)/module
MODULE_SO = $(MODULE_DIR)/opensc-pkcs11.so
MODULE_INSTALLER = $(srcdir)/build-aux/opensc-recovery-install
INSTALL_MODULE_FLAGS =

# Rebuilt only when the tarball, the series, the configuration path or the compiler change.
$(MODULE_DIR)/inputs: FORCE
	@mkdir -p $(MODULE_DIR)
	@{ echo "tarball: $(OPENSC_TARBALL)"; echo "conf: $(MODULE_CONF)"; echo "prefix: $(MODULE_PREFIX)"; \
	   echo "compiler: $$($(CC) --version | head -n1)"; } >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

$(MODULE_DIR)/.built: $(MODULE_DIR)/inputs $(srcdir)/build-aux/module-build $(OPENSC_SERIES) $(OPENSC_PATCH_FILES)
	@rm -f $@
	$(AM_V_GEN)CC='$(CC)' $(BASH) $(srcdir)/build-aux/module-build --tarball '$(OPENSC_TARBALL)' \
		--patches '$(abs_srcdir)/patches' --dir '$(MODULE_DIR)' --conf '$(MODULE_CONF)' --prefix '$(MODULE_PREFIX)' \
		--jobs $(OPENSC_JOBS)
	@touch $@

# Next to the module: the C_GetInfo reader the installer uses (OpenSC's pkcs11.h from the module's tree)
# and the installer itself.
$(MODULE_DIR)/opensc-p11-info: $(srcdir)/src/module/p11_info.cpp $(MODULE_DIR)/.built
	$(AM_V_CXX)$(CXX) -std=c++17 $(CXXFLAGS) -Wall -Wextra -Werror -I$(MODULE_DIR)/src/src/pkcs11 -o $@ \
		$(srcdir)/src/module/p11_info.cpp $(LIBS)
$(MODULE_DIR)/opensc-recovery-install: $(MODULE_INSTALLER) $(MODULE_DIR)/.built
	$(AM_V_GEN)cp $(MODULE_INSTALLER) $@ && chmod 755 $@

MODULE_FILES = $(MODULE_DIR)/.built $(MODULE_DIR)/opensc-p11-info $(MODULE_DIR)/opensc-recovery-install
module: $(MODULE_FILES)
	@echo "module: $(MODULE_SO) (reads $(MODULE_CONF) unless OPENSC_CONF is set)"

# `make install-module INSTALL_MODULE_FLAGS=--dry-run` prints every step and changes nothing.
install-module: module
	@$(BASH) $(MODULE_INSTALLER) --info-tool '$(MODULE_DIR)/opensc-p11-info' $(INSTALL_MODULE_FLAGS) install '$(MODULE_SO)'
uninstall-module:
	@$(BASH) $(MODULE_INSTALLER) $(INSTALL_MODULE_FLAGS) uninstall

## Generated distribution files (committed; `make check` fails when they are stale)
# After patches/ or upstream/opensc.pin change: make homebrew-tap export-quilt
homebrew-tap:
	@$(BASH) $(srcdir)/build-aux/homebrew-tap generate '$(abs_srcdir)'
export-quilt:
	@$(BASH) $(srcdir)/build-aux/export-quilt generate '$(abs_srcdir)'

clean-module:
	-rm -rf $(MODULE_DIR) $(abs_top_builddir)/homebrew-replay

EXTRA_DIST += build-aux/module-build build-aux/opensc-recovery-install build-aux/homebrew-tap \
	build-aux/export-quilt build-aux/homebrew-replay.rb src/module/p11_info.cpp dist

.PHONY: module install-module uninstall-module homebrew-tap export-quilt clean-module
