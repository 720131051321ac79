## The pinned OpenSC master snapshot (upstream/opensc-master.pin) for the upstream pull-request series
## (patches/upstream-master/): stock-master and patched-master side by side, built on demand only
## (nothing in `make check` needs them). doc/upstream-pr.md.

OPENSC_MASTER_DIR = $(abs_top_builddir)/opensc-master
OPENSC_MASTER_STOCK_PREFIX = $(OPENSC_MASTER_DIR)/stock/prefix
OPENSC_MASTER_PATCHED_PREFIX = $(OPENSC_MASTER_DIR)/patched/prefix
OPENSC_MASTER_PATCHES = $(srcdir)/patches/upstream-master
OPENSC_MASTER_PATCH_FILES = $(addprefix $(OPENSC_MASTER_PATCHES)/,$(shell sed -e 's/\#.*//' $(OPENSC_MASTER_PATCHES)/series 2>/dev/null))
MASTER_PATCH_TREE = $(abs_top_builddir)/master-patch-tree
# An explicit tarball: make opensc-master OPENSC_MASTER_TARBALL=PATH
OPENSC_MASTER_TARBALL =
OPENSC_MASTER_FETCH = $(srcdir)/build-aux/opensc-master-fetch

# The verified tarball's path (explicit, cache, beside the tree in ../shared/upstream, the archive URL)
$(OPENSC_MASTER_DIR)/tarball: FORCE
	@mkdir -p $(OPENSC_MASTER_DIR)
	@$(OPENSC_MASTER_FETCH) $(if $(OPENSC_MASTER_TARBALL),--tarball '$(OPENSC_MASTER_TARBALL)') >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

$(OPENSC_MASTER_DIR)/stock/.installed: $(OPENSC_MASTER_DIR)/tarball $(srcdir)/build-aux/opensc-build
	@rm -f $@
	$(AM_V_GEN)$(OPENSC_BUILD) --variant stock --tarball "$$(cat $(OPENSC_MASTER_DIR)/tarball)" \
		--verifier '$(abs_srcdir)/build-aux/opensc-master-fetch' --dir '$(OPENSC_MASTER_DIR)/stock' \
		--jobs $(OPENSC_JOBS) -- $(OPENSC_CONFIGURE_FLAGS) --disable-man
	@touch $@

$(OPENSC_MASTER_DIR)/patched/.installed: $(OPENSC_MASTER_DIR)/tarball $(srcdir)/build-aux/opensc-build \
		$(OPENSC_MASTER_PATCHES)/series $(OPENSC_MASTER_PATCH_FILES)
	@rm -f $@
	$(AM_V_GEN)$(OPENSC_BUILD) --variant patched --tarball "$$(cat $(OPENSC_MASTER_DIR)/tarball)" \
		--verifier '$(abs_srcdir)/build-aux/opensc-master-fetch' --dir '$(OPENSC_MASTER_DIR)/patched' \
		--patches '$(abs_srcdir)/patches/upstream-master' --jobs $(OPENSC_JOBS) -- $(OPENSC_CONFIGURE_FLAGS) --disable-man
	@touch $@

opensc-master-stock: $(OPENSC_MASTER_DIR)/stock/.installed
opensc-master-patched: $(OPENSC_MASTER_DIR)/patched/.installed
opensc-master: opensc-master-stock opensc-master-patched

## The master series' patch queue (doc/building.md): same commands as for patches/, other names
master-patch-tree: $(OPENSC_MASTER_DIR)/tarball
	@PATCH_QUEUE_DEP3=0 $(BASH) $(srcdir)/build-aux/patch-queue tree "$$(cat $(OPENSC_MASTER_DIR)/tarball)" '$(OPENSC_MASTER_PATCHES)' '$(MASTER_PATCH_TREE)'

export-master-patches:
	@PATCH_QUEUE_DEP3=0 $(BASH) $(srcdir)/build-aux/patch-queue export '$(MASTER_PATCH_TREE)' '$(OPENSC_MASTER_PATCHES)'

check-master-patches: $(OPENSC_MASTER_DIR)/tarball
	@PATCH_QUEUE_DEP3=0 $(BASH) $(srcdir)/build-aux/patch-queue check "$$(cat $(OPENSC_MASTER_DIR)/tarball)" '$(OPENSC_MASTER_PATCHES)'

clean-opensc-master:
	-rm -rf $(OPENSC_MASTER_DIR)

.PHONY: opensc-master opensc-master-stock opensc-master-patched master-patch-tree export-master-patches \
	check-master-patches clean-opensc-master

