## tests/e2e/local.mk — end to end through a real pcscd (private namespaces, tests/harness/) with the
## vpcd bridge and the virtual ePass2003 (and a libcacard CAC): OpenSSH's ssh-agent and a raw
## long-lived PKCS#11 client across pcscd restarts, stock vs patched OpenSC.

# A long-lived raw PKCS#11 client (one session across restarts). OpenSC's own standalone pkcs11.h
# comes from the pinned release tree, which `all` unpacks before check programs are built.
check_PROGRAMS += tests/e2e/p11-session-loop
tests_e2e_p11_session_loop_SOURCES = tests/e2e/p11_session_loop.cpp
tests_e2e_p11_session_loop_CPPFLAGS = $(AM_CPPFLAGS) -I$(OPENSC_STOCK_SRC)/src/pkcs11 $(OPENSSL_CFLAGS)
$(tests_e2e_p11_session_loop_OBJECTS): $(OPENSC_DIR)/stock/.installed
tests_e2e_p11_session_loop_LDADD = $(OPENSSL_LIBS) $(LIBS)

# NSS as the caller (Firefox, Thunderbird): SECMOD_LoadUserModule, one login, PK11_Sign in a loop,
# a thread in SECMOD_WaitForAnyTokenEvent; signatures verified with OpenSSL.
check_PROGRAMS += tests/e2e/nss-sign-loop
tests_e2e_nss_sign_loop_SOURCES = tests/e2e/nss_sign_loop.cpp
tests_e2e_nss_sign_loop_CPPFLAGS = $(AM_CPPFLAGS) $(NSS_CFLAGS) $(OPENSSL_CFLAGS)
tests_e2e_nss_sign_loop_LDADD = $(NSS_LIBS) $(OPENSSL_LIBS) $(PTHREAD_LIBS) $(LIBS)

e2e_test_list = tests/e2e/test_harness_selftest.sh tests/e2e/test_ssh_agent_restart.sh \
	tests/e2e/test_p11_session_restart.sh tests/e2e/test_ssh_agent_restart_cac.sh
e2e_test_list += tests/e2e/test_two_process_restart.sh tests/e2e/test_nss_restart.sh \
	tests/e2e/test_libp11_tls_restart.sh tests/e2e/test_p11_poll_restart.sh
TESTS += $(e2e_test_list)
dist_check_SCRIPTS += $(e2e_test_list)
EXTRA_DIST += tests/e2e/common.sh tests/e2e/personalise.sh tests/e2e/ssh_agent_scenario.sh \
	tests/e2e/p11_scenario.sh tests/e2e/demo.sh tests/e2e/make_cac_db.sh tests/e2e/tls_handshake_loop.sh tests/e2e/demo_long.sh \
	tests/harness/netns-run tests/harness/lib.sh tests/harness/prereqs.sh tests/harness/selftest.sh

## The demo (the lead wires `make demo` to it): builds what it needs, then runs tests/e2e/demo.sh.
demo-local: vpcd-bridge$(EXEEXT) vcard-tool$(EXEEXT) opensc
	@top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	OPENSC_STOCK_PREFIX='$(OPENSC_STOCK_PREFIX)' OPENSC_PATCHED_PREFIX='$(OPENSC_PATCHED_PREFIX)' \
	PCSCD='$(PCSCD)' VPCD_DRIVER='$(VPCD_DRIVER)' bash $(srcdir)/tests/e2e/demo.sh

.PHONY: demo-local

## Service lifecycles (tests/e2e/lifecycle_scenario.sh): socket activation through pcscd-socket-holder,
## a hung pcscd, a token pulled and plugged in again — short forms in `make check`; stop/wait/start
## and the long forms in `make check-lifecycle`.
## The reader itself leaving pcscd's list and coming back (a USB token replugged): Debian's pcscd
## through its libudev hotplug code, with libifd-usb-shim and udev-event (tests/e2e/usb_reader.sh).
lifecycle_test_list = tests/e2e/test_lifecycle_socket.sh tests/e2e/test_lifecycle_socket_queued.sh \
	tests/e2e/test_lifecycle_sigstop.sh tests/e2e/test_lifecycle_card_replug.sh \
	tests/e2e/test_lifecycle_reader_replug.sh tests/e2e/test_lifecycle_reader_swap.sh
TESTS += $(lifecycle_test_list)
dist_check_SCRIPTS += $(lifecycle_test_list) tests/e2e/test_lifecycle_stop_start.sh \
	tests/e2e/test_lifecycle_reader_renamed.sh
EXTRA_DIST += tests/e2e/lifecycle.sh tests/e2e/lifecycle_scenario.sh tests/e2e/README.md tests/e2e/usb_reader.sh

# Long forms: LIFECYCLE_EVENTS (default 6) socket-activated restarts (kills idle and mid-APDU alternately;
# series v1 fails an idle kill that lands on an unread request), stop/starts, replugs; 3 hangs.
LIFECYCLE_EVENTS ?= 6
check-lifecycle: vpcd-bridge$(EXEEXT) vcard-tool$(EXEEXT) pcscd-socket-holder$(EXEEXT) tests/e2e/p11-session-loop$(EXEEXT) opensc \
	libifd-usb-shim.la udev-event$(EXEEXT)
	@rc=0; for t in socket socket_queued stop_start card_replug reader_replug reader_renamed; do \
		echo "=== $$t ($(LIFECYCLE_EVENTS) events)"; \
		kill_at=; [ $$t = socket ] && kill_at='idle in-flight'; \
		$(AM_TESTS_ENVIRONMENT) E2E_EVENTS=$(LIFECYCLE_EVENTS) E2E_KILL_AT="$$kill_at" $(BASH) $(srcdir)/tests/e2e/test_lifecycle_$$t.sh || rc=1; \
	done; \
	echo "=== sigstop (3 hangs)"; \
	$(AM_TESTS_ENVIRONMENT) E2E_EVENTS=3 $(BASH) $(srcdir)/tests/e2e/test_lifecycle_sigstop.sh || rc=1; \
	exit $$rc

.PHONY: check-lifecycle

## make soak-real: SOAK_RESTARTS (50) pcscd restarts under ssh-agent and long-lived PKCS#11 clients
## (p11-session-loop and the NSS client nss-sign-loop; SOAK_NSS_CLIENT=none leaves NSS out), stock and patched, table + JSON
## (soak-real-results/<time>/soak-real.json). SOAK_ACTIVATION=socket: socket-activated pcscd.
SOAK_RESTARTS ?= 50
# The NSS client (tests/e2e/nss-sign-loop) is built and joins (NSS is required by configure).
soak-real: vpcd-bridge$(EXEEXT) vcard-tool$(EXEEXT) pcscd-socket-holder$(EXEEXT) tests/e2e/p11-session-loop$(EXEEXT) opensc \
	$(filter tests/e2e/nss-sign-loop$(EXEEXT),$(check_PROGRAMS))
	@$(AM_TESTS_ENVIRONMENT) SOAK_RESTARTS='$(SOAK_RESTARTS)' $(BASH) $(srcdir)/tests/e2e/soak_real.sh

.PHONY: soak-real
EXTRA_DIST += tests/e2e/soak_real.sh tests/e2e/soak_real_scenario.sh
