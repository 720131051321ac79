## tests/e2e/local.mk — end to end through a real pcscd (private namespaces, tests/harness/) with the
## vpcd bridge and the virtual ePass2003 (and a libcacard CAC): OpenSSH's ssh-agent and a raw
## long-lived PKCS#11 client across pcscd restarts, stock vs patched OpenSC.

# A long-lived raw PKCS#11 client (one session across restarts). OpenSC's own standalone pkcs11.h
# comes from the pinned release tree, which `all` unpacks before check programs are built.
check_PROGRAMS += tests/e2e/p11-session-loop
tests_e2e_p11_session_loop_SOURCES = tests/e2e/p11_session_loop.cpp
tests_e2e_p11_session_loop_CPPFLAGS = $(AM_CPPFLAGS) -I$(OPENSC_STOCK_SRC)/src/pkcs11 $(OPENSSL_CFLAGS)
tests_e2e_p11_session_loop_LDADD = $(OPENSSL_LIBS) $(LIBS)

e2e_test_list = tests/e2e/test_harness_selftest.sh tests/e2e/test_ssh_agent_restart.sh \
	tests/e2e/test_p11_session_restart.sh tests/e2e/test_ssh_agent_restart_cac.sh
e2e_test_list += tests/e2e/test_two_process_restart.sh tests/e2e/test_p11_poll_restart.sh
TESTS += $(e2e_test_list)
dist_check_SCRIPTS += $(e2e_test_list)
EXTRA_DIST += tests/e2e/common.sh tests/e2e/personalise.sh tests/e2e/ssh_agent_scenario.sh \
	tests/e2e/p11_scenario.sh tests/e2e/demo.sh tests/e2e/make_cac_db.sh \
	tests/harness/netns-run tests/harness/lib.sh tests/harness/prereqs.sh tests/harness/selftest.sh

## The demo (the lead wires `make demo` to it): builds what it needs, then runs tests/e2e/demo.sh.
demo-local: vpcd-bridge$(EXEEXT) vcard-tool$(EXEEXT) opensc
	@top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	OPENSC_STOCK_PREFIX='$(OPENSC_STOCK_PREFIX)' OPENSC_PATCHED_PREFIX='$(OPENSC_PATCHED_PREFIX)' \
	PCSCD='$(PCSCD)' VPCD_DRIVER='$(VPCD_DRIVER)' bash $(srcdir)/tests/e2e/demo.sh

.PHONY: demo-local
