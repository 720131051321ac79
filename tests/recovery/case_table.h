/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the two recovery suites (test_recovery_libopensc.c, test_recovery_pkcs11.c) share: the case
 * table (a .tsv file: id entry fault timing expected_stock expected_patched [note]), the outcome
 * buffer, and the matching of an outcome against an expectation. Plain C, no OpenSC headers: the
 * libopensc program is built against two OpenSC trees, the PKCS#11 one against pkcs11.h only.
 */
#ifndef RECOVERY_CASE_TABLE_H
#define RECOVERY_CASE_TABLE_H

#include <stddef.h>

#define OUTCOME_MAX 512

struct rcase {
	char id[64];
	char entry[32];	 /* short entry point name, or "-" */
	char fault[96];	 /* SCARD code name without prefix, or a model/scenario name */
	char timing[24]; /* before | between | unlock | recovery | - */
	char expect_stock[OUTCOME_MAX];
	char expect_patched[OUTCOME_MAX];
	int line;
};

/* The cases read by case_table_load */
extern struct rcase *cases;
extern size_t n_cases;

/*
 * Reads the table at path into cases/n_cases, keeping only the ids matching the glob
 * $RECOVERY_CASES. fields_usage (may be NULL) names the columns in the message about a short line.
 * Returns 0, or -1 after a message on stderr.
 */
int case_table_load(const char *path, const char *fields_usage);

/*
 * Does an outcome satisfy an expectation? The expectation may list whole
 * alternatives separated by " || ", and within one alternative a field
 * "key=A/B" accepts the value A or B (fields are separated by '|' and ',').
 */
int outcome_matches(const char *expect, const char *outcome);

struct outbuf {
	char s[OUTCOME_MAX];
};

/* Appends to the outcome, silently truncated at OUTCOME_MAX */
void out_add(struct outbuf *o, const char *fmt, ...);

/*
 * The harness's time scale: $RECOVERY_TIME_SCALE, an integer from 1 (the default) to 100. Under valgrind
 * (make check-recovery-valgrind sets 10) everything runs 20-50 times slower, but the time a case gives
 * its code does not: the per-case timeout, the harness's own waits for a thread to block or return, the
 * libvpcsc delays and outages a case places against OpenSC's bounds, and those bounds in the opensc.conf
 * a case writes (pcsc_bounds_conf) are multiplied by it. What a case asserts is not scaled.
 */
unsigned time_scale(void);

/* ms * time_scale() */
long scaled_ms(long ms);

/* n * time_scale(): a bound counted in ticks of a fixed length (the harness's 100 ms polls) */
int scaled_ticks(int n);

/*
 * The reader_driver pcsc lines that bound OpenSC's own waits in a case's opensc.conf: with a time scale
 * of 1 only establish_timeout when the case sets one (establish_timeout_ms > 0); else restart_card_wait,
 * establish_timeout (the case's value or the default) and unknown_presence_timeout, each its default
 * times the scale. Stock 0.27.1 ignores the three options. Returns buf.
 */
const char *pcsc_bounds_conf(char *buf, size_t len, long establish_timeout_ms);

/* Does an expectation (either column) name the outcome HANG, as one whole field? */
int expects_hang(const struct rcase *c);

/* Children that crashed, hung or exited non-zero (--report exits 1 then if RECOVERY_STRICT is set) */
extern int abnormal_exits;

/*
 * Runs run(c, o) in a child process (a crash or hang is an outcome, not the end of the suite), killed
 * by SIGALRM after timeout_s * time_scale() seconds, and gives its outcome string in o: "HANG", "CRASH(signal N)",
 * "NO-OUTCOME(exit N)", or the child's outcome with "|exit=N" if it exited non-zero.
 */
void case_run_isolated(const struct rcase *c, void (*run)(const struct rcase *, struct outbuf *),
		unsigned timeout_s, struct outbuf *o);

/*
 * --report: runs every case with run_isolated and prints one line per case: id, entry, fault, timing
 * (both "-" unless with_entry_timing), outcome, expected_patched, matches-stock, matches-patched;
 * with RECOVERY_TIMES set, "time\t<id>\t<seconds>" on stderr after each case.
 * Returns the exit code: 0, or 1 if RECOVERY_STRICT is set and a child ended abnormally.
 */
int case_table_report(void (*run_isolated)(const struct rcase *, struct outbuf *), int with_entry_timing);

#endif
