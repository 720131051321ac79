/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The recovery suite at PKCS#11 level: OpenSC's opensc-pkcs11.so (stock or
 * patched: OPENSC_PREFIX) over libvpcsc with the virtual ePass2003 (a card
 * image personalised by OpenSC's own pkcs15-init through the same provider).
 *
 * Every case: C_Initialize, open a session, log in, find the private key and
 * its public key, sign and verify (OpenSSL EVP, public key read with
 * C_GetAttributeValue); inject the case's fault; sign again with the SAME
 * session and key handles, without logging in again (sign2), and once more
 * (sign3). The outcome is
 *
 *   sign2=<r>|sign3=<r>|session=<state>|verify=<n>|tries=<n>
 *
 * <r>: OK (C_Sign succeeded AND the signature verifies), BADSIG (C_Sign
 * succeeded, the signature does not verify: another card signed), or the
 * CKR_* name; session: C_GetSessionInfo's state (RW_USER = still logged in)
 * or its error; verify: VERIFY APDUs (INS 20) the card(s) received after the
 * fault (the vcard APDU log, VCARD_APDU_LOG); tries: the user PIN's
 * remaining tries in the card image at the end (6 = no try lost).
 * Expected outcomes for stock and patched are in pkcs11.tsv.
 *
 * Modes as test_recovery_libopensc: cmocka (column RECOVERY_EXPECT, default
 * RECOVERY_VARIANT), --report, --case ID.
 *
 * Environment: OPENSC_PREFIX (the module under test), OPENSC_STOCK_PREFIX
 * (its pkcs15-init personalises the token; default OPENSC_PREFIX),
 * VPCSC_LIBRARY, RECOVERY_VCARD_PRELOAD (libvcard as a shared object, so
 * that libvpcsc can open card images; default
 * $top_builddir/tests/recovery/.libs/librecovery_vcard.so), VCARD_TOOL
 * (default $top_builddir/vcard-tool), RECOVERY_PKCS11_MATRIX (default
 * $top_srcdir/tests/recovery/pkcs11.tsv), RECOVERY_DEBUG, RECOVERY_KEEP,
 * RECOVERY_CASES.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "pkcs11.h"

#include "case_table.h"

#define PIN "123456"
#define PUK "12345678"
#define CASE_TIMEOUT_S 60

static char workdir[4096];
static char token_a[4200], token_b[4200], token_uc[4200], token_r[4200], token_rp[4200];
/* token_r: card A re-personalised (same serial, same PIN, a new key); token_rp: the same with another PIN */
#define OTHER_PIN "654321"
static const char *variant = "stock";

/* ------------------------------------------------------------ helpers */

static const char *
env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v && *v ? v : dflt;
}

static char *
path_join(const char *a, const char *b)
{
	char *p = malloc(strlen(a) + strlen(b) + 2);
	if (p == NULL)
		abort();
	sprintf(p, "%s/%s", a, b);
	return p;
}

static const char *
preload_path(void)
{
	static char buf[4200];
	const char *v = getenv("RECOVERY_VCARD_PRELOAD");

	if (v && *v)
		return v;
	snprintf(buf, sizeof buf, "%s/tests/recovery/.libs/librecovery_vcard.so", env_or("top_builddir", "."));
	return buf;
}

static const char *
vcard_tool(void)
{
	static char buf[4200];

	if (getenv("VCARD_TOOL") && *getenv("VCARD_TOOL"))
		return getenv("VCARD_TOOL");
	snprintf(buf, sizeof buf, "%s/vcard-tool", env_or("top_builddir", "."));
	return buf;
}

/* The scenario for libvpcsc: card "a" in the reader, "b" (another serial,
 * personalised the same way) spare */
static int pinpad_reader; /* the reader is a PIN-pad reader (libvpcsc's "pinpad") */
static int macos_profile; /* libvpcsc answers with PCSC.framework's codes ("profile": "macos") */

static void
scenario_json(char *buf, size_t size, const char *a, const char *b, const char *rules)
{
	snprintf(buf, size,
			"{\"readers\": [{\"name\": \"Virtual ePass2003\", \"card\": \"a\"%s}],"
			" \"cards\": {\"a\": {\"type\": \"image\", \"path\": \"%s\"},"
			" \"b\": {\"type\": \"image\", \"path\": \"%s\"}},"
			" \"faults\": {\"rules\": [%s]}%s}",
			pinpad_reader ? ", \"pinpad\": {\"pin\": \"" PIN "\"}" : "", a, b, rules ? rules : "",
			macos_profile ? ", \"profile\": \"macos\"" : "");
}

/* establish_timeout of the case's reader_driver pcsc block, in ms (0: OpenSC's default; a case sets it
 * before write_conf); scaled with the other bounds by pcsc_bounds_conf */
static long establish_timeout_ms;

static int
write_conf(const char *dir, const char *app_extra, const char *pkcs15_extra, const char *pkcs11_extra)
{
	char *path = path_join(dir, "opensc.conf"), bounds[256];
	const char *debug = getenv("RECOVERY_DEBUG");
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		free(path);
		return -1;
	}
	fprintf(f, "app default {\n");
	if (debug && *debug)
		fprintf(f, "\tdebug = %d;\n\tdebug_file = \"%s/opensc-debug.log\";\n", atoi(debug), dir);
	fprintf(f, "%s", app_extra ? app_extra : "");
	fprintf(f, "\treader_driver pcsc {\n\t\tprovider_library = \"%s\";\n%s%s\t}\n", getenv("VPCSC_LIBRARY"),
			/* PCSC.framework's semantics: a reset may be a re-insertion */
			macos_profile ? "\t\treset_may_be_reinsertion = true;\n" : "",
			pcsc_bounds_conf(bounds, sizeof bounds, establish_timeout_ms));
	fprintf(f, "\tframework pkcs15 {\n%s\t}\n", pkcs15_extra ? pkcs15_extra : "");
	fprintf(f, "\tpkcs11 {\n%s\t}\n", pkcs11_extra ? pkcs11_extra : "");
	fprintf(f, "}\n");
	fclose(f);
	setenv("OPENSC_CONF", path, 1);
	free(path);
	return 0;
}

static void
dump_file(const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL)
		fputs(line, stderr);
	fclose(f);
}

/* Runs argv with extra environment; 0 on exit status 0 */
static int
run(char *const argv[], const char *log)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		FILE *f = freopen(log, "a", stdout);
		(void)f;
		dup2(1, 2);
		setenv("LD_PRELOAD", preload_path(), 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/*
 * OpenSC's ePass2003 profile leaves the "use" access condition of the private
 * key at 90 (everyone, under SM): the card would sign without the PIN and only
 * the PKCS#11 layer insists on C_Login (EPASS2003.md §3.8). The suite sets it
 * to 96 (user PIN verified), as a token may, so that a new SM session really
 * needs the PIN again and the PIN-cache path of a recovery is exercised.
 */
static int
require_pin_for_key(const char *image)
{
	static const char from[] = "83022900850208008608FF909090", to[] = "83022900850208008608FF909690";
	char *buf, *hit;
	long size;
	FILE *f = fopen(image, "rb");

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0) {
		if (f)
			fclose(f);
		return -1;
	}
	buf = calloc(1, (size_t)size + 1);
	if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	hit = strstr(buf, from);
	if (hit == NULL) {
		fprintf(stderr, "%s: private key file 2900 with ACs FF909090 not found\n", image);
		free(buf);
		return -1;
	}
	memcpy(hit, to, sizeof to - 1);
	f = fopen(image, "wb");
	if (f == NULL || fwrite(buf, 1, (size_t)size, f) != (size_t)size) {
		if (f)
			fclose(f);
		free(buf);
		return -1;
	}
	free(buf);
	return fclose(f) == 0 ? 0 : -1;
}

/* A personalised virtual ePass2003: PKCS#15 (one PIN), an RSA-2048 key generated on the card;
 * user_consent: the key's PKCS#15 object gets userConsent = 1 (pkcs15-init --user-consent) */
static int
personalise_pin(const char *image, const char *serial, int user_consent, const char *pin)
{
	char scen[8192], log[4300], tool[4300];
	const char *prefix = env_or("OPENSC_STOCK_PREFIX", env_or("OPENSC_PREFIX", ""));

	snprintf(log, sizeof log, "%s/personalise.log", workdir);
	{
		char *argv[] = {(char *)vcard_tool(), "create", (char *)image, "--serial", (char *)serial,
				"--force", NULL};
		if (run(argv, log) != 0) {
			fprintf(stderr, "vcard-tool create failed:\n");
			dump_file(log);
			return -1;
		}
	}
	snprintf(scen, sizeof scen,
			"{\"readers\": [{\"name\": \"Virtual ePass2003\", \"card\": \"a\"}],"
			" \"cards\": {\"a\": {\"type\": \"image\", \"path\": \"%s\"}}}",
			image);
	setenv("VPCSC_SCENARIO_JSON", scen, 1);
	if (write_conf(workdir, NULL, NULL, NULL) != 0)
		return -1;
	snprintf(tool, sizeof tool, "%s/bin/pkcs15-init", prefix);
	{
		char *argv[] = {tool, "--create-pkcs15", "--profile", "pkcs15+onepin", "--pin", (char *)pin, "--puk", PUK,
				"--label", "VirtualEpass", NULL};
		if (run(argv, log) != 0) {
			fprintf(stderr, "pkcs15-init --create-pkcs15 failed:\n");
			dump_file(log);
			return -1;
		}
	}
	{
		char *argv[] = {tool, "--generate-key", "rsa/2048", "--auth-id", "01", "--pin", (char *)pin, "--label",
				"recovery key", user_consent ? "--user-consent" : NULL, "1", NULL};
		if (run(argv, log) != 0) {
			fprintf(stderr, "pkcs15-init --generate-key failed:\n");
			dump_file(log);
			return -1;
		}
	}
	unsetenv("VPCSC_SCENARIO_JSON");
	return require_pin_for_key(image);
}

static int
personalise(const char *image, const char *serial, int user_consent)
{
	return personalise_pin(image, serial, user_consent, PIN);
}

