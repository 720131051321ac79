/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The recovery fault matrix at libopensc level: a real libopensc (stock or
 * patched; this file is compiled once against each, because the patches may
 * change struct layouts) drives libvpcsc, the in-process PC/SC provider with
 * programmable faults, through OpenSC's own pcsc reader driver.
 *
 * Every case runs an operation sequence S on the provider's scripted card,
 *
 *   detect (sc_detect_card_presence) | lock (sc_lock) | apdu1 (sc_transmit_apdu)
 *   | middetect (presence poll while locked) | apdu2 | unlock (sc_unlock)
 *
 * with one fault armed at a point of it, then the same sequence again
 * (NEXT: "does the next operation work?"). The outcome is a string
 *
 *   <S>|<NEXT>[|<extra>]     <S>, <NEXT>: "ok" or the failed steps, e.g.
 *                            "lock=NO_READERS_FOUND" or "apdu2=TRANSMIT_FAILED"
 *
 * and every case's expected outcome for stock and for patched OpenSC is
 * written down in matrix.tsv (read at run time; see its header). A fault is
 * placed by counting: a fault-free dry run records how many calls of each
 * SCard* entry point happen before each step, and the case's plan fires on
 * the next one ("nth" trigger).
 *
 * Modes:
 *   test_recovery_libopensc_<variant>             cmocka: every case must
 *        match the column RECOVERY_EXPECT (stock|patched, default: the
 *        variant it was built for)
 *   ... --report                 one line per case: id, outcome,
 *        matches-stock, matches-patched (for run_suite.sh); exit 0 unless
 *        the harness itself broke
 *   ... --case ID                run one case and print its outcome
 *
 * Environment: VPCSC_LIBRARY (the provider), RECOVERY_MATRIX (default
 * $top_srcdir/tests/recovery/matrix.tsv), RECOVERY_DEBUG=N (OpenSC debug
 * level, log in $TMPDIR), RECOVERY_CASES=glob (only matching ids).
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include <winscard.h>

#include "case_table.h"

#include "libopensc/opensc.h"
#include "libopensc/errors.h"

#ifndef RECOVERY_VARIANT
#error "RECOVERY_VARIANT must name the OpenSC variant (stock or patched)"
#endif

/* Seconds a case may take; a case expected to hang gets a short one (both times time_scale()) */
#define CASE_TIMEOUT_S 20
#define CASE_HANG_TIMEOUT_S 3

/* ------------------------------------------------------------ provider API */

struct vpcsc_api {
	void *dl;
	int (*reset)(const char *);
	int (*inject)(const char *);
	int (*service_lost)(void);
	int (*service_down)(unsigned long);
	int (*service_up)(void);
	int (*service_up_late)(unsigned long);
	int (*card_reset)(unsigned);
	int (*card_remove)(unsigned);
	int (*card_insert)(unsigned, const char *);
	int (*card_swap)(unsigned, const char *);
	long (*calls)(const char *);
	long (*live_contexts)(void);
	long (*live_handles)(void);
	long (*open_transactions)(void);
	long (*apdus)(void);
	const char *(*last_error)(void);
};

static struct vpcsc_api vp;

static int
load_provider(void)
{
	const char *path = getenv("VPCSC_LIBRARY");

	if (path == NULL || *path == '\0') {
		fprintf(stderr, "VPCSC_LIBRARY is not set\n");
		return -1;
	}
	/* OpenSC dlopens the same path later and gets this very instance */
	vp.dl = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (vp.dl == NULL) {
		fprintf(stderr, "dlopen(%s): %s\n", path, dlerror());
		return -1;
	}
#define SYM(field, name)                                                                                     \
	do {                                                                                                 \
		*(void **)(&vp.field) = dlsym(vp.dl, name);                                                  \
		if (vp.field == NULL) {                                                                      \
			fprintf(stderr, "%s: missing %s\n", path, name);                                     \
			return -1;                                                                           \
		}                                                                                            \
	} while (0)
	SYM(reset, "vpcsc_reset");
	SYM(inject, "vpcsc_inject");
	SYM(service_lost, "vpcsc_service_lost");
	SYM(service_down, "vpcsc_service_down");
	SYM(service_up, "vpcsc_service_up");
	SYM(service_up_late, "vpcsc_service_up_late");
	SYM(card_reset, "vpcsc_card_reset");
	SYM(card_remove, "vpcsc_card_remove");
	SYM(card_insert, "vpcsc_card_insert");
	SYM(card_swap, "vpcsc_card_swap");
	SYM(calls, "vpcsc_calls");
	SYM(live_contexts, "vpcsc_live_contexts");
	SYM(live_handles, "vpcsc_live_handles");
	SYM(open_transactions, "vpcsc_open_transactions");
	SYM(apdus, "vpcsc_apdus");
	SYM(last_error, "vpcsc_last_error");
#undef SYM
	return 0;
}

/* The entry points a fault can be placed on, in the provider's names */
static const char *const entry_names[] = {
	"SCardEstablishContext", "SCardReleaseContext", "SCardConnect",	   "SCardReconnect",
	"SCardDisconnect",	 "SCardBeginTransaction", "SCardEndTransaction", "SCardStatus",
	"SCardGetStatusChange",	 "SCardTransmit",	  "SCardListReaders",	 "SCardCancel",
};
#define N_ENTRIES (sizeof entry_names / sizeof entry_names[0])

