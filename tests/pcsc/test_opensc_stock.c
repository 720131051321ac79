/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stock (unpatched) libopensc 0.27.1 driven through libvpcsc in one process.
 * Reproduces OpenSC issue #3395 with the instrument: after the PC/SC service
 * is lost between two card operations, every sc_lock() fails with
 * SC_ERROR_NO_READERS_FOUND and OpenSC never re-establishes its context.
 *
 * Environment: VPCSC_LIBRARY (the provider), OPENSC_STOCK_PREFIX is only
 * used by the build (link and rpath).
 */
#define _GNU_SOURCE /* pthread_timedjoin_np */
#include <dlfcn.h>
#include <pthread.h>
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "libopensc/opensc.h"

struct vpcsc_api {
	void *dl;
	int (*reset)(const char *);
	int (*service_lost)(void);
	int (*service_down)(unsigned long);
	int (*card_remove)(unsigned);
	int (*inject)(const char *);
	long (*calls)(const char *);
	long (*live_contexts)(void);
	long (*live_handles)(void);
	const char *(*last_error)(void);
};

static struct vpcsc_api api;
static char conf_dir[] = "/tmp/vpcsc-opensc-XXXXXX";
static char conf_path[sizeof conf_dir + 16];

struct fixture {
	sc_context_t *ctx;
	sc_card_t *card;
};

#define LOAD(field, name)                                                                                    \
	do {                                                                                                 \
		*(void **)&api.field = dlsym(api.dl, name);                                                  \
		if (api.field == NULL) {                                                                     \
			fprintf(stderr, "VPCSC_LIBRARY lacks %s\n", name);                                  \
			return -1;                                                                           \
		}                                                                                            \
	} while (0)

static int
group_setup(void **state)
{
	(void)state;
	const char *lib = getenv("VPCSC_LIBRARY");
	if (lib == NULL || *lib == '\0') {
		fprintf(stderr, "VPCSC_LIBRARY is not set\n");
		return -1;
	}
	/* Keep the provider loaded for the whole run: OpenSC's own dlopen() of the
	 * same file then returns this very instance, whose control API we use. */
	api.dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (api.dl == NULL) {
		fprintf(stderr, "dlopen(%s): %s\n", lib, dlerror());
		return -1;
	}
	LOAD(reset, "vpcsc_reset");
	LOAD(service_lost, "vpcsc_service_lost");
	LOAD(service_down, "vpcsc_service_down");
	LOAD(card_remove, "vpcsc_card_remove");
	LOAD(inject, "vpcsc_inject");
	LOAD(calls, "vpcsc_calls");
	LOAD(live_contexts, "vpcsc_live_contexts");
	LOAD(live_handles, "vpcsc_live_handles");
	LOAD(last_error, "vpcsc_last_error");
	if (mkdtemp(conf_dir) == NULL)
		return -1;
	snprintf(conf_path, sizeof conf_path, "%s/opensc.conf", conf_dir);
	FILE *f = fopen(conf_path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "app default {\n\tenable_default_driver = true;\n"
		   "\treader_driver pcsc {\n\t\tprovider_library = \"%s\";\n\t}\n}\n",
		lib);
	fclose(f);
	setenv("OPENSC_CONF", conf_path, 1);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	unlink(conf_path);
	rmdir(conf_dir);
	return 0;
}

/* Fresh provider (built-in scenario: one reader, the scripted card), then a
 * stock libopensc context connected to the card. */
static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	if (fx == NULL)
		return -1;
	unsetenv("VPCSC_SCENARIO");
	unsetenv("VPCSC_SCENARIO_JSON");
	if (api.reset(NULL) != 0) {
		fprintf(stderr, "vpcsc_reset: %s\n", api.last_error());
		free(fx);
		return -1;
	}
	sc_context_param_t param;
	memset(&param, 0, sizeof param);
	param.ver = 0;
	param.app_name = "default";
	param.flags = SC_CTX_FLAG_ENABLE_DEFAULT_DRIVER;
	if (sc_context_create(&fx->ctx, &param) != SC_SUCCESS) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	if (fx->card)
		sc_disconnect_card(fx->card);
	sc_release_context(fx->ctx);
	free(fx);
	return 0;
}

static void
connect_card(struct fixture *fx)
{
	assert_int_equal(sc_ctx_get_reader_count(fx->ctx), 1);
	sc_reader_t *reader = sc_ctx_get_reader(fx->ctx, 0);
	assert_non_null(reader);
	assert_string_equal(reader->name, "Virtual Reader 00 00");
	assert_int_equal(sc_connect_card(reader, &fx->card), SC_SUCCESS);
	static const u8 atr[] = {0x3B, 0x88, 0x01, 'v', 'p', 'c', 's', 'c', '-', 's', 'c', 0xC1};
	assert_int_equal(fx->card->atr.len, sizeof atr);
	assert_memory_equal(fx->card->atr.value, atr, sizeof atr);
}

/* One card operation: an echo APDU (INS EE) under the lock. */
static int
echo_apdu(sc_card_t *card)
{
	u8 data[3] = {1, 2, 3}, resp[8];
	sc_apdu_t apdu;
	sc_format_apdu(card, &apdu, SC_APDU_CASE_4_SHORT, 0xEE, 0, 0);
	apdu.cla = 0x80;
	apdu.data = data;
	apdu.datalen = apdu.lc = sizeof data;
	apdu.resp = resp;
	apdu.resplen = sizeof resp;
	apdu.le = 256;
	int r = sc_transmit_apdu(card, &apdu);
	if (r != SC_SUCCESS)
		return r;
	if (apdu.sw1 != 0x90 || apdu.resplen != sizeof data || memcmp(resp, data, sizeof data) != 0)
		return SC_ERROR_CARD_CMD_FAILED;
	return SC_SUCCESS;
}

static void
test_opensc_stock_lock_transmit_unlock_through_provider(void **state)
{
	struct fixture *fx = *state;
	connect_card(fx);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sc_lock(fx->card), SC_SUCCESS);
		assert_int_equal(echo_apdu(fx->card), SC_SUCCESS);
		assert_int_equal(sc_unlock(fx->card), SC_SUCCESS);
	}
	assert_true(api.calls("SCardBeginTransaction") >= 3);
	assert_true(api.calls("SCardTransmit") >= 3);
}

/* Issue #3395, macOS model: service lost between two operations. */
static void
test_opensc_stock_lock_fails_after_service_lost(void **state)
{
	struct fixture *fx = *state;
	connect_card(fx);
	assert_int_equal(sc_lock(fx->card), SC_SUCCESS);
	assert_int_equal(echo_apdu(fx->card), SC_SUCCESS);
	assert_int_equal(sc_unlock(fx->card), SC_SUCCESS);
	const long establish_before = api.calls("SCardEstablishContext");

	assert_int_equal(api.service_lost(), 0);

	for (int i = 0; i < 5; i++)
		assert_int_equal(sc_lock(fx->card), SC_ERROR_NO_READERS_FOUND);
	/* stock OpenSC never tries to re-establish its context */
	assert_int_equal(api.calls("SCardEstablishContext"), establish_before);
}

/* Issue #3395, pcscd-restart model: even after the service is back, the old
 * context stays dead and every sc_lock fails. */
static void
test_opensc_stock_lock_fails_after_service_restart(void **state)
{
	struct fixture *fx = *state;
	connect_card(fx);
	assert_int_equal(sc_lock(fx->card), SC_SUCCESS);
	assert_int_equal(sc_unlock(fx->card), SC_SUCCESS);

	assert_int_equal(api.service_down(30), 0);
	usleep(60 * 1000); /* the service is up again */

	for (int i = 0; i < 3; i++)
		assert_int_equal(sc_lock(fx->card), SC_ERROR_NO_READERS_FOUND);
}

/* Lock held across the loss: the APDU fails with TRANSMIT_FAILED (the odd
 * presence test in pcsc_internal_transmit), as measured with real pcscd. */
static void
test_opensc_stock_transmit_fails_when_service_lost_under_lock(void **state)
{
	struct fixture *fx = *state;
	connect_card(fx);
	assert_int_equal(sc_lock(fx->card), SC_SUCCESS);
	assert_int_equal(api.service_lost(), 0);
	assert_int_equal(echo_apdu(fx->card), SC_ERROR_TRANSMIT_FAILED);
	assert_int_equal(sc_unlock(fx->card), SC_ERROR_NO_READERS_FOUND);
}

/* E2: sc_ctx_detect_readers() re-establishes the context; with pcsc-lite's
 * handles (INVALID_HANDLE once the old context is released) the next sc_lock
 * recovers through the reattach path, after a spurious CHANGED. */