static int
copy_file(const char *from, const char *to)
{
	char buf[65536];
	size_t n;
	FILE *in = fopen(from, "rb"), *out;

	if (in == NULL)
		return -1;
	out = fopen(to, "wb");
	if (out == NULL) {
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			break;
	fclose(in);
	return fclose(out);
}

/* Remaining tries of the user PIN (kid 01) in an image, -1 if unknown */
static int
pin_tries(const char *image)
{
	char cmd[8600], line[512];
	int tries = -1;
	FILE *p;

	snprintf(cmd, sizeof cmd, "'%s' dump '%s' 2>/dev/null", vcard_tool(), image);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	while (fgets(line, sizeof line, p) != NULL) {
		char *k = strstr(line, "kid 01");
		char *t = k ? strstr(k, "tries ") : NULL;
		if (t)
			tries = atoi(t + 6);
	}
	pclose(p);
	return tries;
}

/* Lines in the file (0 if it cannot be read) */
static long
count_lines(const char *path)
{
	char line[16384];
	long n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		n++;
	fclose(f);
	return n;
}

/* Command APDUs of one side ("wire" or "plain") of the APDU log, from line 'from' on, for which
 * counts(hex) holds; hex is the APDU's text after its opening quote. -1 if the log is unreadable. */
static long
count_commands(const char *path, long from, const char *side, int (*counts)(const char *hex))
{
	char line[16384];
	long n = 0, i = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		char *apdu;
		if (i++ < from)
			continue;
		if (strstr(line, side) == NULL || strstr(line, "\"command\"") == NULL)
			continue;
		apdu = strstr(line, "\"apdu\"");
		if (apdu == NULL || (apdu = strchr(apdu + 6, '"')) == NULL)
			continue;
		if (counts(apdu + 1))
			n++;
	}
	fclose(f);
	return n;
}

/* The INS bytes of the commands of one side of the APDU log between lines from and to (the
 * recovery's APDU cost, RECOVERY_APDU_COST); returns their number */
static long
list_commands(const char *path, long from, long to, const char *side, char *out, size_t outlen)
{
	char line[16384];
	long n = 0, i = 0;
	size_t used = 0;
	FILE *f = fopen(path, "r");

	if (outlen)
		out[0] = '\0';
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		char *apdu;
		unsigned cla, ins;
		if (i++ < from || i > to)
			continue;
		if (strstr(line, side) == NULL || strstr(line, "\"command\"") == NULL)
			continue;
		apdu = strstr(line, "\"apdu\"");
		if (apdu == NULL || (apdu = strchr(apdu + 6, '"')) == NULL)
			continue;
		n++;
		if (sscanf(apdu + 1, "%2x %2x", &cla, &ins) == 2 || sscanf(apdu + 1, "%2x%2x", &cla, &ins) == 2) {
			int w = snprintf(out + used, outlen - used, "%s%02X", used ? " " : "", ins);
			if (w > 0 && (size_t)w < outlen - used)
				used += (size_t)w;
		}
	}
	fclose(f);
	return n;
}

/* Not secure messaging: CLA without the SM bits (0x0C), other than the mutual authentication itself
 * (80 50 INITIALIZE UPDATE) */
static int
is_plain_command(const char *apdu)
{
	unsigned cla = 0, ins = 0;

	if (sscanf(apdu, "%2x%2x", &cla, &ins) != 2)
		return 0;
	return (cla & 0x0C) == 0 && !(cla == 0x80 && ins == 0x50);
}

/* CLA INS P1 P2 Lc...: a PIN presentation is VERIFY (INS 20) or the ePass2003 PIN external
 * authentication (00 82 01 8k), with data */
static int
is_pin_presentation(const char *apdu)
{
	char hex[11] = {0};
	int k = 0;

	while (*apdu == ' ')
		apdu++;
	for (; *apdu && *apdu != '"' && k < 10; apdu++)
		if (*apdu != ' ')
			hex[k++] = *apdu;
	return k == 10 && (strncmp(hex + 2, "20", 2) == 0 || strncmp(hex + 2, "8201", 4) == 0);
}

/* Commands on the wire, from line 'from' on, that are not secure messaging */
static long
count_plain(const char *path, long from)
{
	return count_commands(path, from, "\"wire\"", is_plain_command);
}

/* PIN presentations in the plain-side APDU log from line 'from' on */
static long
count_verify(const char *path, long from)
{
	return count_commands(path, from, "\"plain\"", is_pin_presentation);
}

/* ------------------------------------------------------------ the table */

static int
load_matrix(void)
{
	char def[4300];
	const char *path = getenv("RECOVERY_PKCS11_MATRIX");

	if (path == NULL || *path == '\0') {
		snprintf(def, sizeof def, "%s/tests/recovery/pkcs11.tsv", env_or("top_srcdir", "."));
		path = def;
	}
	return case_table_load(path, NULL);
}

/* ------------------------------------------------------------ PKCS#11 */

static const char *
ckr_name(CK_RV rv)
{
	static char buf[32];

	switch (rv) {
#define R(x)                                                                                                 \
	case CKR_##x:                                                                                        \
		return #x
		R(OK);
		R(GENERAL_ERROR);
		R(FUNCTION_FAILED);
		R(DEVICE_ERROR);
		R(DEVICE_REMOVED);
		R(TOKEN_NOT_PRESENT);
		R(USER_NOT_LOGGED_IN);
		R(SESSION_HANDLE_INVALID);
		R(SESSION_CLOSED);
		R(KEY_HANDLE_INVALID);
		R(OBJECT_HANDLE_INVALID);
		R(PIN_INCORRECT);
		R(PIN_LOCKED);
		R(DEVICE_MEMORY);
		R(OPERATION_NOT_INITIALIZED);
		R(CRYPTOKI_NOT_INITIALIZED);
		R(ARGUMENTS_BAD);
		R(NO_EVENT);
		R(TOKEN_NOT_RECOGNIZED);
		R(FUNCTION_NOT_SUPPORTED);
#undef R
	default:
		snprintf(buf, sizeof buf, "0x%lx", (unsigned long)rv);
		return buf;
	}
}

struct p11 {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE session;
	CK_OBJECT_HANDLE priv;
	EVP_PKEY *pub;
};

static int
find_one(struct p11 *p, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
	CK_ULONG found = 0;
	CK_RV rv = p->f->C_FindObjectsInit(p->session, tmpl, n);

	if (rv != CKR_OK)
		return -1;
	rv = p->f->C_FindObjects(p->session, out, 1, &found);
	p->f->C_FindObjectsFinal(p->session);
	return rv == CKR_OK && found == 1 ? 0 : -1;
}

static EVP_PKEY *
public_key(struct p11 *p, CK_OBJECT_HANDLE h)
{
	CK_BYTE n[1024], e[16];
	CK_ATTRIBUTE a[] = {{CKA_MODULUS, n, sizeof n}, {CKA_PUBLIC_EXPONENT, e, sizeof e}};
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params;
	BIGNUM *bn_n, *bn_e;
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;

	if (p->f->C_GetAttributeValue(p->session, h, a, 2) != CKR_OK)
		return NULL;
	bn_n = BN_bin2bn(n, (int)a[0].ulValueLen, NULL);
	bn_e = BN_bin2bn(e, (int)a[1].ulValueLen, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (bn_n && bn_e && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
			OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e)) {
		params = OSSL_PARAM_BLD_to_param(bld);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
		if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1)
			EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
		EVP_PKEY_CTX_free(ctx);
		OSSL_PARAM_free(params);
	}
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return pkey;
}

/* C_SignInit + C_Sign (SHA256-RSA-PKCS) with the session's key; "OK" only if it verifies */
static const char *
sign_and_verify(struct p11 *p, unsigned counter)
{
	CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
	CK_BYTE data[64], sig[512];
	CK_ULONG siglen = sizeof sig;
	CK_RV rv;
	EVP_MD_CTX *md;
	int ok;

	snprintf((char *)data, sizeof data, "recovery suite message %u", counter);
	rv = p->f->C_SignInit(p->session, &mech, p->priv);
	if (rv != CKR_OK)
		return ckr_name(rv);
	rv = p->f->C_Sign(p->session, data, strlen((char *)data), sig, &siglen);
	if (rv != CKR_OK)
		return ckr_name(rv);
	md = EVP_MD_CTX_new();
	ok = md && EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, p->pub, NULL) == 1 &&
	     EVP_DigestVerify(md, sig, siglen, data, strlen((char *)data)) == 1;
	EVP_MD_CTX_free(md);
	return ok ? "OK" : "BADSIG";
}

/* ------------------------------------------------------------ a case */

struct vpcsc_api {
	int (*reset)(const char *);
	int (*inject)(const char *);
	int (*service_lost)(void);
	int (*service_down)(unsigned long);
	int (*service_up)(void);
	int (*service_up_late)(unsigned long);
	int (*card_swap)(unsigned, const char *);
	long (*calls)(const char *);
	long (*apdus)(void);
	const char *(*last_error)(void);
};

/* A thread blocked in C_WaitForSlotEvent (the concurrency case) */
struct waiter {
	pthread_t thread;
	CK_FUNCTION_LIST_PTR f;
	CK_RV rv;
	int done;
	pthread_mutex_t mutex;
};

static void *
waiter_main(void *arg)
{
	struct waiter *w = arg;
	CK_SLOT_ID slot;
	CK_RV rv = w->f->C_WaitForSlotEvent(0, &slot, NULL);

	pthread_mutex_lock(&w->mutex);
	w->rv = rv;
	w->done = 1;
	pthread_mutex_unlock(&w->mutex);
	return NULL;
}

/* C_Initialize .. C_Login, the key pair found, one verified signature */
static int
open_and_sign1(struct p11 *p, struct outbuf *o)
{
	CK_C_INITIALIZE_ARGS args = {0};
	CK_SLOT_ID slots[4];
	CK_ULONG nslots = 4;
	CK_OBJECT_CLASS cls_priv = CKO_PRIVATE_KEY, cls_pub = CKO_PUBLIC_KEY;
	CK_BYTE id[64];
	CK_ATTRIBUTE tid = {CKA_ID, id, sizeof id};
	CK_ATTRIBUTE tpriv[] = {{CKA_CLASS, &cls_priv, sizeof cls_priv}};
	CK_ATTRIBUTE tpub[] = {{CKA_CLASS, &cls_pub, sizeof cls_pub}, {CKA_ID, id, 0}};
	CK_OBJECT_HANDLE pubh;
	const char *r;
	CK_RV rv;

	args.flags = CKF_OS_LOCKING_OK;
	if ((rv = p->f->C_Initialize(&args)) != CKR_OK || (rv = p->f->C_GetSlotList(CK_TRUE, slots, &nslots)) != CKR_OK ||
			nslots < 1 ||
			(p->slot = slots[0], rv = p->f->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
					 &p->session)) != CKR_OK ||
			(rv = p->f->C_Login(p->session, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN))) != CKR_OK) {
		out_add(o, "SETUP-FAILED(%s, %lu slots)", ckr_name(rv), (unsigned long)nslots);
		return -1;
	}
	if (find_one(p, tpriv, 1, &p->priv) != 0 ||
			p->f->C_GetAttributeValue(p->session, p->priv, &tid, 1) != CKR_OK) {
		out_add(o, "SETUP-FAILED(no private key)");
		return -1;
	}
	tpub[1].ulValueLen = tid.ulValueLen;
	if (find_one(p, tpub, 2, &pubh) != 0 || (p->pub = public_key(p, pubh)) == NULL) {
		out_add(o, "SETUP-FAILED(no public key)");
		return -1;
	}
	r = sign_and_verify(p, 1);
	if (strcmp(r, "OK") != 0) {
		out_add(o, "SETUP-FAILED(sign1 %s)", r);
		return -1;
	}
	return 0;
}

static int
is_user_consent_case(const char *fault)
{
	return strncmp(fault, "user_consent", 12) == 0;
}

/* Cases whose card "b" is card A re-personalised with the same serial (issue 10 item 5) */
static const char *
repersonalised_token(const char *fault)
{
	if (strcmp(fault, "repersonalised") == 0 || strcmp(fault, "mac_reinsert_repersonalised") == 0)
		return token_r;
	if (strcmp(fault, "repersonalised_pin") == 0)
		return token_rp;
	return NULL;
}

static int
is_service_code(const char *code)
{
	return strcmp(code, "NO_SERVICE") == 0 || strcmp(code, "SERVICE_STOPPED") == 0 ||
	       strcmp(code, "F_COMM_ERROR") == 0;
}

/* A PKCS#11 poller (what p11-kit, browsers, pcscd-watching agents do between
 * operations): C_GetSlotList, C_GetSlotInfo and C_GetSessionInfo. "OK",
 * "ABSENT" (the token is no longer listed or the slot says it is gone: the
 * slot layer has dropped it) or the failure. */
static void
poll_token(struct p11 *p, struct outbuf *o)
{
	CK_SLOT_ID slots[8];
	CK_ULONG n = 8, i;
	CK_SLOT_INFO si;
	CK_SESSION_INFO info;
	CK_RV rv = p->f->C_GetSlotList(CK_TRUE, slots, &n);

	if (rv != CKR_OK) {
		out_add(o, "poll=%s|", ckr_name(rv));
		return;
	}
	for (i = 0; i < n && slots[i] != p->slot; i++)
		;
	if (i == n) {
		out_add(o, "poll=ABSENT|");
		return;
	}
	rv = p->f->C_GetSlotInfo(p->slot, &si);
	if (rv != CKR_OK)
		out_add(o, "poll=%s|", ckr_name(rv));
	else if (!(si.flags & CKF_TOKEN_PRESENT))
		out_add(o, "poll=ABSENT|");
	else if ((rv = p->f->C_GetSessionInfo(p->session, &info)) != CKR_OK)
		out_add(o, "poll=%s|", ckr_name(rv));
	else
		out_add(o, "poll=OK|");
}


/* The pollers of issue 10 item 4, while the service is down: what NSS does (C_GetSlotList(CK_FALSE,
 * NULL, &n) then the list, C_GetSlotInfo, C_GetSessionInfo on its session), p11-kit and
 * pkcs11-helper (C_GetSlotList(CK_TRUE, ...)). "OK" if every call succeeded and the token and the
 * logged-in session are still reported, else the first deviation: "ABSENT", "PUBLIC" (the session
 * is no longer logged in) or the CKR_* name (prefixed by the call). */
static void
poll_full(struct p11 *p, char *res, size_t size)
{
	CK_SLOT_ID slots[8];
	CK_ULONG n = 0, i;
	CK_SLOT_INFO si;
	CK_SESSION_INFO info;
	CK_RV rv;

	if ((rv = p->f->C_GetSlotList(CK_FALSE, NULL, &n)) != CKR_OK) {
		snprintf(res, size, "GetSlotList(NULL):%s", ckr_name(rv));
		return;
	}
	n = 8;
	if ((rv = p->f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK) {
		snprintf(res, size, "GetSlotList:%s", ckr_name(rv));
		return;
	}
	for (i = 0; i < n && slots[i] != p->slot; i++)
		;
	if (i == n) {
		snprintf(res, size, "ABSENT");
		return;
	}
	if ((rv = p->f->C_GetSlotInfo(p->slot, &si)) != CKR_OK) {
		snprintf(res, size, "GetSlotInfo:%s", ckr_name(rv));
		return;
	}
	if (!(si.flags & CKF_TOKEN_PRESENT)) {
		snprintf(res, size, "ABSENT");
		return;
	}
	if ((rv = p->f->C_GetSessionInfo(p->session, &info)) != CKR_OK) {
		snprintf(res, size, "GetSessionInfo:%s", ckr_name(rv));
		return;
	}
	snprintf(res, size, "%s", info.state == CKS_RW_USER_FUNCTIONS ? "OK" : "PUBLIC");
}

/* One poller alone, by name (slotlist: C_GetSlotList(CK_FALSE, NULL, &n); slotinfo; sessioninfo) */
static const char *
poll_one(struct p11 *p, const char *which)
{
	CK_ULONG n = 0;
	CK_SLOT_INFO si;
	CK_SESSION_INFO info;
	CK_RV rv;

	if (strcmp(which, "slotlist") == 0)
		rv = p->f->C_GetSlotList(CK_FALSE, NULL, &n);
	else if (strcmp(which, "slotinfo") == 0)
		rv = p->f->C_GetSlotInfo(p->slot, &si);
	else
		rv = p->f->C_GetSessionInfo(p->session, &info);
	return ckr_name(rv);
}

/* The calls of doc/recovery.md's CKR table, each once, "Name:CKR" joined by ","; a sign-in-one
 * (C_SignInit + C_Sign) on the session's key and a second session opened and closed */
static void
codes_of_calls(struct p11 *p, char *res, size_t size)
{
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_SESSION_INFO info;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t = {CKA_CLASS, &cls, sizeof cls};
	CK_BYTE id[64], rnd[8];
	CK_ATTRIBUTE tid = {CKA_ID, id, sizeof id};
	CK_OBJECT_HANDLE h;
	CK_ULONG n = 0;
	CK_SESSION_HANDLE s2;
	CK_RV rv;
	size_t len;

	res[0] = '\0';
#define CODE_OF(name, call) \
	do { \
		rv = (call); \
		len = strlen(res); \
		snprintf(res + len, size - len, "%s%s:%s", len ? "," : "", name, ckr_name(rv)); \
	} while (0)
	CODE_OF("GetSlotInfo", p->f->C_GetSlotInfo(p->slot, &si));
	CODE_OF("GetTokenInfo", p->f->C_GetTokenInfo(p->slot, &ti));
	CODE_OF("GetSessionInfo", p->f->C_GetSessionInfo(p->session, &info));
	CODE_OF("FindObjectsInit", p->f->C_FindObjectsInit(p->session, &t, 1));
	CODE_OF("FindObjects", p->f->C_FindObjects(p->session, &h, 1, &n));
	CODE_OF("FindObjectsFinal", p->f->C_FindObjectsFinal(p->session));
	CODE_OF("GetAttributeValue", p->f->C_GetAttributeValue(p->session, p->priv, &tid, 1));
	CODE_OF("GenerateRandom", p->f->C_GenerateRandom(p->session, rnd, sizeof rnd));
	len = strlen(res);
	snprintf(res + len, size - len, ",Sign:%s", sign_and_verify(p, 100));
	CODE_OF("OpenSession", p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION, NULL, NULL, &s2));
	if (rv == CKR_OK)
		p->f->C_CloseSession(s2);
#undef CODE_OF
}

/* A thread that calls C_WaitForSlotEvent(0) in a loop, as a slot-event monitor whose author did not
 * expect an immediate error to repeat (pkcs11-helper stops, others retry at once) */
struct looper {
	pthread_t thread;
	CK_FUNCTION_LIST_PTR f;
	pthread_mutex_t mutex;
	long returns;      /* C_WaitForSlotEvent returns so far */
	int stop, done;
	CK_RV last;
	double cpu_s;      /* the thread's CPU time when it ended */
};

static double
thread_cpu_s(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return -1;
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
process_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void *
looper_main(void *arg)
{
	struct looper *l = arg;
	CK_SLOT_ID slot;
	CK_RV rv;
	int stop;

	do {
		rv = l->f->C_WaitForSlotEvent(0, &slot, NULL);
		pthread_mutex_lock(&l->mutex);
		l->returns++;
		l->last = rv;
		l->cpu_s = thread_cpu_s();
		stop = l->stop || rv == CKR_CRYPTOKI_NOT_INITIALIZED || rv == CKR_FUNCTION_NOT_SUPPORTED;
		pthread_mutex_unlock(&l->mutex);
	} while (!stop);
	pthread_mutex_lock(&l->mutex);
	l->done = 1;
	pthread_mutex_unlock(&l->mutex);
	return NULL;
}

static void
looper_sample(struct looper *l, long *returns, double *cpu)
{
	pthread_mutex_lock(&l->mutex);
	*returns = l->returns;
	*cpu = l->cpu_s;
	pthread_mutex_unlock(&l->mutex);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* A new session after a card change: C_GetSlotList, C_OpenSession, C_Login, the key pair found
 * again, one signature verified with the public key read from the token now in the slot */
static const char *
new_session_sign(struct p11 *p)
{
	CK_SLOT_ID slots[8];
	CK_ULONG n = 8;
	CK_OBJECT_CLASS cls_priv = CKO_PRIVATE_KEY, cls_pub = CKO_PUBLIC_KEY;
	CK_BYTE id[64];
	CK_ATTRIBUTE tid = {CKA_ID, id, sizeof id};
	CK_ATTRIBUTE tpriv[] = {{CKA_CLASS, &cls_priv, sizeof cls_priv}};
	CK_ATTRIBUTE tpub[] = {{CKA_CLASS, &cls_pub, sizeof cls_pub}, {CKA_ID, id, 0}};
	CK_OBJECT_HANDLE pubh;
	CK_RV rv;

	if ((rv = p->f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		return ckr_name(rv);
	if (n < 1)
		return "NOSLOT";
	p->slot = slots[0];
	if ((rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &p->session)) !=
			CKR_OK)
		return ckr_name(rv);
	rv = p->f->C_Login(p->session, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		return ckr_name(rv);
	if (find_one(p, tpriv, 1, &p->priv) != 0 || p->f->C_GetAttributeValue(p->session, p->priv, &tid, 1) != CKR_OK)
		return "NOKEY";
	tpub[1].ulValueLen = tid.ulValueLen;
	EVP_PKEY_free(p->pub);
	if (find_one(p, tpub, 2, &pubh) != 0 || (p->pub = public_key(p, pubh)) == NULL)
		return "NOPUBKEY";
	return sign_and_verify(p, 4);
}

/* RECOVERY_COUNTS=1: the provider calls of every entry point in each phase, on stderr (to place faults) */
static const char *const counted[] = {"SCardBeginTransaction", "SCardTransmit", "SCardEndTransaction",
	"SCardGetStatusChange", "SCardStatus", "SCardConnect", "SCardReconnect", "SCardEstablishContext"};
#define N_COUNTED (sizeof counted / sizeof counted[0])

static void
report_counts(long (*calls)(const char *), const char *phase, long *last)
{
	size_t i;
	long now;

	if (getenv("RECOVERY_COUNTS") == NULL)
		return;
	fprintf(stderr, "%-8s", phase);
	for (i = 0; i < N_COUNTED; i++) {
		now = calls(counted[i]);
		fprintf(stderr, " %s=%ld", counted[i] + 5, now - last[i]);
		last[i] = now;
	}
	fprintf(stderr, "\n");
}

/* As an application's event thread: waits again after each event (the first
 * call reports the tokens present since C_Initialize); at most 16 events */
static void *
waiter_loop_main(void *arg)
{
	struct waiter *w = arg;
	CK_SLOT_ID slot;
	CK_RV rv;
	int i = 0;

	do
		rv = w->f->C_WaitForSlotEvent(0, &slot, NULL);
	while (rv == CKR_OK && ++i < 16);
	pthread_mutex_lock(&w->mutex);
	w->rv = rv;
	w->done = 1;
	pthread_mutex_unlock(&w->mutex);
	return NULL;
}

/* provider calls so far, all entry points OpenSC uses */
static long
all_calls(struct vpcsc_api *vp)
{
	static const char *const entries[] = {"SCardEstablishContext", "SCardReleaseContext", "SCardListReaders",
			"SCardGetStatusChange", "SCardConnect", "SCardReconnect", "SCardDisconnect", "SCardStatus",
			"SCardTransmit", "SCardControl", "SCardBeginTransaction", "SCardEndTransaction", "SCardCancel",
			"SCardGetAttrib"};
	long n = 0, c;
	size_t i;

	for (i = 0; i < sizeof entries / sizeof entries[0]; i++)
		if ((c = vp->calls(entries[i])) > 0)
			n += c;
	return n;
}

static int
waiter_wait_done(struct waiter *w, int tenths)
{
	struct timespec ts;
	int i, done = 0;

	for (i = 0; i < tenths && !done; i++) {
		pthread_mutex_lock(&w->mutex);
		done = w->done;
		pthread_mutex_unlock(&w->mutex);
		if (!done) {
			ts.tv_sec = 0;
			ts.tv_nsec = 100 * 1000 * 1000;
			nanosleep(&ts, NULL);
		}
	}
	return done;
}

/*
 * Open, log in, sign1, then start an event thread (waiter_loop_main) and give
 * it time to block in C_WaitForSlotEvent.
 */
static int
start_blocked_waiter(struct p11 *p, struct waiter *w, struct outbuf *o)
{
	memset(w, 0, sizeof *w);
	if (open_and_sign1(p, o) != 0)
		return -1;
	w->f = p->f;
	pthread_mutex_init(&w->mutex, NULL);
	if (pthread_create(&w->thread, NULL, waiter_loop_main, w) != 0) {
		out_add(o, "SETUP-FAILED(thread)");
		return -1;
	}
	sleep_ms(scaled_ms(300)); /* let it block */
	return 0;
}

/* The end of a counting pass: C_Finalize ends the waiter, which must return. */
static int
end_counting_pass(struct p11 *p, struct waiter *w, struct outbuf *o)
{
	p->f->C_Finalize(NULL);
	if (!waiter_wait_done(w, scaled_ticks(50))) {
		out_add(o, "SETUP-FAILED(waiter stuck without a fault)");
		return -1;
	}
	pthread_join(w->thread, NULL);
	EVP_PKEY_free(p->pub);
	p->pub = NULL;
	return 0;
}

/* The measured pass: the provider re-armed with RULES, then a blocked waiter. */
static int
rearm_with_blocked_waiter(struct p11 *p, struct vpcsc_api *vp, const char *a, const char *b, const char *rules,
		struct waiter *w, struct outbuf *o)
{
	char scen[12000];

	scenario_json(scen, sizeof scen, a, b, rules);
	if (vp->reset(scen) != 0) {
		out_add(o, "SETUP-FAILED(vpcsc_reset: %s)", vp->last_error());
		return -1;
	}
	return start_blocked_waiter(p, w, o);
}

/*
 * waiter_poll_replaced, the counting pass: open, log in, sign1, an event thread
 * (waiter_loop_main) until it blocks; the SCardStatus calls made so far. The
 * next SCardStatus after that is the presence check of the main thread's poll.
 */
static long
count_status_until_waiting(struct p11 *p, struct vpcsc_api *vp, struct outbuf *o)
{
	struct waiter w;
	long base;

	if (start_blocked_waiter(p, &w, o) != 0)
		return -1;
	base = vp->calls("SCardStatus");
	if (end_counting_pass(p, &w, o) != 0)
		return -1;
	return base;
}

/*
 * waiter_finalize: C_Finalize while the waiter renews its wait context after
 * the service was lost. A counting pass first (how many SCardEstablishContext
 * and SCardDisconnect until the waiter blocks), then the same with the next
 * SCardEstablishContext (the waiter's renewal) delayed 1.5 s and the next
 * SCardDisconnect (C_Finalize closing the token, between its sc_cancel and
 * sc_release_context) delayed 2.5 s: sc_cancel comes while the waiter
 * renews, pcsc_finish after the renewal is done.
 */
static void
run_waiter_finalize(struct p11 *p, struct vpcsc_api *vp, const char *a, const char *b, struct outbuf *o)
{
	char rules[512];
	struct waiter w;
	long base, base_disc, calls;
	int done;

	if (start_blocked_waiter(p, &w, o) != 0)
		return;
	base = vp->calls("SCardEstablishContext");
	base_disc = vp->calls("SCardDisconnect");
	if (end_counting_pass(p, &w, o) != 0)
		return;

	snprintf(rules, sizeof rules,
			"{\"trigger\": {\"call\": \"SCardEstablishContext\", \"nth\": %ld},"
			" \"action\": {\"type\": \"delay\", \"ms\": %ld}},"
			" {\"trigger\": {\"call\": \"SCardDisconnect\", \"nth\": %ld},"
			" \"action\": {\"type\": \"delay\", \"ms\": %ld}}",
			base + 1, scaled_ms(1500), base_disc + 1, scaled_ms(2500));
	if (rearm_with_blocked_waiter(p, vp, a, b, rules, &w, o) != 0)
		return;
	pthread_mutex_lock(&w.mutex);
	done = w.done;
	pthread_mutex_unlock(&w.mutex);
	if (done) {
		out_add(o, "SETUP-FAILED(the waiter does not block: %s)", ckr_name(w.rv));
		return;
	}
	if (vp->calls("SCardEstablishContext") != base || vp->calls("SCardDisconnect") != base_disc) {
		out_add(o, "SETUP-FAILED(%ld contexts, %ld disconnects before the fault; %ld, %ld in the counting pass)",
				vp->calls("SCardEstablishContext"), vp->calls("SCardDisconnect"), base, base_disc);
		return;
	}
	vp->service_lost();
	sleep_ms(scaled_ms(300)); /* the waiter is in its delayed SCardEstablishContext now */
	p->f->C_Finalize(NULL); /* a hang here ends the case as HANG */
	out_add(o, "finalize=returned");
	calls = all_calls(vp);
	done = waiter_wait_done(&w, scaled_ticks(50));
	if (done)
		pthread_join(w.thread, NULL);
	/* OpenSC's state is gone after C_Finalize: a waiter still inside the
	 * reader driver then would use freed memory (late_calls > 0) */
	out_add(o, "|waiter=%s|late_calls=%ld", done ? "returned" : "STUCK", all_calls(vp) - calls);
	EVP_PKEY_free(p->pub);
	p->pub = NULL;
}

/*
 * waiter_unload (review of series v3, 0020): as waiter_finalize, but the waiter's renewal
 * SCardEstablishContext is delayed 8 s: it is abandoned after establish_timeout (5 s), which is
 * after C_Finalize gave up on the waiter (sc_cancel and pcsc_finish wait 2 s each), so C_Finalize
 * leaves gpriv to the blocked waiter (pcsc_orphan_waiters); then the application
 * dlcloses the module at once, as one that unloads it (p11-kit). When the delayed call returns, the
 * waiter returns through sc_wait_for_event (libopensc, pinned by 0020) into C_WaitForSlotEvent
 * (opensc-pkcs11.so): that code must still be mapped. Outcome finalize=returned|unload=survived|
 * waiter=returned (else CRASH).
 */
static void
run_waiter_unload(struct p11 *p, struct vpcsc_api *vp, const char *a, const char *b, struct outbuf *o)
{
	char rules[512];
	struct waiter w;
	long base;
	int done;

	if (start_blocked_waiter(p, &w, o) != 0)
		return;
	base = vp->calls("SCardEstablishContext");
	if (end_counting_pass(p, &w, o) != 0)
		return;

	snprintf(rules, sizeof rules,
			"{\"trigger\": {\"call\": \"SCardEstablishContext\", \"nth\": %ld},"
			" \"action\": {\"type\": \"delay\", \"ms\": 8000}}",
			base + 1);
	if (rearm_with_blocked_waiter(p, vp, a, b, rules, &w, o) != 0)
		return;
	if (vp->calls("SCardEstablishContext") != base) {
		out_add(o, "SETUP-FAILED(%ld contexts before the fault; %ld in the counting pass)",
				vp->calls("SCardEstablishContext"), base);
		return;
	}
	vp->service_lost();
	sleep_ms(scaled_ms(300)); /* the waiter is in its delayed SCardEstablishContext now */
	p->f->C_Finalize(NULL); /* leaves the waiter behind after 2 s */
	out_add(o, "finalize=returned");
	EVP_PKEY_free(p->pub);
	p->pub = NULL;
	dlclose(p->dl);
	p->dl = NULL;
	done = waiter_wait_done(&w, 60); /* the renewal is abandoned meanwhile */
	if (done)
		pthread_join(w.thread, NULL);
	out_add(o, "|unload=survived|waiter=%s", done ? "returned" : "STUCK");
}

/*
 * stress (issue 10 item 3): C_Initialize with CKF_OS_LOCKING_OK, STRESS_SIGNERS threads signing in a
 * loop, each in its own session of the one login, and a thread looping on C_WaitForSlotEvent(0);
 * meanwhile STRESS_ROUNDS faults (a lost service and a 300 ms outage, alternately). Every signer must
 * recover: at least 2 signatures verified with the token's public key after the last fault and none
 * that does not verify; then C_Finalize ends the waiter. Outcome signers=<recovered>/<n>|waiter=...;
 * the signers' counts on stderr. A deadlock ends the case as HANG. STRESS_ROUNDS=<n> in the
 * environment gives more rounds (the sanitizer run, make check-reader-tsan).
 */
#define STRESS_SIGNERS 4
#define STRESS_ROUNDS  4

struct stress {
	pthread_mutex_t mutex;
	int faults_done, stop;
};

struct signer {
	pthread_t thread;
	struct stress *st;
	struct p11 p; /* its own session; the key handles and the public key are the slot's */
	unsigned counter;
	int ok, ok_after, bad;
	char last_error[48];
};

static void *
signer_main(void *arg)
{
	struct signer *sg = arg;
	const char *r;
	int stop, after;

	for (;;) {
		pthread_mutex_lock(&sg->st->mutex);
		stop = sg->st->stop;
		after = sg->st->faults_done;
		pthread_mutex_unlock(&sg->st->mutex);
		if (stop)
			break;
		r = sign_and_verify(&sg->p, sg->counter++);
		pthread_mutex_lock(&sg->st->mutex);
		if (strcmp(r, "OK") == 0) {
			sg->ok++;
			if (after)
				sg->ok_after++;
		} else {
			if (strcmp(r, "BADSIG") == 0)
				sg->bad++;
			snprintf(sg->last_error, sizeof sg->last_error, "%s", r);
		}
		pthread_mutex_unlock(&sg->st->mutex);
		if (strcmp(r, "OK") != 0)
			sleep_ms(20); /* the service is down: do not spin */
	}
	return NULL;
}

static void
run_stress(struct p11 *p, struct vpcsc_api *vp, struct outbuf *o)
{
	struct stress st;
	struct signer sg[STRESS_SIGNERS];
	struct looper looper;
	const char *env = getenv("STRESS_ROUNDS");
	int rounds = env && atoi(env) > 0 ? atoi(env) : STRESS_ROUNDS;
	int i, n, recovered = 0, all_done, waited;

	memset(&st, 0, sizeof st);
	memset(sg, 0, sizeof sg);
	memset(&looper, 0, sizeof looper);
	pthread_mutex_init(&st.mutex, NULL);
	if (open_and_sign1(p, o) != 0)
		return;
	looper.f = p->f;
	pthread_mutex_init(&looper.mutex, NULL);
	if (pthread_create(&looper.thread, NULL, looper_main, &looper) != 0) {
		out_add(o, "SETUP-FAILED(thread)");
		return;
	}
	for (n = 0; n < STRESS_SIGNERS; n++) {
		CK_RV rv;

		sg[n].st = &st;
		sg[n].p = *p;
		sg[n].counter = 100u * (unsigned)(n + 1);
		rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &sg[n].p.session);
		if (rv != CKR_OK || pthread_create(&sg[n].thread, NULL, signer_main, &sg[n]) != 0) {
			out_add(o, "SETUP-FAILED(signer %d: %s)", n, ckr_name(rv));
			pthread_mutex_lock(&st.mutex);
			st.stop = 1;
			pthread_mutex_unlock(&st.mutex);
			for (i = 0; i < n; i++)
				pthread_join(sg[i].thread, NULL);
			return;
		}
	}
	for (i = 0; i < rounds; i++) {
		sleep_ms(scaled_ms(400));
		if (i % 2 == 0) {
			vp->service_lost();
		} else {
			vp->service_down(0);
			sleep_ms(scaled_ms(300));
			vp->service_up();
		}
	}
	pthread_mutex_lock(&st.mutex);
	st.faults_done = 1;
	pthread_mutex_unlock(&st.mutex);
	/* at most 20 s (times the time scale) for every signer to sign twice after the last fault */
	for (waited = 0; waited < scaled_ticks(200); waited++) {
		pthread_mutex_lock(&st.mutex);
		for (all_done = 1, n = 0; n < STRESS_SIGNERS; n++)
			all_done &= sg[n].ok_after >= 2;
		pthread_mutex_unlock(&st.mutex);
		if (all_done)
			break;
		sleep_ms(100);
	}
	pthread_mutex_lock(&st.mutex);
	st.stop = 1;
	pthread_mutex_unlock(&st.mutex);
	for (n = 0; n < STRESS_SIGNERS; n++) {
		pthread_join(sg[n].thread, NULL);
		if (sg[n].ok_after >= 2 && sg[n].bad == 0)
			recovered++;
		fprintf(stderr, "stress: signer %d: %d verified (%d after the last fault), %d bad, last error %s\n", n,
				sg[n].ok, sg[n].ok_after, sg[n].bad, sg[n].last_error[0] ? sg[n].last_error : "-");
	}
	out_add(o, "signers=%d/%d", recovered, STRESS_SIGNERS);
	p->f->C_Finalize(NULL); /* a hang here ends the case as HANG */
	pthread_mutex_lock(&looper.mutex);
	looper.stop = 1;
	pthread_mutex_unlock(&looper.mutex);
	for (waited = 0; waited < scaled_ticks(50); waited++) {
		pthread_mutex_lock(&looper.mutex);
		all_done = looper.done;
		pthread_mutex_unlock(&looper.mutex);
		if (all_done)
			break;
		sleep_ms(100);
	}
	if (all_done)
		pthread_join(looper.thread, NULL);
	out_add(o, "|waiter=%s", all_done ? "returned" : "STUCK");
	EVP_PKEY_free(p->pub);
	p->pub = NULL;
}

/*
 * establish_unload (issue 10 item 3): the recovery's SCardEstablishContext hangs (libvpcsc delays it
 * 2.5 s; establish_timeout = 500 ms abandons it), then C_Finalize and dlclose of the module, as an
 * application that unloads it. The abandoned call's thread then returns into libopensc: the library
 * must still be mapped. Outcome unload=survived (else CRASH).
 */
static void
run_establish_unload(struct p11 *p, struct vpcsc_api *vp, const char *a, const char *b, struct outbuf *o)
{
	char scen[12000], rules[512];
	long base;

	if (open_and_sign1(p, o) != 0)
		return;
	base = vp->calls("SCardEstablishContext");
	p->f->C_Finalize(NULL);
	EVP_PKEY_free(p->pub);
	p->pub = NULL;
	snprintf(rules, sizeof rules,
			"{\"trigger\": {\"call\": \"SCardEstablishContext\", \"nth\": %ld},"
			" \"action\": {\"type\": \"delay\", \"ms\": %ld}}",
			base + 1, scaled_ms(2500));
	scenario_json(scen, sizeof scen, a, b, rules);
	if (vp->reset(scen) != 0) {
		out_add(o, "SETUP-FAILED(vpcsc_reset: %s)", vp->last_error());
		return;
	}
	if (open_and_sign1(p, o) != 0)
		return;
	vp->service_lost();
	/* the recovery's SCardEstablishContext is abandoned after 500 ms */
	(void)sign_and_verify(p, 2);
	p->f->C_Finalize(NULL);
	EVP_PKEY_free(p->pub);
	p->pub = NULL;
	dlclose(p->dl);
	p->dl = NULL;
	sleep_ms(scaled_ms(3000)); /* the delayed call returns meanwhile */
	out_add(o, "unload=survived");
}

/*
 * Fault column of pkcs11.tsv (applied between sign1 and sign2):
 *   none              no fault (baseline)
 *   service_lost      pcsc-lite restart, the card stays powered
 *   service_down_up   service down (card power-cycled, volatile state lost), up again before sign2
 *   service_down_up_late  as service_down_up, but the restarted service reports the card only
 *                     0.4 s later (real pcscd polls its readers after starting)
 *   service_down      down during sign2 (a clean error), up before sign3
 *   swap              down; another ePass2003 (same ATR, other serial, same PIN) in the reader; up
 *   nocache           service_down_up with use_pin_caching = false
 *   lock_login        service_lost with lock_login = true (the card lock held since C_Login)
 *   sm_fail           service_down_up (the card's SM session is gone), and the first APDU after it
 *                     (the recovery's SM mutual authentication) fails: nothing may then go to the
 *                     card in plain (extra field plain=N)
 *   waiter            service_lost while another thread is blocked in C_WaitForSlotEvent; after
 *                     sign3, C_Finalize must make the waiter return (extra field waiter=returned)
 *   waiter_finalize   a thread blocked in C_WaitForSlotEvent; service_lost; the waiter renews its
 *                     wait context and its SCardEstablishContext takes 1.5 s (libvpcsc "delay");
 *                     C_Finalize's sc_cancel comes in that window, its sc_release_context 2.5 s later
 *                     (SCardDisconnect delayed). Outcome finalize=returned|waiter=returned|
 *                     late_calls=N: C_Finalize returns, the waiter too, and N provider calls were
 *                     made after C_Finalize returned (by a waiter still in the freed reader driver)
 *   user_consent      service_down_up with card A personalised with a user-consent key
 *                     (userConsent = 1: CKA_ALWAYS_AUTHENTICATE, its PIN is never cached)
 *   user_consent_none no fault, the same user-consent token (baseline)
 *   pinpad            service_down_up on a PIN-pad reader (libvpcsc "pinpad": OpenSC sets
 *                     SC_READER_CAP_PIN_PAD, the token CKF_PROTECTED_AUTHENTICATION_PATH); the user
 *                     logged in with a PIN typed on the host (C_Login with the PIN)
 *   pinpad_none       the same reader, no fault (baseline)
 *   reader_renamed    down; the reader comes back (same card) under another name; up. Extra field
 *                     apdus=N: APDUs any card received after the fault (the renamed reader's card
 *                     must get none)
 *   poll_down         down; a poller three times (C_GetSlotList(CK_FALSE, NULL), the list,
 *                     C_GetSlotInfo, C_GetSessionInfo: field poll=OK if the token and the logged-in
 *                     session are still reported); sign2 while still down; up before sign3
 *   poll_down_slotlist, poll_down_slotinfo, poll_down_sessioninfo
 *                     the same with one poller alone (poll=<its CKR>)
 *   sign_poll_down    down; sign2 meets the outage first, then the poller (|poll=); up before sign3
 *   waiter_loop_down  a thread calls C_WaitForSlotEvent(0) in a loop; the service is down for 2 s
 *                     (waitloop=FEW: fewer than 50 returns in those 2 s, else SPIN; the count and the
 *                     thread's CPU time are printed on stderr), up, 1.5 s, sign2, sign3; the waiter
 *                     must still end with C_Finalize (waiter=returned)
 *   swap_new          down; card B (other serial) in the reader; up; sign2; then
 *                     C_WaitForSlotEvent(CKF_DONT_BLOCK) (event=), C_GetSlotList + C_GetSlotInfo
 *                     (present=), sign3 and session on the old session, a new session with a new
 *                     login on the token now in the slot (newsession=, verified with its own key)
 *   swap_back         as swap_new, but card A comes back (down, swap, up) before the checks
 *   waiter_poll_replaced
 *                     NSS's pattern: an event thread blocked in C_WaitForSlotEvent (looping, as
 *                     SECMOD_WaitForAnyTokenEvent) while the main thread checks the token
 *                     (C_GetSessionInfo on its session, as PK11_IsPresent). The service goes down
 *                     inside that check's SCardStatus, which libvpcsc holds for 1 s ("delay"): the
 *                     event thread wakes, finds the service lost and replaces the context, so the
 *                     held SCardStatus then fails on a released context (INVALID_HANDLE). poll= is
 *                     that C_GetSessionInfo (OK: the session kept); the service comes back, sign2,
 *                     sign3, session; C_Finalize ends the event thread (waiter=returned)
 *   stress            4 signer threads and a C_WaitForSlotEvent thread across 4 faults (run_stress)
 *   establish_unload  dlclose of the module while an abandoned SCardEstablishContext runs
 *                     (run_establish_unload)
 *   waiter_unload     dlclose of the module right after C_Finalize left a blocked waiter behind
 *                     (run_waiter_unload)
 *   Entry:CODE:k      the k-th call of SCard<Entry> after sign1 returns SCARD_<CODE> (E_ unless
 *                     given); NO_SERVICE, SERVICE_STOPPED, F_COMM_ERROR also lose the service then;
 *                     INVALID_HANDLE and READER_UNAVAILABLE on a handle call also reset the card (the
 *                     handle and its transaction are gone), as in the libopensc matrix.
 *                     Placed by counting: a fault-free pass first, in the same process.
 * Timing column: "poll" runs a poller (C_GetSlotList, C_GetSlotInfo, C_GetSessionInfo) between sign1 and sign2, before
 * the fault's entry point is counted in sign2, and records it first (poll=OK|ABSENT|<CKR>).
 */
/* A fault "Entry:CODE:k[:n][+Entry2:CODE2:k2]" (entry and code buffers of 64); 0 if well formed */
static int
parse_fault(const char *fault, char *entry, char *code, int *k, int *repeat, char *entry2, char *code2, int *k2)
{
	char first[256];
	const char *plus = strchr(fault, '+');

	snprintf(first, sizeof first, "%s", fault);
	if (plus != NULL) {
		first[plus - fault] = '\0';
		if (sscanf(plus + 1, "%63[^:]:%63[^:]:%d", entry2, code2, k2) != 3 || *k2 < 1)
			return -1;
	}
	if (sscanf(first, "%63[^:]:%63[^:]:%d:%d", entry, code, k, repeat) < 3 || *k < 1 || *repeat < 1 ||
			*repeat > 4)
		return -1;
	return 0;
}

static void
run_case(const struct rcase *c, struct outbuf *o)
{
	char dir[4300], a[4400], b[4400], scen[12000], apdu_log[4400], mod[4300], entry[64] = "", code[64] = "";
	char entry2[64] = "", code2[64] = "";
	int k2 = 0;
	const char *pkcs15_extra = NULL, *pkcs11_extra = NULL;
	struct vpcsc_api vp;
	struct p11 p = {0};
	CK_SESSION_INFO info;
	CK_RV (*get_list)(CK_FUNCTION_LIST_PTR_PTR);
	CK_RV rv;
	long log_at_fault, apdus_at_fault, counts[N_COUNTED] = {0};
	int k = 0, repeat = 1, has_waiter = 0, has_looper = 0;
	long status_base = -1;
	struct waiter waiter = {0};
	struct looper looper = {0};
	void *pre, *vdl;

	snprintf(dir, sizeof dir, "%s/%s", workdir, c->id);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		out_add(o, "SETUP-FAILED(mkdir)");
		return;
	}
	snprintf(a, sizeof a, "%s/a.json", dir);
	snprintf(b, sizeof b, "%s/b.json", dir);
	snprintf(apdu_log, sizeof apdu_log, "%s/apdu.jsonl", dir);
	unlink(apdu_log);
	if (copy_file(is_user_consent_case(c->fault) ? token_uc : token_a, a) != 0 ||
			copy_file(repersonalised_token(c->fault) ? repersonalised_token(c->fault) : token_b, b) != 0) {
		out_add(o, "SETUP-FAILED(copy)");
		return;
	}
	setenv("VCARD_APDU_LOG", apdu_log, 1);
	pinpad_reader = strncmp(c->fault, "pinpad", 6) == 0;
	macos_profile = strncmp(c->fault, "mac_", 4) == 0;
	if (strcmp(c->fault, "nocache") == 0)
		pkcs15_extra = "\t\tuse_pin_caching = false;\n";
	if (strcmp(c->fault, "lock_login") == 0)
		pkcs11_extra = "\t\tlock_login = true;\n";
	establish_timeout_ms = strcmp(c->fault, "establish_unload") == 0 ? 500 : 0;
	if (write_conf(dir, NULL, pkcs15_extra, pkcs11_extra) != 0) {
		out_add(o, "SETUP-FAILED(conf)");
		return;
	}
	if (strcmp(c->fault, "sm_fail") == 0) {
		snprintf(entry, sizeof entry, "Transmit");
		snprintf(code, sizeof code, "NOT_TRANSACTED");
		k = 1;
	} else if (strchr(c->fault, ':') != NULL &&
			parse_fault(c->fault, entry, code, &k, &repeat, entry2, code2, &k2) != 0) {
		out_add(o, "BAD-FAULT(%s)", c->fault);
		return;
	}

	/* libvcard first, so that the provider's image loader resolves */
	pre = dlopen(preload_path(), RTLD_NOW | RTLD_GLOBAL);
	vdl = pre ? dlopen(getenv("VPCSC_LIBRARY"), RTLD_NOW | RTLD_GLOBAL) : NULL;
	if (vdl == NULL) {
		out_add(o, "SETUP-FAILED(dlopen: %s)", dlerror());
		return;
	}
	*(void **)&vp.reset = dlsym(vdl, "vpcsc_reset");
	*(void **)&vp.inject = dlsym(vdl, "vpcsc_inject");
	*(void **)&vp.service_lost = dlsym(vdl, "vpcsc_service_lost");
	*(void **)&vp.service_down = dlsym(vdl, "vpcsc_service_down");
	*(void **)&vp.service_up = dlsym(vdl, "vpcsc_service_up");
	*(void **)&vp.service_up_late = dlsym(vdl, "vpcsc_service_up_late");
	*(void **)&vp.card_swap = dlsym(vdl, "vpcsc_card_swap");
	*(void **)&vp.calls = dlsym(vdl, "vpcsc_calls");
	*(void **)&vp.apdus = dlsym(vdl, "vpcsc_apdus");
	*(void **)&vp.last_error = dlsym(vdl, "vpcsc_last_error");
	scenario_json(scen, sizeof scen, a, b, NULL);
	if (vp.reset(scen) != 0) {
		out_add(o, "SETUP-FAILED(vpcsc_reset: %s)", vp.last_error());
		return;
	}

	snprintf(mod, sizeof mod, "%s/lib/opensc-pkcs11.so", getenv("OPENSC_PREFIX"));
	p.dl = dlopen(mod, RTLD_NOW | RTLD_LOCAL);
	if (p.dl == NULL) {
		out_add(o, "SETUP-FAILED(%s)", dlerror());
		return;
	}
	*(void **)&get_list = dlsym(p.dl, "C_GetFunctionList");
	if (get_list == NULL || get_list(&p.f) != CKR_OK) {
		out_add(o, "SETUP-FAILED(C_GetFunctionList)");
		return;
	}

	if (strcmp(c->fault, "waiter_finalize") == 0) {
		run_waiter_finalize(&p, &vp, a, b, o);
		return;
	}
	if (strcmp(c->fault, "stress") == 0) {
		run_stress(&p, &vp, o);
		return;
	}
	if (strcmp(c->fault, "establish_unload") == 0) {
		run_establish_unload(&p, &vp, a, b, o);
		return;
	}
	if (strcmp(c->fault, "waiter_unload") == 0) {
		run_waiter_unload(&p, &vp, a, b, o);
		return;
	}

	if (strcmp(c->fault, "waiter_poll_replaced") == 0) {
		/* the service goes down inside the poll's SCardStatus, held 1 s */
		char rules[512];
		status_base = count_status_until_waiting(&p, &vp, o);
		if (status_base < 0)
			return;
		snprintf(rules, sizeof rules,
				"{\"trigger\": {\"call\": \"SCardStatus\", \"nth\": %ld},"
				" \"action\": {\"type\": \"service_down\"}},"
				" {\"trigger\": {\"call\": \"SCardStatus\", \"nth\": %ld},"
				" \"action\": {\"type\": \"delay\", \"ms\": 1000}}",
				status_base + 1, status_base + 1);
		scenario_json(scen, sizeof scen, a, b, rules);
		if (vp.reset(scen) != 0) {
			out_add(o, "SETUP-FAILED(vpcsc_reset: %s)", vp.last_error());
			return;
		}
	}
	if (k > 0) {
		/* the fault-free pass: how many calls of the entry point until sign1 is done */
		char full[80], rules[4096];
		long base;
		int j;
		snprintf(full, sizeof full, "SCard%s", entry);
		if (open_and_sign1(&p, o) != 0)
			return;
		base = vp.calls(full);
		p.f->C_Finalize(NULL);
		EVP_PKEY_free(p.pub);
		p.pub = NULL;
		if (base < 0) {
			out_add(o, "BAD-FAULT(entry %s)", entry);
			return;
		}
		if (k2 > 0) {
			/* a second fault, on another entry point (e.g. the service lost again during
			 * the recovery of the first) */
			char full2[80];
			long base2;
			size_t len;
			snprintf(full2, sizeof full2, "SCard%s", entry2);
			base2 = vp.calls(full2);
			if (base2 < 0) {
				out_add(o, "BAD-FAULT(entry %s)", entry2);
				return;
			}
			snprintf(rules, sizeof rules,
					"{\"trigger\": {\"call\": \"%s\", \"nth\": %ld}, \"action\": {\"type\": \"return\","
					" \"code\": \"SCARD_%s%s\"}}",
					full2, base2 + k2, strchr(code2, '_') == code2 + 1 ? "" : "E_", code2);
			if (is_service_code(code2)) {
				len = strlen(rules);
				snprintf(rules + len, sizeof rules - len,
						", {\"trigger\": {\"call\": \"%s\", \"nth\": %ld},"
						" \"action\": {\"type\": \"service_lost\"}}",
						full2, base2 + k2);
			}
		}
		if (k2 == 0)
			rules[0] = '\0';
		/* with a repeat count n (Entry:CODE:k:n), the calls k..k+n-1: a service lost
		 * again on the context just re-established for the previous one */
		for (j = 0; j < repeat; j++) {
			size_t len = strlen(rules);
			snprintf(rules + len, sizeof rules - len,
					"%s{\"trigger\": {\"call\": \"%s\", \"nth\": %ld}, \"action\": {\"type\": \"return\","
					" \"code\": \"SCARD_%s%s\"}}",
					len > 0 ? ", " : "", full, base + k + j, strchr(code, '_') == code + 1 ? "" : "E_", code);
			if (is_service_code(code)) {
				len = strlen(rules);
				snprintf(rules + len, sizeof rules - len,
						", {\"trigger\": {\"call\": \"%s\", \"nth\": %ld},"
						" \"action\": {\"type\": \"service_lost\"}}",
						full, base + k + j);
			}
		}
		if ((strcmp(code, "INVALID_HANDLE") == 0 || strcmp(code, "READER_UNAVAILABLE") == 0) &&
				strcmp(entry, "GetStatusChange") != 0) {
			size_t len = strlen(rules);
			snprintf(rules + len, sizeof rules - len,
					", {\"trigger\": {\"call\": \"%s\", \"nth\": %ld},"
					" \"action\": {\"type\": \"card_reset\"}}",
					full, base + k);
		}
		scenario_json(scen, sizeof scen, a, b, rules);
		if (vp.reset(scen) != 0) {
			out_add(o, "SETUP-FAILED(vpcsc_reset: %s)", vp.last_error());
			return;
		}
	}
	if (open_and_sign1(&p, o) != 0)
		return;
	if (is_user_consent_case(c->fault)) {
		/* the token must really carry a user-consent key (OpenSC: CKA_ALWAYS_AUTHENTICATE) */
		CK_BBOOL always = CK_FALSE;
		CK_ATTRIBUTE t = {CKA_ALWAYS_AUTHENTICATE, &always, sizeof always};
		if (p.f->C_GetAttributeValue(p.session, p.priv, &t, 1) != CKR_OK || always != CK_TRUE) {
			out_add(o, "SETUP-FAILED(the key is not a user-consent key)");
			return;
		}
	}

	if (pinpad_reader) {
		/* OpenSC must see the PIN pad: CKF_PROTECTED_AUTHENTICATION_PATH */
		CK_TOKEN_INFO ti;
		if (p.f->C_GetTokenInfo(p.slot, &ti) != CKR_OK || !(ti.flags & CKF_PROTECTED_AUTHENTICATION_PATH)) {
			out_add(o, "SETUP-FAILED(the token shows no protected authentication path)");
			return;
		}
	}

	if (strcmp(c->fault, "waiter_loop_down") == 0) {
		looper.f = p.f;
		pthread_mutex_init(&looper.mutex, NULL);
		if (pthread_create(&looper.thread, NULL, looper_main, &looper) != 0) {
			out_add(o, "SETUP-FAILED(thread)");
			return;
		}
		has_looper = 1;
		sleep_ms(scaled_ms(200)); /* let it block */
	}
	if (strcmp(c->fault, "waiter") == 0 || strcmp(c->fault, "waiter_poll_replaced") == 0) {
		waiter.f = p.f;
		pthread_mutex_init(&waiter.mutex, NULL);
		if (pthread_create(&waiter.thread, NULL, strcmp(c->fault, "waiter") == 0 ? waiter_main : waiter_loop_main,
				    &waiter) != 0) {
			out_add(o, "SETUP-FAILED(thread)");
			return;
		}
		has_waiter = 1;
		sleep_ms(scaled_ms(200)); /* let it block */
	}

	/* the fault, between two operations */
	log_at_fault = count_lines(apdu_log);
	apdus_at_fault = vp.apdus();
	if (strcmp(c->fault, "service_lost") == 0 || strcmp(c->fault, "lock_login") == 0 ||
			strcmp(c->fault, "waiter") == 0) {
		vp.service_lost();
	} else if (strcmp(c->fault, "service_down_up") == 0 || strcmp(c->fault, "nocache") == 0 ||
			strcmp(c->fault, "sm_fail") == 0 || strcmp(c->fault, "user_consent") == 0 ||
			strcmp(c->fault, "pinpad") == 0) {
		vp.service_down(0);
		vp.service_up();
	} else if (strcmp(c->fault, "service_down_up_late") == 0) {
		/* real pcscd reports the card ~0.4 s after it starts */
		vp.service_down(0);
		vp.service_up_late((unsigned long)scaled_ms(400)); /* as restart_card_wait, scaled */
	} else if (strcmp(c->fault, "service_down") == 0) {
		vp.service_down(0);
	} else if (strcmp(c->fault, "swap") == 0) {
		vp.service_down(0);
		vp.card_swap(0, "b");
		vp.service_up();
	} else if (strncmp(c->fault, "poll_down", 9) == 0) {
		/* pollers while the service is down, three rounds */
		char res[128] = "", first[128] = "";
		int i;
		vp.service_down(0);
		for (i = 0; i < 3; i++) {
			if (i > 0)
				sleep_ms(1100); /* OpenSC's C_GetSlotInfo asks the reader at most once a second */
			if (c->fault[9] == '\0')
				poll_full(&p, res, sizeof res);
			else
				snprintf(res, sizeof res, "%s", poll_one(&p, c->fault + 10));
			if (first[0] == '\0' || strcmp(first, "OK") == 0)
				snprintf(first, sizeof first, "%s", res); /* the first deviation counts */
		}
		out_add(o, "poll=%s|", first);
	} else if (strcmp(c->fault, "waiter_poll_replaced") == 0) {
		/* NSS's presence check while its event thread waits; the plan takes the
		 * service down inside the check's SCardStatus */
		if (vp.calls("SCardStatus") != status_base) {
			out_add(o, "SETUP-FAILED(%ld SCardStatus before the poll; %ld in the counting pass)",
					vp.calls("SCardStatus"), status_base);
			return;
		}
		out_add(o, "poll=%s|", poll_one(&p, "sessioninfo"));
		if (vp.calls("SCardStatus") <= status_base) {
			out_add(o, "SETUP-FAILED(the poll made no SCardStatus)");
			return;
		}
		/* as NSS between its checks (100 ms): the event thread, which waited for
		 * the PKCS#11 lock meanwhile, gets it and backs off */
		sleep_ms(300);
		vp.service_up();
		sleep_ms(300);
	} else if (strcmp(c->fault, "sign_poll_down") == 0) {
		vp.service_down(0);
	} else if (strcmp(c->fault, "codes_down") == 0) {
		/* the CKR of each call while the service is down (doc/recovery.md's table) */
		char res[1024];
		vp.service_down(0);
		codes_of_calls(&p, res, sizeof res);
		out_add(o, "codes=%s|", res);
	} else if (strcmp(c->fault, "waiter_loop_down") == 0) {
		/* a looping C_WaitForSlotEvent during 2 s of outage */
		long r0, r1;
		double c0, c1;
		looper_sample(&looper, &r0, &c0);
		c0 = process_cpu_s();
		vp.service_down(0);
		/* not scaled: the window of the assertion (< 50 returns in 2 s) */
		sleep_ms(2000); /* this thread sleeps: the process CPU time is the waiter's */
		looper_sample(&looper, &r1, &c1);
		c1 = process_cpu_s();
		fprintf(stderr, "%s (%s): looping C_WaitForSlotEvent over 2.0 s of outage: %ld returns, %.3f CPU s\n",
				c->id, variant, r1 - r0, c1 - c0);
		/* generous: a blocking or backing-off waiter returns a few times at most */
		out_add(o, "waitloop=%s|", r1 - r0 < 50 ? "FEW" : "SPIN");
		vp.service_up();
		sleep_ms(scaled_ms(1500));
	} else if (strcmp(c->fault, "swap_new") == 0 || strcmp(c->fault, "swap_back") == 0) {
		/* consume the events of the setup (the token inserted), so that event= is the swap's */
		CK_SLOT_ID ev_slot;
		int i;
		for (i = 0; i < 8 && p.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev_slot, NULL) == CKR_OK; i++)
			;
		vp.service_down(0);
		vp.card_swap(0, "b");
		vp.service_up();
	} else if (strcmp(c->fault, "repersonalised") == 0 || strcmp(c->fault, "repersonalised_pin") == 0) {
		/* the same token, re-personalised during the outage: same serial, a new key */
		vp.service_down(0);
		vp.card_swap(0, "b");
		vp.service_up();
	} else if (strncmp(c->fault, "mac_", 4) == 0) {
		/* PCSC.framework's codes (libvpcsc "profile": "macos"), no service outage */
		const char *events[3] = {NULL, NULL, NULL};
		int i;
		if (strcmp(c->fault, "mac_sleep_wake") == 0) {
			events[0] = "{\"type\": \"sleep_wake\"}";
		} else if (strcmp(c->fault, "mac_usb_power_cycle") == 0) {
			events[0] = "{\"type\": \"usb_power_cycle\"}";
		} else if (strcmp(c->fault, "mac_reinsert") == 0) {
			events[0] = "{\"type\": \"card_remove\"}";
			events[1] = "{\"type\": \"card_insert\"}";
		} else if (strcmp(c->fault, "mac_reinsert_repersonalised") == 0) {
			events[0] = "{\"type\": \"card_remove\"}";
			events[1] = "{\"type\": \"card_insert\", \"card\": \"b\"}";
		} else {
			out_add(o, "BAD-FAULT(%s)", c->fault);
			return;
		}
		for (i = 0; events[i] != NULL; i++) {
			if (vp.inject(events[i]) != 0) {
				out_add(o, "SETUP-FAILED(%s: %s)", events[i], vp.last_error());
				return;
			}
		}
	} else if (strcmp(c->fault, "reader_renamed") == 0) {
		vp.service_down(0);
		if (vp.inject("{\"type\": \"reader_rename\", \"reader\": 0, \"name\": \"Renamed ePass2003\"}") != 0) {
			out_add(o, "SETUP-FAILED(reader_rename: %s)", vp.last_error());
			return;
		}
		vp.service_up();
	} else if (strcmp(c->fault, "none") != 0 && strcmp(c->fault, "user_consent_none") != 0 &&
			strcmp(c->fault, "pinpad_none") != 0 && k == 0) {
		out_add(o, "BAD-FAULT(%s)", c->fault);
		return;
	}

	report_counts(vp.calls, "sign1", counts);
	if (strcmp(c->timing, "poll") == 0) {
		poll_token(&p, o);
		report_counts(vp.calls, "poll", counts);
	} else if (strncmp(c->timing, "poll_", 5) == 0) {
		/* one poller alone (slotlist, slotinfo, sessioninfo) */
		out_add(o, "poll=%s|", poll_one(&p, c->timing + 5));
	}
	out_add(o, "sign2=%s", sign_and_verify(&p, 2));
	report_counts(vp.calls, "sign2", counts);
	long log_after_sign2 = count_lines(apdu_log);
	if (strcmp(c->fault, "service_down") == 0 || strncmp(c->fault, "poll_down", 9) == 0 ||
			strcmp(c->fault, "codes_down") == 0)
		vp.service_up();
	if (strcmp(c->fault, "sign_poll_down") == 0) {
		/* the same pollers, after a signature met the outage first */
		char res[128] = "";
		poll_full(&p, res, sizeof res);
		out_add(o, "|poll=%s", res);
		vp.service_up();
	}
	if (strcmp(c->fault, "swap_back") == 0) {
		/* the original token comes back */
		vp.service_down(0);
		vp.card_swap(0, "a");
		vp.service_up();
	}
	if (strncmp(c->fault, "swap_", 5) == 0) {
		/* the card change must be reported, the token shown present */
		CK_SLOT_ID ev_slot = (CK_SLOT_ID)-1;
		CK_SLOT_INFO si;
		CK_ULONG n = 0;
		rv = p.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev_slot, NULL);
		out_add(o, "|event=%s", rv == CKR_OK && ev_slot != p.slot ? "OTHER_SLOT" : ckr_name(rv));
		rv = p.f->C_GetSlotList(CK_FALSE, NULL, &n);
		if (rv == CKR_OK)
			rv = p.f->C_GetSlotInfo(p.slot, &si);
		out_add(o, "|present=%s", rv != CKR_OK ? ckr_name(rv) : si.flags & CKF_TOKEN_PRESENT ? "YES" : "NO");
	}
	out_add(o, "|sign3=%s", sign_and_verify(&p, 3));
	if (getenv("RECOVERY_APDU_COST") != NULL) {
		/* the APDUs of the signature through the recovery against those of the next one */
		char ins2[1024], ins3[1024];
		long log_after_sign3 = count_lines(apdu_log);
		long n2 = list_commands(apdu_log, log_at_fault, log_after_sign2, "\"plain\"", ins2, sizeof ins2);
		long n3 = list_commands(apdu_log, log_after_sign2, log_after_sign3, "\"plain\"", ins3, sizeof ins3);
		fprintf(stderr, "apdu-cost %s: sign2 %ld APDUs (INS %s), sign3 %ld APDUs (INS %s): recovery cost %ld\n",
				c->id, n2, ins2, n3, ins3, n2 - n3);
	}
	rv = p.f->C_GetSessionInfo(p.session, &info);
	if (rv != CKR_OK)
		out_add(o, "|session=%s", ckr_name(rv));
	else
		out_add(o, "|session=%s", info.state == CKS_RW_USER_FUNCTIONS ? "RW_USER"
					  : info.state == CKS_RW_PUBLIC_SESSION ? "RW_PUBLIC"
										    : "OTHER");
	if (strncmp(c->fault, "swap_", 5) == 0)
		out_add(o, "|newsession=%s", new_session_sign(&p));
	if (has_looper) {
		/* stop the looper before C_Finalize if it returns by itself */
		int i, done = 0;
		pthread_mutex_lock(&looper.mutex);
		looper.stop = 1;
		pthread_mutex_unlock(&looper.mutex);
		for (i = 0; i < scaled_ticks(10) && !done; i++) {
			sleep_ms(100);
			pthread_mutex_lock(&looper.mutex);
			done = looper.done;
			pthread_mutex_unlock(&looper.mutex);
		}
	}
	p.f->C_Finalize(NULL);
	if (has_looper) {
		int i, done = 0;
		for (i = 0; i < scaled_ticks(50) && !done; i++) {
			pthread_mutex_lock(&looper.mutex);
			done = looper.done;
			pthread_mutex_unlock(&looper.mutex);
			if (!done)
				sleep_ms(100);
		}
		if (done)
			pthread_join(looper.thread, NULL);
		out_add(o, "|waiter=%s", done ? "returned" : "STUCK");
	}
	if (has_waiter) {
		/* C_Finalize cancels the waiter: it must return within 5 s (times the time scale) */
		struct timespec ts;
		int i, done = 0;
		for (i = 0; i < scaled_ticks(50) && !done; i++) {
			pthread_mutex_lock(&waiter.mutex);
			done = waiter.done;
			pthread_mutex_unlock(&waiter.mutex);
			if (!done) {
				ts.tv_sec = 0;
				ts.tv_nsec = 100 * 1000 * 1000;
				nanosleep(&ts, NULL);
			}
		}
		if (done)
			pthread_join(waiter.thread, NULL);
		out_add(o, "|waiter=%s", done ? "returned" : "STUCK");
	}
	EVP_PKEY_free(p.pub);
	out_add(o, "|verify=%ld|tries=%d", count_verify(apdu_log, log_at_fault), pin_tries(a));
	if (strcmp(c->fault, "sm_fail") == 0)
		out_add(o, "|plain=%ld", count_plain(apdu_log, log_at_fault));
	if (strcmp(c->fault, "reader_renamed") == 0)
		out_add(o, "|apdus=%ld", vp.apdus() - apdus_at_fault);
	if (repersonalised_token(c->fault) != NULL)
		/* the PIN tries of the re-personalised token (6: no try lost) */
		out_add(o, "|tries_b=%d", pin_tries(b));
}