## Each commit of the master series builds with -Werror, and master's whole `make check` passes after the
## last commit of each PR (series section); three configurations: gcc, gcc with --enable-piv-sm (an
## upstream CI configuration), clang. Long (three OpenSC builds); not in `make check`. Incremental: a
## configuration's tree is kept in opensc-master/werror-CONFIG and a re-run goes on from the first patch
## that changed (check-patches-werror --resume). MASTER_CONFIGS selects configurations; every selected
## one runs even when an earlier one failed, and the target fails if any did. One line per commit in
## opensc-master/werror-CONFIG.out.
MASTER_CONFIGS = gcc piv-sm clang
MASTER_WERROR_RUN = $(BASH) $(srcdir)/build-aux/check-patches-werror --tarball "$$(cat $(OPENSC_MASTER_DIR)/tarball)" \
	--verifier '$(abs_srcdir)/build-aux/opensc-master-fetch' --patches '$(abs_srcdir)/patches/upstream-master' \
	--jobs $(OPENSC_JOBS) --full-check --resume
check-master-series: $(OPENSC_MASTER_DIR)/tarball
	@bad=0; for c in $(MASTER_CONFIGS); do \
		case $$c in \
		gcc) extra= ;; \
		piv-sm) extra=--enable-piv-sm ;; \
		clang) if ! command -v clang >/dev/null 2>&1; then \
				echo "check-master-series: clang not installed; the clang configuration was not run"; bad=1; continue; fi; \
			extra=CC=clang ;; \
		*) echo "check-master-series: unknown configuration '$$c'"; bad=1; continue ;; \
		esac; \
		echo "== check-master-series: $$c"; \
		$(MASTER_WERROR_RUN) --dir '$(OPENSC_MASTER_DIR)/werror-'$$c -- $(OPENSC_CONFIGURE_FLAGS) --disable-man $$extra \
			2>&1 | tee '$(OPENSC_MASTER_DIR)/werror-'$$c.out; \
		[ $${PIPESTATUS[0]} = 0 ] || bad=1; \
	done; exit $$bad
.PHONY: check-master-series

## Our suites on OpenSC master (issue 11): the recovery suite (libvpcsc + the virtual ePass2003) and the
## demo's real-pcscd restarts, stock-master vs patched-master side by side, judged against the same
## expectations as on 0.27.1 (tests/recovery/*.tsv). The libopensc-level program is built against each
## master build's headers (EXTRA_PROGRAMS: only on demand); the PKCS#11 one dlopens either module.
EXTRA_PROGRAMS = tests/recovery/test_recovery_libopensc_master_stock tests/recovery/test_recovery_libopensc_master_patched
CLEANFILES += $(EXTRA_PROGRAMS)

tests_recovery_test_recovery_libopensc_master_stock_SOURCES = tests/recovery/test_recovery_libopensc.c tests/recovery/case_table.c
tests_recovery_test_recovery_libopensc_master_stock_CPPFLAGS = $(recovery_undefs) \
	-include $(OPENSC_MASTER_DIR)/stock/src/config.h -I$(OPENSC_MASTER_DIR)/stock/src \
	-I$(OPENSC_MASTER_DIR)/stock/src/src -DRECOVERY_VARIANT='"stock"'
$(tests_recovery_test_recovery_libopensc_master_stock_OBJECTS): $(OPENSC_MASTER_DIR)/stock/.installed
tests_recovery_test_recovery_libopensc_master_stock_CFLAGS = $(recovery_cflags)
tests_recovery_test_recovery_libopensc_master_stock_LDADD = $(OPENSC_MASTER_STOCK_PREFIX)/lib/libopensc.so $(recovery_libs)
tests_recovery_test_recovery_libopensc_master_stock_LDFLAGS = -Wl,-rpath,$(OPENSC_MASTER_STOCK_PREFIX)/lib
EXTRA_tests_recovery_test_recovery_libopensc_master_stock_DEPENDENCIES = $(OPENSC_MASTER_DIR)/stock/.installed \
	libvpcsc.la tests/recovery/pcsclite_cardmod.so

tests_recovery_test_recovery_libopensc_master_patched_SOURCES = tests/recovery/test_recovery_libopensc.c tests/recovery/case_table.c
tests_recovery_test_recovery_libopensc_master_patched_CPPFLAGS = $(recovery_undefs) \
	-include $(OPENSC_MASTER_DIR)/patched/src/config.h -I$(OPENSC_MASTER_DIR)/patched/src \
	-I$(OPENSC_MASTER_DIR)/patched/src/src -DRECOVERY_VARIANT='"patched"'