static void
test_opensc_stock_detect_readers_recovers_with_pcsclite_handles(void **state)
{
	struct fixture *fx = *state;
	connect_card(fx);
	sc_reader_t *reader = sc_ctx_get_reader(fx->ctx, 0);
	assert_int_equal(sc_lock(fx->card), SC_SUCCESS);
	assert_int_equal(sc_unlock(fx->card), SC_SUCCESS);
	const long establish_before = api.calls("SCardEstablishContext");
	assert_int_equal(api.inject("{\"type\":\"service_lost\",\"handles_after_release\":\"invalid_handle\"}"), 0);
	assert_int_equal(sc_lock(fx->card), SC_ERROR_NO_READERS_FOUND);

	assert_int_equal(sc_ctx_detect_readers(fx->ctx), SC_SUCCESS);
	assert_int_equal(api.calls("SCardEstablishContext"), establish_before + 1);
	assert_int_equal(sc_detect_card_presence(reader), SC_READER_CARD_PRESENT | SC_READER_CARD_CHANGED);
	assert_int_equal(sc_lock(fx->card), SC_SUCCESS);
	assert_int_equal(echo_apdu(fx->card), SC_SUCCESS);
	assert_int_equal(sc_unlock(fx->card), SC_SUCCESS);
	/* present, no spurious change any more (INUSE: our own connection) */
	assert_int_equal(sc_detect_card_presence(reader) & (SC_READER_CARD_PRESENT | SC_READER_CARD_CHANGED),
			SC_READER_CARD_PRESENT);
}

/* The same with macOS-like handles (NO_SERVICE even after the release): the
 * reattach path never triggers and sc_lock stays broken (RECOVERY.md #19). */
static void
test_opensc_stock_detect_readers_does_not_recover_with_macos_handles(void **state)
{
	struct fixture *fx = *state;
	connect_card(fx);
	assert_int_equal(sc_lock(fx->card), SC_SUCCESS);
	assert_int_equal(sc_unlock(fx->card), SC_SUCCESS);
	assert_int_equal(api.service_lost(), 0);
	assert_int_equal(sc_ctx_detect_readers(fx->ctx), SC_SUCCESS);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sc_lock(fx->card), SC_ERROR_NO_READERS_FOUND);
}

struct waiter {
	sc_context_t *ctx;
	void *states;
	unsigned int event;
	int r;
};

static void *
wait_thread(void *arg)
{
	struct waiter *w = arg;
	sc_reader_t *reader = NULL;
	w->r = sc_wait_for_event(w->ctx, SC_EVENT_CARD_INSERTED | SC_EVENT_CARD_REMOVED, &reader, &w->event, -1,
			&w->states);
	return NULL;
}

/* Join within 5 s; a waiter that never returns is a failure, not a hang. */
static int
join_within(pthread_t t)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	return pthread_timedjoin_np(t, NULL, &deadline);
}

/* OpenSC's wait path (own wait context, GetStatusChange INFINITE) sees a
 * removal, and sc_cancel (SCardCancel + SCardReleaseContext of the wait
 * context) wakes a blocked waiter. */
static void
test_opensc_stock_wait_for_event_removal_and_cancel(void **state)
{
	struct fixture *fx = *state;
	struct waiter w = {fx->ctx, NULL, 0, 1};
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	usleep(50 * 1000);
	assert_int_equal(api.card_remove(0), 0);
	if (join_within(t) != 0) {
		fprintf(stderr, "sc_wait_for_event did not see the removal\n");
		exit(1);
	}
	assert_int_equal(w.r, SC_SUCCESS);
	assert_true(w.event & SC_EVENT_CARD_REMOVED);

	w.r = 1;
	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	/* the wait context exists (from the first wait) and the waiter blocks */
	const long gsc_before = api.calls("SCardGetStatusChange");
	for (int i = 0; i < 500 && api.calls("SCardGetStatusChange") == gsc_before; i++)
		usleep(10 * 1000);
	usleep(50 * 1000);
	assert_int_equal(api.live_contexts(), 2); /* the main and the wait context */
	int joined = -1;
	for (int i = 0; i < 50 && joined != 0; i++) {
		assert_int_equal(sc_cancel(fx->ctx), SC_SUCCESS);
		usleep(100 * 1000);
		joined = pthread_tryjoin_np(t, NULL);
	}
	if (joined != 0) {
		fprintf(stderr, "sc_cancel did not wake the waiter\n");
		exit(1);
	}
	assert_int_not_equal(w.r, 1);
	assert_int_equal(api.live_contexts(), 1); /* the wait context was released */
	sc_wait_for_event(fx->ctx, 0, NULL, NULL, 0, &w.states);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_opensc_stock_lock_transmit_unlock_through_provider, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opensc_stock_lock_fails_after_service_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opensc_stock_lock_fails_after_service_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opensc_stock_transmit_fails_when_service_lost_under_lock, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_opensc_stock_detect_readers_recovers_with_pcsclite_handles, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_opensc_stock_detect_readers_does_not_recover_with_macos_handles, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_opensc_stock_wait_for_event_removal_and_cancel, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