static void
run_case_isolated(const struct rcase *c, struct outbuf *o)
{
	/* RECOVERY_CASE_TIMEOUT: more time under a sanitizer (make check-reader-tsan); case_run_isolated
	 * multiplies it by the time scale */
	const char *t = getenv("RECOVERY_CASE_TIMEOUT");

	case_run_isolated(c, run_case, t && atoi(t) > 0 ? (unsigned)atoi(t) : CASE_TIMEOUT_S, o);
}

/* ------------------------------------------------------------ main */

static const char *expect_column;

static void
test_recovery_pkcs11_case(void **state)
{
	const struct rcase *c = *state;
	const char *expect = strcmp(expect_column, "stock") == 0 ? c->expect_stock : c->expect_patched;
	struct outbuf o;

	run_case_isolated(c, &o);
	if (!outcome_matches(expect, o.s)) {
		print_error("case %s (pkcs11.tsv line %d, fault %s)\n  expected (%s): %s\n  got:            %s\n",
				c->id, c->line, c->fault, expect_column, expect, o.s);
		fail();
	}
}

static int
prepare(void)
{
	char tmpl[4096];
	size_t i;

	if (getenv("OPENSC_PREFIX") == NULL || getenv("VPCSC_LIBRARY") == NULL) {
		fprintf(stderr, "OPENSC_PREFIX and VPCSC_LIBRARY must be set\n");
		return -1;
	}
	variant = env_or("RECOVERY_VARIANT", "stock");
	snprintf(tmpl, sizeof tmpl, "%s/recovery-pkcs11-XXXXXX", env_or("TMPDIR", "/tmp"));
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(workdir, sizeof workdir, "%s", tmpl);
	if (load_matrix() != 0)
		return -1;
	snprintf(token_a, sizeof token_a, "%s/token-a.json", workdir);
	snprintf(token_b, sizeof token_b, "%s/token-b.json", workdir);
	if (personalise(token_a, "0102030405060708", 0) != 0 || personalise(token_b, "1112131415161718", 0) != 0)
		return -1;
	/* the user-consent token only when a selected case uses it */
	snprintf(token_uc, sizeof token_uc, "%s/token-uc.json", workdir);
	for (i = 0; i < n_cases; i++) {
		if (is_user_consent_case(cases[i].fault)) {
			if (personalise(token_uc, "2122232425262728", 1) != 0)
				return -1;
			break;
		}
	}
	/* card A re-personalised (same serial, a new key), when a selected case uses it */
	snprintf(token_r, sizeof token_r, "%s/token-r.json", workdir);
	snprintf(token_rp, sizeof token_rp, "%s/token-rp.json", workdir);
	for (i = 0; i < n_cases; i++) {
		if (repersonalised_token(cases[i].fault) == token_r) {
			if (personalise(token_r, "0102030405060708", 0) != 0)
				return -1;
			break;
		}
	}
	for (i = 0; i < n_cases; i++) {
		if (repersonalised_token(cases[i].fault) == token_rp) {
			if (personalise_pin(token_rp, "0102030405060708", 0, OTHER_PIN) != 0)
				return -1;
			break;
		}
	}
	return 0;
}

