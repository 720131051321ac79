## The pinned OpenSC, built twice under the build directory: 'stock' (pristine) and 'patched'
## (patches/series applied in order), each installed into its own private prefix.
## Re-running make rebuilds a tree only when the tarball, the configure flags or (patched) a patch changed.

OPENSC_DIR = $(abs_top_builddir)/opensc
OPENSC_STOCK_SRC = $(OPENSC_DIR)/stock/src
OPENSC_PATCHED_SRC = $(OPENSC_DIR)/patched/src
OPENSC_STOCK_PREFIX = $(OPENSC_DIR)/stock/prefix
OPENSC_PATCHED_PREFIX = $(OPENSC_DIR)/patched/prefix
OPENSC_SERIES = $(srcdir)/patches/series
OPENSC_PATCH_FILES = $(addprefix $(srcdir)/patches/,$(shell sed -e 's/\#.*//' $(srcdir)/patches/series 2>/dev/null))
PATCH_TREE = $(abs_top_builddir)/patch-tree

OPENSC_BUILD = $(BASH) $(srcdir)/build-aux/opensc-build

# Regenerated on every make, but only touched when its content changes.
$(OPENSC_DIR)/inputs: FORCE
	@mkdir -p $(OPENSC_DIR)
	@{ echo "tarball: $(OPENSC_TARBALL)"; echo "flags: $(OPENSC_CONFIGURE_FLAGS)"; \
	   echo "compiler: $$($(CC) --version | head -n1)"; } >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; echo "  OpenSC inputs changed"; fi

$(OPENSC_DIR)/stock/.installed: $(OPENSC_DIR)/inputs $(srcdir)/build-aux/opensc-build
	@rm -f $@
	$(AM_V_GEN)$(OPENSC_BUILD) --variant stock --tarball '$(OPENSC_TARBALL)' --dir '$(OPENSC_DIR)/stock' \
		--jobs $(OPENSC_JOBS) -- $(OPENSC_CONFIGURE_FLAGS)
	@touch $@

$(OPENSC_DIR)/patched/.installed: $(OPENSC_DIR)/inputs $(srcdir)/build-aux/opensc-build $(OPENSC_SERIES) $(OPENSC_PATCH_FILES)
	@rm -f $@
	$(AM_V_GEN)$(OPENSC_BUILD) --variant patched --tarball '$(OPENSC_TARBALL)' --dir '$(OPENSC_DIR)/patched' \
		--patches '$(abs_srcdir)/patches' --jobs $(OPENSC_JOBS) -- $(OPENSC_CONFIGURE_FLAGS)
	@touch $@

opensc-stock: $(OPENSC_DIR)/stock/.installed
opensc-patched: $(OPENSC_DIR)/patched/.installed
opensc: opensc-stock opensc-patched

all-local: opensc

## Patch queue (doc/building.md)
patch-tree:
	@$(BASH) $(srcdir)/build-aux/patch-queue tree '$(OPENSC_TARBALL)' '$(srcdir)/patches' '$(PATCH_TREE)'

export-patches:
	@$(BASH) $(srcdir)/build-aux/patch-queue export '$(PATCH_TREE)' '$(srcdir)/patches'

check-patches:
	@$(BASH) $(srcdir)/build-aux/patch-queue check '$(OPENSC_TARBALL)' '$(srcdir)/patches'

clean-local: clean-opensc clean-soak clean-module clean-recovery-valgrind
clean-opensc:
	-rm -rf $(OPENSC_DIR) $(abs_top_builddir)/asan $(abs_top_builddir)/patches-werror $(abs_top_builddir)/piv-sm \
		$(abs_top_builddir)/tsan \
		$(abs_top_builddir)/piv-sm-suite

## Long checks, not part of `make check` (doc/building.md)
# The recovery suite with ASan+UBSan in a second, sanitized build of this project (both OpenSC trees too)
check-recovery-asan:
	@$(BASH) $(srcdir)/build-aux/check-recovery-asan --srcdir '$(abs_srcdir)' --dir '$(abs_top_builddir)/asan' \
		--tarball '$(OPENSC_TARBALL)' --jobs $(OPENSC_JOBS)

# Each prefix of patches/series builds with -Werror; the unit tests run where a patch touches them
check-patches-werror:
	@$(BASH) $(srcdir)/build-aux/check-patches-werror --tarball '$(OPENSC_TARBALL)' --patches '$(abs_srcdir)/patches' \
		--dir '$(abs_top_builddir)/patches-werror' --jobs $(OPENSC_JOBS) -- $(OPENSC_CONFIGURE_FLAGS) --disable-man

# The series in an OpenSC configured with --enable-piv-sm: build + OpenSC's unit tests (issue 10 item 1)
check-piv-sm:
	@$(BASH) $(srcdir)/build-aux/check-piv-sm --tarball '$(OPENSC_TARBALL)' --patches '$(abs_srcdir)/patches' \
		--dir '$(abs_top_builddir)/piv-sm' --jobs $(OPENSC_JOBS) -- $(OPENSC_CONFIGURE_FLAGS) --disable-man

# The recovery suite (stock vs patched) in a second build of this project whose two OpenSC trees are
# configured with --enable-piv-sm
check-recovery-piv-sm:
	@$(BASH) $(srcdir)/build-aux/check-recovery-piv-sm --srcdir '$(abs_srcdir)' --dir '$(abs_top_builddir)/piv-sm-suite' \
		--tarball '$(OPENSC_TARBALL)' --jobs $(OPENSC_JOBS)

# The reader driver's unit tests, threads included, under helgrind (also in make check)
check-reader-helgrind: opensc-patched
	@$(AM_TESTS_ENVIRONMENT) $(BASH) $(srcdir)/tests/build/test_reader_pcsc_helgrind.sh


# The reader driver's unit test and the PKCS#11 stress case (p-stress) under ThreadSanitizer, in an
# OpenSC built with -fsanitize=thread from the tarball + patches (issue 10 item 3)
check-reader-tsan: libvpcsc.la tests/recovery/librecovery_vcard.la vcard-tool$(EXEEXT) opensc-stock
	@$(AM_TESTS_ENVIRONMENT) $(BASH) $(srcdir)/build-aux/check-reader-tsan --srcdir '$(abs_srcdir)' \
		--builddir '$(abs_top_builddir)' --tarball '$(OPENSC_TARBALL)' --patches '$(abs_srcdir)/patches' \
		--dir '$(abs_top_builddir)/tsan' --jobs $(OPENSC_JOBS) -- $(OPENSC_CONFIGURE_FLAGS)

.PHONY: check-recovery-asan check-patches-werror check-piv-sm check-reader-helgrind check-reader-tsan check-recovery-piv-sm

.PHONY: FORCE opensc opensc-stock opensc-patched patch-tree export-patches check-patches clean-opensc
FORCE:
