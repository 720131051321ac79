## tests/e2e/local.mk — end to end through a real pcscd (private namespaces, tests/harness/) with the
## vpcd bridge and the virtual ePass2003: OpenSSH's ssh-agent across pcscd restarts, stock vs patched.

e2e_test_list = tests/e2e/test_harness_selftest.sh tests/e2e/test_ssh_agent_restart.sh
TESTS += $(e2e_test_list)
dist_check_SCRIPTS += $(e2e_test_list)
EXTRA_DIST += tests/e2e/common.sh tests/e2e/personalise.sh tests/e2e/ssh_agent_scenario.sh tests/e2e/demo.sh \
	tests/harness/netns-run tests/harness/lib.sh tests/harness/prereqs.sh tests/harness/selftest.sh

## The demo (the lead wires `make demo` to it): builds what it needs, then runs tests/e2e/demo.sh.
demo-local: vpcd-bridge$(EXEEXT) vcard-tool$(EXEEXT) opensc
	@top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	OPENSC_STOCK_PREFIX='$(OPENSC_STOCK_PREFIX)' OPENSC_PATCHED_PREFIX='$(OPENSC_PATCHED_PREFIX)' \
	PCSCD='$(PCSCD)' VPCD_DRIVER='$(VPCD_DRIVER)' $(BASH) $(srcdir)/tests/e2e/demo.sh

.PHONY: demo-local