static void
cleanup(void)
{
	char cmd[4200];

	if (getenv("RECOVERY_KEEP") != NULL || workdir[0] == '\0')
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", workdir);
}

int
main(int argc, char **argv)
{
	struct CMUnitTest *tests;
	size_t i;
	int rc;

	if (prepare() != 0) {
		cleanup();
		return 99;
	}
	if (argc > 1 && strcmp(argv[1], "--report") == 0) {
		rc = case_table_report(run_case_isolated, 0);
		cleanup();
		return rc;
	}
	if (argc > 2 && strcmp(argv[1], "--case") == 0) {
		for (i = 0; i < n_cases; i++) {
			if (strcmp(cases[i].id, argv[2]) == 0) {
				struct outbuf o;
				run_case_isolated(&cases[i], &o);
				printf("%s\n", o.s);
				cleanup();
				return 0;
			}
		}
		cleanup();
		return 99;
	}
	expect_column = env_or("RECOVERY_EXPECT", variant);
	tests = calloc(n_cases, sizeof *tests);
	if (tests == NULL)
		return 99;
	for (i = 0; i < n_cases; i++) {
		tests[i].name = cases[i].id;
		tests[i].test_func = test_recovery_pkcs11_case;
		tests[i].initial_state = &cases[i];
	}
	rc = _cmocka_run_group_tests("recovery_pkcs11", tests, n_cases, NULL, NULL);
	free(tests);
	cleanup();
	return rc;
}