$(tests_recovery_test_recovery_libopensc_master_patched_OBJECTS): $(OPENSC_MASTER_DIR)/patched/.installed
tests_recovery_test_recovery_libopensc_master_patched_CFLAGS = $(recovery_cflags)
tests_recovery_test_recovery_libopensc_master_patched_LDADD = $(OPENSC_MASTER_PATCHED_PREFIX)/lib/libopensc.so $(recovery_libs)
tests_recovery_test_recovery_libopensc_master_patched_LDFLAGS = -Wl,-rpath,$(OPENSC_MASTER_PATCHED_PREFIX)/lib
EXTRA_tests_recovery_test_recovery_libopensc_master_patched_DEPENDENCIES = $(OPENSC_MASTER_DIR)/patched/.installed \
	libvpcsc.la tests/recovery/pcsclite_cardmod.so

$(OPENSC_MASTER_STOCK_PREFIX)/lib/libopensc.so: $(OPENSC_MASTER_DIR)/stock/.installed
$(OPENSC_MASTER_PATCHED_PREFIX)/lib/libopensc.so: $(OPENSC_MASTER_DIR)/patched/.installed

# The environment of our suites, with the master builds in place of the 0.27.1 ones
MASTER_SUITE_ENVIRONMENT = $(AM_TESTS_ENVIRONMENT) \
	RECOVERY_EXPECT=master; export RECOVERY_EXPECT; \
	OPENSC_STOCK_PREFIX='$(OPENSC_MASTER_STOCK_PREFIX)'; export OPENSC_STOCK_PREFIX; \
	OPENSC_PATCHED_PREFIX='$(OPENSC_MASTER_PATCHED_PREFIX)'; export OPENSC_PATCHED_PREFIX; \
	OPENSC_STOCK_SRC='$(OPENSC_MASTER_DIR)/stock/src'; export OPENSC_STOCK_SRC; \
	OPENSC_PATCHED_SRC='$(OPENSC_MASTER_DIR)/patched/src'; export OPENSC_PATCHED_SRC; \
	RECOVERY_LIBOPENSC_STOCK='$(abs_top_builddir)/tests/recovery/test_recovery_libopensc_master_stock$(EXEEXT)'; \
	export RECOVERY_LIBOPENSC_STOCK; \
	RECOVERY_LIBOPENSC_PATCHED='$(abs_top_builddir)/tests/recovery/test_recovery_libopensc_master_patched$(EXEEXT)'; \
	export RECOVERY_LIBOPENSC_PATCHED;

## The recovery suite on master; the table is kept in opensc-master/recovery-suite.out
check-recovery-master: opensc-master libvpcsc.la tests/recovery/test_recovery_libopensc_master_stock$(EXEEXT) \
		tests/recovery/test_recovery_libopensc_master_patched$(EXEEXT) tests/recovery/test_recovery_pkcs11$(EXEEXT) \
		tests/recovery/librecovery_vcard.la vcard-tool$(EXEEXT)
	@$(MASTER_SUITE_ENVIRONMENT) set -o pipefail; \
	bash $(srcdir)/tests/recovery/run_suite.sh 2>&1 | tee '$(OPENSC_MASTER_DIR)/recovery-suite.out'

## The demo's real-pcscd restarts (ssh-agent, NSS, OpenSSL+libp11) on master; kept in opensc-master/demo.out
demo-master: opensc-master all tests/e2e/nss-sign-loop$(EXEEXT)
	@$(MASTER_SUITE_ENVIRONMENT) set -o pipefail; \
	DEMO_OPENSC='OpenSC master 14c80b0ab'; export DEMO_OPENSC; $(BASH) $(srcdir)/build-aux/demo '$(OPENSC_MASTER_STOCK_PREFIX)' '$(OPENSC_MASTER_PATCHED_PREFIX)' 2>&1 | \
		tee '$(OPENSC_MASTER_DIR)/demo.out'

## The long part of issue 11, from a clean clone: each commit of the master series built (-Werror; three
## configurations) with master's make check after each PR, then our suites on stock-master and
## patched-master. Runs everything even when a part fails; fails if any did. Summary at the end.
check-upstream: check-master-patches
	@bad=0; \
	$(MAKE) $(AM_MAKEFLAGS) check-master-series || bad=1; \
	$(MAKE) $(AM_MAKEFLAGS) check-recovery-master || bad=1; \
	$(MAKE) $(AM_MAKEFLAGS) demo-master || bad=1; \
	echo "== check-upstream summary"; \
	for c in $(MASTER_CONFIGS); do \
		[ -r '$(OPENSC_MASTER_DIR)/werror-'$$c.out ] && tail -n 1 '$(OPENSC_MASTER_DIR)/werror-'$$c.out | sed "s/^/$$c: /"; \
	done; \
	[ -r '$(OPENSC_MASTER_DIR)/recovery-suite.out' ] && tail -n 3 '$(OPENSC_MASTER_DIR)/recovery-suite.out'; \
	if [ $$bad = 0 ]; then echo "check-upstream: PASS"; else echo "check-upstream: FAILED"; exit 1; fi

.PHONY: check-recovery-master demo-master check-upstream