static int
entry_index(const char *short_name)
{
	char full[64];
	size_t i;

	snprintf(full, sizeof full, "SCard%s", short_name);
	for (i = 0; i < N_ENTRIES; i++)
		if (strcmp(entry_names[i], full) == 0 || strcmp(entry_names[i], short_name) == 0)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------ the table */

static int
load_matrix(void)
{
	const char *path = getenv("RECOVERY_MATRIX");
	char default_path[4096];

	if (path == NULL || *path == '\0') {
		const char *top = getenv("top_srcdir");
		snprintf(default_path, sizeof default_path, "%s/tests/recovery/matrix.tsv", top ? top : ".");
		path = default_path;
	}
	return case_table_load(path, "id entry fault timing expected_stock expected_patched [note]");
}

/* ------------------------------------------------------------ outcomes */

static const char *
sc_error_name(int r)
{
	static char buf[32];

	switch (r) {
#define E(x)                                                                                                 \
	case SC_ERROR_##x:                                                                                   \
		return #x
		E(READER);
		E(NO_READERS_FOUND);
		E(CARD_NOT_PRESENT);
		E(CARD_REMOVED);
		E(CARD_RESET);
		E(TRANSMIT_FAILED);
		E(KEYPAD_TIMEOUT);
		E(KEYPAD_CANCELLED);
		E(KEYPAD_PIN_MISMATCH);
		E(KEYPAD_MSG_TOO_LONG);
		E(EVENT_TIMEOUT);
		E(CARD_UNRESPONSIVE);
		E(READER_DETACHED);
		E(READER_REATTACHED);
		E(READER_LOCKED);
		E(CARD_CMD_FAILED);
		E(INVALID_ARGUMENTS);
		E(BUFFER_TOO_SMALL);
		E(INVALID_PIN_LENGTH);
		E(INVALID_DATA);
		E(INTERNAL);
		E(INVALID_ASN1_OBJECT);
		E(OBJECT_NOT_FOUND);
		E(NOT_SUPPORTED);
		E(OUT_OF_MEMORY);
		E(NOT_ALLOWED);
		E(SECURITY_STATUS_NOT_SATISFIED);
		E(UNKNOWN_DATA_RECEIVED);
		E(UNKNOWN);
		E(NOT_IMPLEMENTED);
		E(CANNOT_LOAD_MODULE);
#undef E
	default:
		snprintf(buf, sizeof buf, "%d", r);
		return buf;
	}
}

/* ------------------------------------------------------------ scenario */

/* How late the restarted service reports the card in service_down_late (pcscd 1.9.9 with vpcd: ~0.4 s),
 * times time_scale(), as restart_card_wait is (pcsc_bounds_conf) */
#define LATE_CARD_MS 400

/* The base name a renamed reader gets (the provider lists it as "<name> 00 00") */
#define RENAMED_READER "Renamed Reader"

/* The scripted cards: "a" in the reader; "b" has the same ATR and another
 * serial (GET DATA 00 CA 00 80); "c" another ATR. INS EE echoes the data. */
#define ATR_A "3B 88 01 76 70 63 73 63 2D 73 63 C1"
#define ATR_C "3B 88 01 76 70 63 73 63 2D 73 64 C6"
#define CARDS_JSON                                                                                           \
	"\"cards\": {"                                                                                       \
	"\"a\": {\"type\": \"scripted\", \"atr\": \"" ATR_A "\", \"echo_ins\": \"0xEE\","                    \
	"  \"responses\": [{\"command\": \"00CA0080*\", \"response\": \"41 41 90 00\"},"                   \
	"                {\"command\": \"008400*\", \"response\": \"01 02 03 04 05 06 07 08 90 00\"}]},"  \
	"\"b\": {\"type\": \"scripted\", \"atr\": \"" ATR_A "\", \"echo_ins\": \"0xEE\","                    \
	"  \"responses\": [{\"command\": \"00CA0080*\", \"response\": \"42 42 90 00\"}]},"                  \
	"\"c\": {\"type\": \"scripted\", \"atr\": \"" ATR_C "\", \"echo_ins\": \"0xEE\"},"                   \
	"\"d\": {\"type\": \"scripted\", \"atr\": \"" ATR_A "\", \"echo_ins\": \"0xEE\"}}"

/* libvpcsc answers with PCSC.framework's codes ("profile": "macos"): the mac_* models */
static int macos_profile;

static int
reset_provider(const char *rules_json, int two_readers)
{
	char json[8192];

	snprintf(json, sizeof json,
			"{\"readers\": [{\"name\": \"Virtual Reader\", \"card\": \"a\"}%s], " CARDS_JSON
			", \"faults\": {\"rules\": [%s]}%s}",
			two_readers ? ", {\"name\": \"Second Reader\", \"card\": \"d\"}" : "",
			rules_json ? rules_json : "", macos_profile ? ", \"profile\": \"macos\"" : "");
	if (vp.reset(json) != 0) {
		fprintf(stderr, "vpcsc_reset: %s\n", vp.last_error());
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ OpenSC */

struct session {
	sc_context_t *ctx;
	sc_reader_t *reader;
	sc_card_t *card;
	sc_reader_t *reader2;
	sc_card_t *card2;
};

static char workdir[4096];

static int
write_conf(const char *pcsc_extra)
{
	char path[4200], bounds[256];
	const char *debug = getenv("RECOVERY_DEBUG");
	FILE *f;

	snprintf(path, sizeof path, "%s/opensc.conf", workdir);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "app default {\n");
	if (debug != NULL && *debug != '\0')
		fprintf(f, "\tdebug = %d;\n\tdebug_file = \"%s/opensc-debug.log\";\n", atoi(debug), workdir);
	/* the scripted card is bound by OpenSC's "default" driver only */
	fprintf(f, "\tcard_drivers = default;\n\tenable_default_driver = true;\n");
	/* the case's own lines before the bounds: scconf takes an option's first value, and a case that
	 * sets a bound itself (lost_again_loop) must keep it under RECOVERY_TIME_SCALE too */
	fprintf(f, "\treader_driver pcsc {\n\t\tprovider_library = \"%s\";\n%s%s%s\t}\n", getenv("VPCSC_LIBRARY"),
			/* PCSC.framework's semantics: a reset may be a re-insertion */
			macos_profile ? "\t\treset_may_be_reinsertion = true;\n" : "",
			pcsc_extra ? pcsc_extra : "", pcsc_bounds_conf(bounds, sizeof bounds, 0));
	fprintf(f, "}\n");
	fclose(f);
	setenv("OPENSC_CONF", path, 1);
	return 0;
}

static int
session_open(struct session *s, const char *pcsc_extra, int two_readers)
{
	sc_context_param_t param;
	int r;

	memset(s, 0, sizeof *s);
	if (write_conf(pcsc_extra) != 0)
		return -1;
	memset(&param, 0, sizeof param);
	param.ver = 0;
	param.app_name = "default";
	r = sc_context_create(&s->ctx, &param);
	if (r != SC_SUCCESS) {
		fprintf(stderr, "sc_context_create: %s\n", sc_strerror(r));
		return -1;
	}
	r = sc_ctx_detect_readers(s->ctx);
	if (r < 0 || sc_ctx_get_reader_count(s->ctx) < (two_readers ? 2u : 1u)) {
		fprintf(stderr, "no readers (%s)\n", sc_strerror(r));
		return -1;
	}
	s->reader = sc_ctx_get_reader(s->ctx, 0);
	r = sc_detect_card_presence(s->reader);
	if (r <= 0) {
		fprintf(stderr, "no card in %s (%d)\n", s->reader->name, r);
		return -1;
	}
	r = sc_connect_card(s->reader, &s->card);
	if (r != SC_SUCCESS) {
		fprintf(stderr, "sc_connect_card: %s\n", sc_strerror(r));
		return -1;
	}
	if (two_readers) {
		s->reader2 = sc_ctx_get_reader(s->ctx, 1);
		if (sc_detect_card_presence(s->reader2) <= 0 || sc_connect_card(s->reader2, &s->card2) != 0) {
			fprintf(stderr, "cannot connect the second reader\n");
			return -1;
		}
	}
	return 0;
}

static void
session_close(struct session *s)
{
	if (s->card2)
		sc_disconnect_card(s->card2);
	if (s->card)
		sc_disconnect_card(s->card);
	if (s->ctx)
		sc_release_context(s->ctx);
	memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------ the sequence */

enum step { ST_DETECT, ST_LOCK, ST_APDU1, ST_MIDDETECT, ST_APDU2, ST_UNLOCK, ST_END, N_STEPS };
static const char *const step_names[] = {"detect", "lock", "apdu1", "middetect", "apdu2", "unlock", "end"};

/* calls[step][entry] = provider call count when the step starts */
struct counts {
	long at[N_STEPS][N_ENTRIES];
};

static void
snapshot(long *row)
{
	size_t i;

	for (i = 0; i < N_ENTRIES; i++)
		row[i] = vp.calls(entry_names[i]);
}

static const char *
detect_result(int r)
{
	if (r < 0)
		return sc_error_name(r);
	if (r == 0)
		return "ABSENT";
	if (r & SC_READER_CARD_CHANGED)
		return "CHANGED";
	return NULL;
}

static int
echo_apdu(sc_card_t *card, u8 tag)
{
	u8 data[4] = {0x01, 0x02, 0x03, tag}, resp[16];
	sc_apdu_t apdu;
	int r;

	sc_format_apdu(card, &apdu, SC_APDU_CASE_4_SHORT, 0xEE, 0x00, 0x00);
	apdu.data = data;
	apdu.datalen = apdu.lc = sizeof data;
	apdu.resp = resp;
	apdu.resplen = sizeof resp;
	apdu.le = sizeof data;
	r = sc_transmit_apdu(card, &apdu);
	if (r < 0)
		return r;
	if (apdu.sw1 != 0x90 || apdu.sw2 != 0x00 || apdu.resplen != sizeof data ||
			memcmp(resp, data, sizeof data) != 0)
		return 1; /* wrong answer */
	return 0;
}

/* Hooks a case can run between steps (faults applied through the API) */
typedef void (*step_hook)(enum step before, void *arg);

/* Runs S once on (reader, card); appends its failures to o ("ok" if none) */
static void
run_sequence(struct session *s, sc_reader_t *reader, sc_card_t *card, struct outbuf *o, struct counts *cnt,
		step_hook hook, void *hook_arg)
{
	size_t start = strlen(o->s);
	int locked = 0, r, enr;
	enum step st;
	const char *d;

	(void)s;
	for (st = ST_DETECT; st < ST_END; st++) {
		if (cnt)
			snapshot(cnt->at[st]);
		if (hook)
			hook(st, hook_arg);
		switch (st) {
		case ST_DETECT:
		case ST_MIDDETECT:
			if (st == ST_MIDDETECT && !locked)
				break;
			d = detect_result(sc_detect_card_presence(reader));
			if (d)
				out_add(o, "%s%s=%s", strlen(o->s) > start ? "," : "", step_names[st], d);
			break;
		case ST_LOCK:
			r = sc_lock(card);
			if (r != SC_SUCCESS) {
				out_add(o, "%s%s=%s", strlen(o->s) > start ? "," : "", step_names[st],
						sc_error_name(r));
				st = ST_UNLOCK; /* nothing else without the lock */
			} else {
				locked = 1;
			}
			break;
		case ST_APDU1:
		case ST_APDU2:
			enr = echo_apdu(card, (u8)st);
			if (enr != 0) {
				out_add(o, "%s%s=%s", strlen(o->s) > start ? "," : "", step_names[st],
						enr == 1 ? "BADRESP" : sc_error_name(enr));
				if (st == ST_APDU1)
					st = ST_APDU2; /* skip to unlock */
			}
			break;
		case ST_UNLOCK:
			if (!locked)
				break;
			r = sc_unlock(card);
			if (r != SC_SUCCESS)
				out_add(o, "%s%s=%s", strlen(o->s) > start ? "," : "", step_names[st],
						sc_error_name(r));
			break;
		default:
			break;
		}
	}
	if (cnt)
		snapshot(cnt->at[ST_END]);
	if (strlen(o->s) == start)
		out_add(o, "ok");
}

/* ------------------------------------------------------------ fault placement */

static struct counts dry;
static int dry_done;

/* A fault-free run of S (after the same setup) to count calls per step */
static int
dry_run(void)
{
	struct session s;
	struct outbuf o = {{0}};

	if (dry_done)
		return 0;
	if (reset_provider(NULL, 0) != 0 || session_open(&s, NULL, 0) != 0)
		return -1;
	run_sequence(&s, s.reader, s.card, &o, &dry, NULL, NULL);
	session_close(&s);
	if (strcmp(o.s, "ok") != 0) {
		fprintf(stderr, "the fault-free sequence failed: %s\n", o.s);
		return -1;
	}
	dry_done = 1;
	return 0;
}

/* The number (1-based, counted from the provider reset) of the first call of
 * entry e at or after the start of step st that happens before step 'until'
 * ends; 0 if there is none. */
static long
nth_call(int e, enum step st, enum step until)
{
	long first = dry.at[st][e] + 1;

	if (dry.at[until + 1][e] < first)
		return 0;
	return first;
}

static int
is_service_code(const char *code)
{
	return strcmp(code, "NO_SERVICE") == 0 || strcmp(code, "SERVICE_STOPPED") == 0 ||
	       strcmp(code, "F_COMM_ERROR") == 0;
}

static const char *
code_prefix(const char *code)
{
	/* SCARD_W_* warnings vs SCARD_E_* / SCARD_F_* errors */
	if (strncmp(code, "F_", 2) == 0 || strncmp(code, "E_", 2) == 0 || strncmp(code, "W_", 2) == 0)
		return "SCARD_";
	if (strcmp(code, "RESET_CARD") == 0 || strcmp(code, "REMOVED_CARD") == 0 ||
			strcmp(code, "UNPOWERED_CARD") == 0 || strcmp(code, "UNRESPONSIVE_CARD") == 0)
		return "SCARD_W_";
	return "SCARD_E_";
}

/* ------------------------------------------------------------ cases */

struct ctx_case {
	const struct rcase *c;
	struct outbuf o;
};

static void
finish_outcome(struct outbuf *o)
{
	long c = vp.live_contexts(), h = vp.live_handles();

	if (c != 0 || h != 0)
		out_add(o, "|leak(contexts=%ld,handles=%ld)", c, h);
}

/* entry × code × timing, one fault per cell */
static int
run_matrix_cell(const struct rcase *c, struct outbuf *o)
{
	char rules[1024] = "";
	const char *code = c->fault;
	enum step st, until;
	struct session s;
	long n;
	int e = entry_index(c->entry);

	if (e < 0) {
		out_add(o, "BAD-ENTRY(%s)", c->entry);
		return -1;
	}
	if (strcmp(c->timing, "before") == 0) {
		st = ST_DETECT;
		until = ST_APDU1;
	} else if (strcmp(c->timing, "between") == 0) {
		st = ST_MIDDETECT;
		until = ST_APDU2;
	} else if (strcmp(c->timing, "unlock") == 0) {
		st = ST_UNLOCK;
		until = ST_UNLOCK;
	} else if (strcmp(c->timing, "recovery") == 0) {
		st = ST_DETECT;
		until = ST_UNLOCK;
	} else {
		out_add(o, "BAD-TIMING(%s)", c->timing);
		return -1;
	}
	if (dry_run() != 0) {
		out_add(o, "SETUP-FAILED(dry run)");
		return -1;
	}

	if (strcmp(c->timing, "recovery") == 0) {
		/* The service is lost at the lock; the fault hits the entry
		 * point during the recovery (stock never gets there) */
		long lock_n = nth_call(entry_index("BeginTransaction"), ST_LOCK, ST_LOCK);
		n = dry.at[ST_DETECT][e] + 1;
		snprintf(rules, sizeof rules,
				"{\"trigger\": {\"call\": \"SCardBeginTransaction\", \"nth\": %ld},"
				" \"action\": {\"type\": \"service_lost\"}},"
				"{\"trigger\": {\"call\": \"%s\", \"nth\": %ld},"
				" \"action\": {\"type\": \"return\", \"code\": \"%s%s\"}}",
				lock_n, entry_names[e], n, code_prefix(code), code);
	} else {
		n = nth_call(e, st, until);
		if (n == 0) {
			out_add(o, "NOT-CALLED(%s in %s)", c->entry, c->timing);
			return -1;
		}
		snprintf(rules, sizeof rules,
				"{\"trigger\": {\"call\": \"%s\", \"nth\": %ld},"
				" \"action\": {\"type\": \"return\", \"code\": \"%s%s\"}}",
				entry_names[e], n, code_prefix(code), code);
		if (strcmp(code, "INVALID_HANDLE") == 0 || strcmp(code, "READER_UNAVAILABLE") == 0) {
			/* On a handle call these mean the handle is gone, and its
			 * transaction with it (a reader re-attached re-powers the
			 * card): a card reset models both */
			if (strcmp(c->entry, "GetStatusChange") != 0) {
				size_t len = strlen(rules);
				snprintf(rules + len, sizeof rules - len,
						", {\"trigger\": {\"call\": \"%s\", \"nth\": %ld},"
						" \"action\": {\"type\": \"card_reset\"}}",
						entry_names[e], n);
			}
		}
		if (is_service_code(code)) {
			/* the service really went away: the old context stays dead */
			size_t len = strlen(rules);
			snprintf(rules + len, sizeof rules - len,
					", {\"trigger\": {\"call\": \"%s\", \"nth\": %ld},"
					" \"action\": {\"type\": \"service_lost\"}}",
					entry_names[e], n);
		}
	}
	if (reset_provider(rules, 0) != 0 || session_open(&s, NULL, 0) != 0) {
		out_add(o, "SETUP-FAILED");
		return -1;
	}
	run_sequence(&s, s.reader, s.card, o, NULL, NULL, NULL);
	out_add(o, "|");
	run_sequence(&s, s.reader, s.card, o, NULL, NULL, NULL);
	session_close(&s);
	finish_outcome(o);
	return 0;
}

/* A fault model applied through the control API just before a step */
struct model_arg {
	const char *model;
	enum step at;
	int fired;
	long establish_at_fault;
};

static void
model_hook(enum step st, void *arg)
{
	struct model_arg *m = arg;

	if (m->fired || st != m->at)
		return;
	m->fired = 1;
	m->establish_at_fault = vp.calls("SCardEstablishContext");
	if (strcmp(m->model, "service_lost") == 0)
		vp.service_lost();
	else if (strcmp(m->model, "service_lost_invalid_handle") == 0)
		vp.inject("{\"type\": \"service_lost\", \"handles_after_release\": \"invalid_handle\"}");
	else if (strcmp(m->model, "service_down") == 0 || strcmp(m->model, "service_down_late") == 0)
		vp.service_down(0);
	else if (strcmp(m->model, "service_down_counter") == 0)
		vp.inject("{\"type\": \"service_down\", \"counter_after\": 5}");
	else if (strcmp(m->model, "card_reset") == 0 || strcmp(m->model, "card_reset_sm_refused") == 0)
		vp.card_reset(0);
	else if (strcmp(m->model, "lost_swap_same_atr") == 0) {
		vp.service_lost();
		vp.card_swap(0, "b");
	} else if (strcmp(m->model, "lost_swap_other_atr") == 0) {
		vp.service_lost();
		vp.card_swap(0, "c");
	} else if (strcmp(m->model, "mac_reinsert_other_atr") == 0) {
		/* macOS: the card pulled out and another one (another ATR) put
		 * in; PCSC.framework reports it to the handle as a reset */
		if (vp.inject("{\"type\": \"card_remove\"}") != 0 ||
				vp.inject("{\"type\": \"card_insert\", \"card\": \"c\"}") != 0)
			fprintf(stderr, "mac_reinsert_other_atr: %s\n", vp.last_error());
	} else if (strcmp(m->model, "lost_card_removed") == 0) {
		vp.service_lost();
		vp.card_remove(0);
	} else if (strcmp(m->model, "down_reader_renamed") == 0) {
		/* a whole outage (card power-cycled) after which the service
		 * lists the reader, with the same card, under another name */
		vp.service_down(0);
		if (vp.inject("{\"type\": \"reader_rename\", \"reader\": 0, \"name\": \"" RENAMED_READER "\"}") != 0)
			fprintf(stderr, "reader_rename: %s\n", vp.last_error());
		vp.service_up();
	}
}

static enum step
timing_step(const char *timing)
{
	if (strcmp(timing, "between") == 0)
		return ST_APDU2;
	if (strcmp(timing, "unlock") == 0)
		return ST_UNLOCK;
	return ST_DETECT;
}

/* card_reset_sm_refused: a card driver whose SM open refuses and whose hook counts resets */
static int refusing_hook_resets;

static int
refusing_sm_open(sc_card_t *card)
{
	(void)card;
	return SC_ERROR_NOT_SUPPORTED;
}

static int
refusing_lock_obtained(sc_card_t *card, int was_reset)
{
	(void)card;
	if (was_reset)
		refusing_hook_resets++;
	return SC_SUCCESS;
}

static void
make_driver_refuse_sm_open(sc_card_t *card)
{
	/* card->ops is the card's own copy of its driver's operations */
	card->ops->card_reader_lock_obtained = refusing_lock_obtained;
	refusing_hook_resets = 0;
#ifdef ENABLE_SM
	card->sm_ctx.ops.open = refusing_sm_open;
#else
	(void)refusing_sm_open;
#endif
}

/*
 * Fault models and scenarios (RECOVERY.md §7), fault column:
 *   service_lost, service_lost_invalid_handle   pcsc-lite restart, card powered
 *   service_down          down during S (up before NEXT), card power-cycled
 *   service_down_counter  as service_down; the restarted service counts events from 5
 *   service_down_late     as service_down, but the restarted service reports the card only
 *                         LATE_CARD_MS later (as pcscd, which polls its readers after starting):
 *                         NEXT begins with a presence poll inside that gap
 *   card_reset            another application reset the card (W_RESET_CARD path)
 *   lock_login_challenge  the card lock held (as with lock_login = true), the service lost, then
 *                         sc_get_challenge twice: the first must not fail once the driver
 *                         restored the card (|challenge=first,second)
 *   card_reset_sm_refused as card_reset, on a card whose driver's sm_ctx.ops.open refuses (as
 *                         AuthentIC without an SM module, or PIV with --enable-piv-sm after init)
 *                         and whose card_reader_lock_obtained hook counts the resets it is told
 *                         of (|hook-resets=N): the driver's own reset handling must run
 *   lost_swap_same_atr    restart + another card with the same ATR (serial differs)
 *   lost_swap_other_atr   restart + a card with another ATR
 *   lost_card_removed     restart + card removed
 *   mac_reinsert_other_atr  libvpcsc's macOS profile: the card removed and a card with
 *                         another ATR inserted, which PCSC.framework reports to the handle
 *                         as SCARD_W_RESET_CARD (the W_RESET_CARD reconnect path)
 *   down_reader_renamed   down and up again (card power-cycled); the reader, with the same card,
 *                         is now listed under another name. After NEXT, sc_ctx_detect_readers
 *                         (OpenSC learns the new name) and S once more on the old card (AFTER):
 *                         the bound card must never move to the renamed reader
 *   knob_off              service_lost with reestablish_context = false
 *   baseline              no fault; also counts recovery calls (must be none)
 *   two_readers           restart; the second reader's card keeps working, no CHANGED
 *   flapping              down for 3 EstablishContext attempts; bounded attempts
 *   cardmod               scenario 14, the minidriver's handles (see run_cardmod)
 *   lost_again_loop       unknown_presence_timeout = 300; then a daemon in a crash loop: it
 *                         accepts every new context, and every SCardGetStatusChange loses the
 *                         service again (SERVICE_STOPPED). Presence polls every 50 ms for 1.2 s:
 *                         |bounded=<the first result that is no longer "unknown"> (ABSENT or
 *                         CHANGED: the bound of "presence unknown" held) or NEVER
 */
static int
run_model(const struct rcase *c, struct outbuf *o)
{
	struct model_arg m = {0};
	struct session s;
	const char *extra = NULL;
	int two = strcmp(c->fault, "two_readers") == 0;
	long est0, conn0, apdus0;

	m.model = c->fault;
	m.at = timing_step(c->timing);
	macos_profile = strncmp(c->fault, "mac_", 4) == 0;
	if (strcmp(c->fault, "knob_off") == 0) {
		m.model = "service_lost";
		extra = "\t\treestablish_context = false;\n";
	} else if (two) {
		m.model = "service_lost";
	} else if (strcmp(c->fault, "lost_again_loop") == 0) {
		extra = "\t\tunknown_presence_timeout = 300;\n";
	}
	if (reset_provider(NULL, two) != 0 || session_open(&s, extra, two) != 0) {
		out_add(o, "SETUP-FAILED");
		return -1;
	}
	if (strcmp(c->fault, "card_reset_sm_refused") == 0)
		make_driver_refuse_sm_open(s.card);
	est0 = vp.calls("SCardEstablishContext");
	conn0 = vp.calls("SCardConnect");
	apdus0 = vp.apdus();

	if (strcmp(c->fault, "baseline") == 0) {
		run_sequence(&s, s.reader, s.card, o, NULL, NULL, NULL);
		out_add(o, "|");
		run_sequence(&s, s.reader, s.card, o, NULL, NULL, NULL);
		out_add(o, "|establish=%ld,connect=%ld", vp.calls("SCardEstablishContext") - est0,
				vp.calls("SCardConnect") - conn0);
	} else if (strcmp(c->fault, "lock_login_challenge") == 0) {
		unsigned char rnd[8];
		int r1, r2 = SC_ERROR_INTERNAL;
		int r = sc_lock(s.card);

		if (r != SC_SUCCESS) {
			out_add(o, "lock=%s", sc_error_name(r));
		} else {
			vp.service_lost();
			r1 = sc_get_challenge(s.card, rnd, sizeof rnd);
			r2 = sc_get_challenge(s.card, rnd, sizeof rnd);
			out_add(o, "challenge=%s,%s", r1 == SC_SUCCESS ? "ok" : sc_error_name(r1),
					r2 == SC_SUCCESS ? "ok" : sc_error_name(r2));
			sc_unlock(s.card);
		}
	} else if (strcmp(c->fault, "lost_again_loop") == 0) {
		/* every SCardGetStatusChange from now on loses the service; new
		 * contexts are accepted (the provider is reloaded with the rule) */
		int i, r = SC_ERROR_NO_READERS_FOUND;
		const char *first = NULL;

		if (reset_provider("{\"trigger\": {\"call\": \"SCardGetStatusChange\", \"every\": 1},"
				   " \"action\": {\"type\": \"return\", \"code\": \"SCARD_E_SERVICE_STOPPED\"}},"
				   "{\"trigger\": {\"call\": \"SCardGetStatusChange\", \"every\": 1},"
				   " \"action\": {\"type\": \"service_lost\"}}",
				    0) != 0) {
			out_add(o, "SETUP-FAILED");
			session_close(&s);
			return -1;
		}
		for (i = 0; i < 24 && first == NULL; i++) {
			r = sc_detect_card_presence(s.reader);
			if (r >= 0)
				first = detect_result(r) ? detect_result(r) : "PRESENT";
			else if (r != SC_ERROR_NO_READERS_FOUND)
				first = sc_error_name(r);
			else
				usleep(50 * 1000);
		}
		out_add(o, "bounded=%s", first ? first : "NEVER");
	} else if (strcmp(c->fault, "flapping") == 0) {
		/* down: three lock attempts, each one clean error and at most
		 * one EstablishContext; then up: recovered */
		int i, r, bad = 0;
		long before;
		vp.service_down(0);
		for (i = 0; i < 3; i++) {
			before = vp.calls("SCardEstablishContext");
			r = sc_lock(s.card);
			if (r == SC_SUCCESS) {
				sc_unlock(s.card);
				bad++;
			}
			if (vp.calls("SCardEstablishContext") - before > 1)
				bad++;
			out_add(o, "%s%s", i ? "," : "", r == SC_SUCCESS ? "ok" : sc_error_name(r));
		}
		out_add(o, "|attempts-bounded=%s|", bad ? "no" : "yes");
		vp.service_up();
		run_sequence(&s, s.reader, s.card, o, NULL, NULL, NULL);
	} else {
		run_sequence(&s, s.reader, s.card, o, NULL, model_hook, &m);
		if (strcmp(c->fault, "service_down_late") == 0)
			vp.service_up_late((unsigned long)scaled_ms(LATE_CARD_MS));
		else if (strncmp(c->fault, "service_down", 12) == 0)
			vp.service_up();
		out_add(o, "|");
		if (two) {
			/* the idle reader first: no spurious CHANGED, it works */
			run_sequence(&s, s.reader2, s.card2, o, NULL, NULL, NULL);
			out_add(o, "|");
		}
		run_sequence(&s, s.reader, s.card, o, NULL, NULL, NULL);
		if (strcmp(c->fault, "down_reader_renamed") == 0) {
			/* OpenSC rescans (the new name appears), the old card is used again */
			int r = sc_ctx_detect_readers(s.ctx);
			out_add(o, "|rescan=%s,readers=%u|", r < 0 ? sc_error_name(r) : "ok",
					sc_ctx_get_reader_count(s.ctx));
			run_sequence(&s, s.reader, s.card, o, NULL, NULL, NULL);
			/* nothing may reach the card in the renamed reader */
			out_add(o, "|apdus-after-rename=%ld", vp.apdus() - apdus0);
		}
		if (strncmp(c->fault, "lost_swap", 9) == 0 || strcmp(c->fault, "lost_card_removed") == 0 ||
				strcmp(c->fault, "mac_reinsert_other_atr") == 0) {
			/* nothing may reach the other card after the swap */
			out_add(o, "|apdus-after-swap=%ld", vp.apdus() - apdus0);
		}
		if (strcmp(c->fault, "service_lost") == 0 || strcmp(c->fault, "service_down") == 0)
			out_add(o, "|establish=%ld", vp.calls("SCardEstablishContext") - m.establish_at_fault);
		if (strcmp(c->fault, "card_reset_sm_refused") == 0)
			out_add(o, "|hook-resets=%d", refusing_hook_resets);
	}
	session_close(&s);
	macos_profile = 0;
	finish_outcome(o);
	return 0;
}

/*
 * Scenario 14 (cardmod): OpenSC as the Windows minidriver. The Base CSP owns
 * the PC/SC context and the card handle and passes them in with
 * sc_ctx_use_reader(); OpenSC's reader driver then runs with app_name
 * "cardmod" on the platform's own PC/SC library, never releases, replaces or
 * reconnects those handles, and its lock/unlock do nothing. A recovery of its
 * own would steal the Base CSP's handles, so the patched driver must do
 * nothing either (RECOVERY.md §7, step 9): the same outcome as stock.
 *
 * The test plays the Base CSP with libvpcsc's SCard* functions. OpenSC loads
 * "libpcsclite.so.1" in cardmod mode whatever provider_library says; the
 * shim tests/recovery/pcsclite_cardmod.so (an empty library with that soname,
 * linked to libvpcsc, see local.mk; RECOVERY_CARDMOD_SHIM overrides the path)
 * is loaded first, so that dlopen finds it by its soname: this libvpcsc.
 *
 * Outcome: <S before the fault>|<S after the service was lost>|<S after the
 * Base CSP established a new context and handle and passed them in again>
 * |opensc-calls(...): SCard* context/connect calls OpenSC made itself.
 */
struct base_csp {
	LONG (*establish)(DWORD, LPCVOID, LPCVOID, LPSCARDCONTEXT);
	LONG (*release)(SCARDCONTEXT);
	LONG (*connect)(SCARDCONTEXT, LPCSTR, DWORD, DWORD, LPSCARDHANDLE, LPDWORD);
	LONG (*disconnect)(SCARDHANDLE, DWORD);
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
};

static int
base_csp_open(struct base_csp *b)
{
	DWORD proto = 0;

	if (b->establish(SCARD_SCOPE_USER, NULL, NULL, &b->ctx) != SCARD_S_SUCCESS)
		return -1;
	if (b->connect(b->ctx, "Virtual Reader 00 00", SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
			    &b->card, &proto) != SCARD_S_SUCCESS)
		return -1;
	return 0;
}

static void
base_csp_close(struct base_csp *b)
{
	b->disconnect(b->card, SCARD_LEAVE_CARD);
	b->release(b->ctx);
}

static const char *const opensc_owned_calls[] = {
	"SCardEstablishContext", "SCardReleaseContext", "SCardConnect", "SCardReconnect", "SCardDisconnect",
};
#define N_OWNED (sizeof opensc_owned_calls / sizeof opensc_owned_calls[0])

static void
count_owned(long *sum, int sign)
{
	size_t i;

	for (i = 0; i < N_OWNED; i++)
		sum[i] += sign * vp.calls(opensc_owned_calls[i]);
}

static int
run_cardmod(struct outbuf *o)
{
	const char *shim = getenv("RECOVERY_CARDMOD_SHIM"), *top = getenv("top_builddir");
	char shim_path[4096];
	struct base_csp b = {0}, old;
	struct model_arg m = {0};
	sc_context_param_t param;
	struct session s = {0};
	long owned[N_OWNED] = {0};
	size_t i;
	int r;

	if (shim == NULL || *shim == '\0') {
		snprintf(shim_path, sizeof shim_path, "%s/tests/recovery/pcsclite_cardmod.so", top ? top : ".");
		shim = shim_path;
	}
	if (dlopen(shim, RTLD_NOW | RTLD_GLOBAL) == NULL) {
		out_add(o, "SETUP-FAILED(cardmod shim: %s)", dlerror());
		return -1;
	}
	*(void **)(&b.establish) = dlsym(vp.dl, "SCardEstablishContext");
	*(void **)(&b.release) = dlsym(vp.dl, "SCardReleaseContext");
	*(void **)(&b.connect) = dlsym(vp.dl, "SCardConnect");
	*(void **)(&b.disconnect) = dlsym(vp.dl, "SCardDisconnect");
	if (!b.establish || !b.release || !b.connect || !b.disconnect || reset_provider(NULL, 0) != 0 ||
			write_conf(NULL) != 0 || base_csp_open(&b) != 0) {
		out_add(o, "SETUP-FAILED(base csp)");
		return -1;
	}
	memset(&param, 0, sizeof param);
	param.app_name = "cardmod";
	count_owned(owned, -1);
	r = sc_context_create(&s.ctx, &param);
	if (r == SC_SUCCESS)
		r = sc_ctx_use_reader(s.ctx, &b.ctx, &b.card);
	if (r == SC_SUCCESS && sc_ctx_get_reader_count(s.ctx) != 1)
		r = SC_ERROR_NO_READERS_FOUND;
	if (r == SC_SUCCESS) {
		s.reader = sc_ctx_get_reader(s.ctx, 0);
		r = sc_connect_card(s.reader, &s.card);
	}
	if (r != SC_SUCCESS) {
		out_add(o, "SETUP-FAILED(%s)", sc_error_name(r));
		session_close(&s);
		base_csp_close(&b);
		return -1;
	}
	run_sequence(&s, s.reader, s.card, o, NULL, NULL, NULL);
	out_add(o, "|");
	m.model = "service_lost";
	m.at = ST_DETECT;
	run_sequence(&s, s.reader, s.card, o, NULL, model_hook, &m);
	count_owned(owned, 1);

	/* the Base CSP recovers its own handles and hands them over again */
	old = b;
	if (base_csp_open(&b) != 0) {
		out_add(o, "|SETUP-FAILED(base csp reopen)");
		session_close(&s);
	} else {
		r = sc_ctx_use_reader(s.ctx, &b.ctx, &b.card);
		out_add(o, "|");
		count_owned(owned, -1);
		if (r != SC_SUCCESS)
			out_add(o, "use_reader=%s", sc_error_name(r));
		else
			run_sequence(&s, s.reader, s.card, o, NULL, NULL, NULL);
		session_close(&s);
		count_owned(owned, 1);
	}
	out_add(o, "|opensc-calls(");
	for (i = 0; i < N_OWNED; i++)
		out_add(o, "%s%s=%ld", i ? "," : "", opensc_owned_calls[i] + 5, owned[i]);
	out_add(o, ")");
	base_csp_close(&old);
	base_csp_close(&b);
	finish_outcome(o);
	return 0;
}

static int
run_case(const struct rcase *c, struct outbuf *o)
{
	if (strcmp(c->entry, "-") != 0)
		return run_matrix_cell(c, o);
	if (strcmp(c->fault, "cardmod") == 0)
		return run_cardmod(o);
	return run_model(c, o);
}

static void
run_case_child(const struct rcase *c, struct outbuf *o)
{
	(void)run_case(c, o);
}

/* Runs a case in a child process (a crash or hang is an outcome, not the
 * end of the suite) and returns its outcome string. */
static void
run_case_isolated(const struct rcase *c, struct outbuf *o)
{
	/* expects_hang, not strstr: "HANG" is also in every "CHANGED", which gave those cases 3 s */
	case_run_isolated(c, run_case_child, expects_hang(c) ? CASE_HANG_TIMEOUT_S : CASE_TIMEOUT_S, o);
}

/* ------------------------------------------------------------ cmocka */

static const char *expect_column;

static void
test_recovery_case(void **state)
{
	const struct rcase *c = *state;
	const char *expect = strcmp(expect_column, "stock") == 0 ? c->expect_stock : c->expect_patched;
	struct outbuf o;

	run_case_isolated(c, &o);
	if (!outcome_matches(expect, o.s)) {
		print_error("case %s (matrix.tsv line %d): %s %s %s\n  expected (%s): %s\n  got:            %s\n",
				c->id, c->line, c->entry, c->fault, c->timing, expect_column, expect, o.s);
		fail();
	}
}

static int
prepare(void)
{
	char tmpl[4096];
	const char *tmp = getenv("TMPDIR");

	snprintf(tmpl, sizeof tmpl, "%s/recovery-libopensc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(tmpl) == NULL) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	snprintf(workdir, sizeof workdir, "%s", tmpl);
	if (load_provider() != 0 || load_matrix() != 0)
		return -1;
	return 0;
}

static void
cleanup_workdir(void)
{
	char path[4200];

	if (getenv("RECOVERY_KEEP") != NULL)
		return;
	snprintf(path, sizeof path, "%s/opensc.conf", workdir);
	unlink(path);
	snprintf(path, sizeof path, "%s/opensc-debug.log", workdir);
	unlink(path);
	rmdir(workdir);
}

int
main(int argc, char **argv)
{
	struct CMUnitTest *tests;
	size_t i;
	int rc;

	if (prepare() != 0)
		return 99; /* hard error */

	if (argc > 1 && strcmp(argv[1], "--report") == 0) {
		rc = case_table_report(run_case_isolated, 1);
		cleanup_workdir();
		return rc;
	}
	if (argc > 2 && strcmp(argv[1], "--case") == 0) {
		for (i = 0; i < n_cases; i++) {
			if (strcmp(cases[i].id, argv[2]) == 0) {
				struct outbuf o;
				run_case_isolated(&cases[i], &o);
				printf("%s\n", o.s);
				cleanup_workdir();
				return 0;
			}
		}
		fprintf(stderr, "no case %s\n", argv[2]);
		return 99;
	}

	expect_column = getenv("RECOVERY_EXPECT");
	if (expect_column == NULL || *expect_column == '\0')
		expect_column = RECOVERY_VARIANT;
	tests = calloc(n_cases, sizeof *tests);
	if (tests == NULL)
		return 99;
	for (i = 0; i < n_cases; i++) {
		tests[i].name = cases[i].id;
		tests[i].test_func = test_recovery_case;
		tests[i].initial_state = &cases[i];
	}
	rc = _cmocka_run_group_tests("recovery_libopensc_" RECOVERY_VARIANT, tests, n_cases, NULL, NULL);
	free(tests);
	cleanup_workdir();
	return rc;
}
