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

/* Children that crashed, hung or exited non-zero (--report exits 1 then if RECOVERY_STRICT is set) */
extern int abnormal_exits;

/*
 * Runs run(c, o) in a child process (a crash or hang is an outcome, not the end of the suite), killed
 * by SIGALRM after timeout_s seconds, and gives its outcome string in o: "HANG", "CRASH(signal N)",
 * "NO-OUTCOME(exit N)", or the child's outcome with "|exit=N" if it exited non-zero.
 */
void case_run_isolated(const struct rcase *c, void (*run)(const struct rcase *, struct outbuf *),
		unsigned timeout_s, struct outbuf *o);

/*
 * --report: runs every case with run_isolated and prints one line per case: id, entry, fault, timing
 * (both "-" unless with_entry_timing), outcome, expected_patched, matches-stock, matches-patched.
 * Returns the exit code: 0, or 1 if RECOVERY_STRICT is set and a child ended abnormally.
 */
int case_table_report(void (*run_isolated)(const struct rcase *, struct outbuf *), int with_entry_timing);

#endif
