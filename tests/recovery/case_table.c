/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The case table and outcome matching shared by the two recovery suites (see case_table.h) */
#include "case_table.h"

#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct rcase *cases;
size_t n_cases;

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int
case_table_load(const char *path, const char *fields_usage)
{
	char line[4096];
	const char *only = getenv("RECOVERY_CASES");
	FILE *f;
	int lineno = 0;

	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		char *field[7], *p = line, *tab;
		int n = 0;
		struct rcase *c;

		lineno++;
		if (line[0] == '#' || trim(line)[0] == '\0')
			continue;
		while (n < 7) {
			field[n++] = p;
			tab = strchr(p, '\t');
			if (tab == NULL)
				break;
			*tab = '\0';
			p = tab + 1;
		}
		if (n < 6) {
			if (fields_usage != NULL)
				fprintf(stderr, "%s:%d: expected 6 tab-separated fields (%s), got %d\n", path, lineno,
						fields_usage, n);
			else
				fprintf(stderr, "%s:%d: expected 6 tab-separated fields\n", path, lineno);
			fclose(f);
			return -1;
		}
		if (strcmp(trim(field[0]), "id") == 0)
			continue; /* header */
		if (only != NULL && *only != '\0' && fnmatch(only, trim(field[0]), 0) != 0)
			continue;
		cases = realloc(cases, (n_cases + 1) * sizeof *cases);
		if (cases == NULL)
			abort();
		c = &cases[n_cases++];
		memset(c, 0, sizeof *c);
		snprintf(c->id, sizeof c->id, "%s", trim(field[0]));
		snprintf(c->entry, sizeof c->entry, "%s", trim(field[1]));
		snprintf(c->fault, sizeof c->fault, "%s", trim(field[2]));
		snprintf(c->timing, sizeof c->timing, "%s", trim(field[3]));
		snprintf(c->expect_stock, sizeof c->expect_stock, "%s", trim(field[4]));
		snprintf(c->expect_patched, sizeof c->expect_patched, "%s", trim(field[5]));
		c->line = lineno;
	}
	fclose(f);
	if (n_cases == 0 && (only == NULL || *only == '\0')) {
		fprintf(stderr, "%s: no cases\n", path);
		return -1;
	}
	return 0;
}

static int
field_matches(const char *exp, size_t elen, const char *out, size_t olen)
{
	const char *eq = memchr(exp, '=', elen), *v, *end = exp + elen;
	size_t klen;

	if (elen == olen && strncmp(exp, out, elen) == 0)
		return 1;
	if (eq == NULL)
		return 0;
	klen = (size_t)(eq - exp) + 1;
	if (olen < klen || strncmp(exp, out, klen) != 0)
		return 0;
	for (v = eq + 1; v <= end;) {
		const char *slash = memchr(v, '/', (size_t)(end - v));
		size_t vlen = slash ? (size_t)(slash - v) : (size_t)(end - v);
		if (olen - klen == vlen && strncmp(out + klen, v, vlen) == 0)
			return 1;
		if (slash == NULL)
			break;
		v = slash + 1;
	}
	return 0;
}

static int
alternative_matches(const char *exp, size_t elen, const char *out)
{
	const char *e = exp, *eend = exp + elen, *o = out, *oend = out + strlen(out);

	for (;;) {
		size_t el = strcspn(e, "|,"), ol = strcspn(o, "|,");
		if (e + el > eend)
			el = (size_t)(eend - e);
		if (!field_matches(e, el, o, ol))
			return 0;
		e += el;
		o += ol;
		if (e == eend || o == oend)
			return e == eend && o == oend;
		if (*e != *o)
			return 0;
		e++;
		o++;
	}
}

int
outcome_matches(const char *expect, const char *outcome)
{
	const char *p = expect;

	for (;;) {
		const char *sep = strstr(p, " || ");
		size_t len = sep ? (size_t)(sep - p) : strlen(p);
		if (alternative_matches(p, len, outcome))
			return 1;
		if (sep == NULL)
			return 0;
		p = sep + 4;
	}
}

void
out_add(struct outbuf *o, const char *fmt, ...)
{
	size_t len = strlen(o->s);
	va_list ap;

	if (len >= sizeof o->s - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(o->s + len, sizeof o->s - len, fmt, ap);
	va_end(ap);
}

unsigned
time_scale(void)
{
	static unsigned scale;

	if (scale == 0) {
		const char *env = getenv("RECOVERY_TIME_SCALE");
		char *end = NULL;
		long v = env && *env ? strtol(env, &end, 10) : 1;

		if (env && *env && (*end != '\0' || v < 1 || v > 100)) {
			fprintf(stderr, "RECOVERY_TIME_SCALE=%s: not an integer from 1 to 100; using 1\n", env);
			v = 1;
		}
		scale = (unsigned)v;
	}
	return scale;
}

long
scaled_ms(long ms)
{
	return ms * (long)time_scale();
}

int
scaled_ticks(int n)
{
	return n * (int)time_scale();
}

/* The series' defaults (patches 0002 and 0020: PCSC_RESTART_CARD_WAIT_MS, PCSC_ESTABLISH_TIMEOUT_MS,
 * PCSC_UNKNOWN_PRESENCE_TIMEOUT_MS); restart_card_wait is capped at 60000 by the driver */
#define RESTART_CARD_WAIT_MS	    2000
#define ESTABLISH_TIMEOUT_MS	    5000
#define UNKNOWN_PRESENCE_TIMEOUT_MS 60000

const char *
pcsc_bounds_conf(char *buf, size_t len, long establish_timeout_ms)
{
	long restart = scaled_ms(RESTART_CARD_WAIT_MS);

	if (time_scale() == 1) {
		if (establish_timeout_ms > 0)
			snprintf(buf, len, "\t\testablish_timeout = %ld;\n", establish_timeout_ms);
		else
			snprintf(buf, len, "%s", "");
		return buf;
	}
	snprintf(buf, len,
			"\t\trestart_card_wait = %ld;\n\t\testablish_timeout = %ld;\n"
			"\t\tunknown_presence_timeout = %ld;\n",
			restart > 60000 ? 60000 : restart,
			scaled_ms(establish_timeout_ms > 0 ? establish_timeout_ms : ESTABLISH_TIMEOUT_MS),
			scaled_ms(UNKNOWN_PRESENCE_TIMEOUT_MS));
	return buf;
}

static int
names_hang(const char *expect)
{
	const char *p = expect;

	/* fields are separated by '|' and ',', alternatives by " || " */
	while ((p = strstr(p, "HANG")) != NULL) {
		int starts = p == expect || strchr("|, ", p[-1]) != NULL;
		int ends = p[4] == '\0' || strchr("|, ", p[4]) != NULL;
		if (starts && ends)
			return 1;
		p += 4;
	}
	return 0;
}

int
expects_hang(const struct rcase *c)
{
	return names_hang(c->expect_stock) || names_hang(c->expect_patched);
}

int abnormal_exits;

void
case_run_isolated(const struct rcase *c, void (*run)(const struct rcase *, struct outbuf *), unsigned timeout_s,
		struct outbuf *o)
{
	int fds[2], status;
	pid_t pid;
	ssize_t n;
	size_t got = 0;

	memset(o, 0, sizeof *o);
	if (pipe(fds) != 0) {
		out_add(o, "HARNESS(pipe)");
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		out_add(o, "HARNESS(fork)");
		return;
	}
	if (pid == 0) {
		struct outbuf co;
		memset(&co, 0, sizeof co);
		close(fds[0]);
		alarm(timeout_s * time_scale());
		run(c, &co);
		if (write(fds[1], co.s, strlen(co.s)) < 0)
			_exit(3);
		close(fds[1]);
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], o->s + got, sizeof o->s - 1 - got)) > 0)
		got += (size_t)n;
	o->s[got] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid) {
		out_add(o, "|HARNESS(waitpid)");
		abnormal_exits++;
	} else if (WIFSIGNALED(status)) {
		memset(o, 0, sizeof *o);
		out_add(o, WTERMSIG(status) == SIGALRM ? "HANG" : "CRASH(signal %d)", WTERMSIG(status));
		abnormal_exits++;
	} else if (got == 0) {
		out_add(o, "NO-OUTCOME(exit %d)", WEXITSTATUS(status));
		abnormal_exits++;
	} else if (WEXITSTATUS(status) != 0) {
		/* e.g. valgrind's --error-exitcode */
		out_add(o, "|exit=%d", WEXITSTATUS(status));
		abnormal_exits++;
	}
}

int
case_table_report(void (*run_isolated)(const struct rcase *, struct outbuf *), int with_entry_timing)
{
	size_t i;

	for (i = 0; i < n_cases; i++) {
		struct outbuf o;
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		run_isolated(&cases[i], &o);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (getenv("RECOVERY_TIMES") != NULL)
			fprintf(stderr, "time\t%s\t%.1f\n", cases[i].id,
					(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		printf("%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", cases[i].id, with_entry_timing ? cases[i].entry : "-",
				cases[i].fault, with_entry_timing ? cases[i].timing : "-", o.s, cases[i].expect_patched,
				outcome_matches(cases[i].expect_stock, o.s), outcome_matches(cases[i].expect_patched, o.s));
		fflush(stdout);
	}
	return getenv("RECOVERY_STRICT") && abnormal_exits ? 1 : 0;
}
