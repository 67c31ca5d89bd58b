/*
 * fuzz_conf - the configuration file parser and the lookup table parser.
 *
 * The input is written to one memory file (memfd_create, once per process;
 * a file on disk that is truncated and rewritten is flushed on every
 * close by ext4) and loaded through /proc/self/fd/N with conf_load and
 * with table_load; it is
 * also loaded as text with conf_load_text.  A loaded configuration must
 * satisfy every declared limit, agree with the one loaded from text, and
 * survive conf_print and conf_load_text (the way the parent hands it to
 * the other processes) unchanged.  A loaded table must find each of its
 * keys, know each entry's line, and, loaded by the lookup module as each
 * kind of table, give no answer the peer processes' decoders would refuse
 * (whatever the entries hold) and name the file in every problem it
 * finds.  An error must name the file and, for a syntax error, the line.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/common/log.h"
#include "../../src/common/netaddr.h"
#include "../../src/common/strutil.h"
#include "../../src/conf/conf.h"
#include "../../src/conf/table.h"
#include "../../src/lookup/lookup.h"
#include "../../src/proc/msg.h"
#include "fuzz_util.h"

static char path[64];
static int fd = -1;

static void
setup(void)
{
	fd = memfd_create("tern-fuzz-conf", MFD_CLOEXEC);
	if (fd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
}

static void
write_input(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (ftruncate(fd, 0) < 0)
		abort();
	while (off < size) {
		ssize_t w = pwrite(fd, data + off, size - off, (off_t)off);

		if (w <= 0)
			abort();
		off += (size_t)w;
	}
}

/*
 * "path:LINE: text" with 1 <= LINE <= lines; or, when allowed, "path: "
 * followed by text (errors that belong to no line).
 */
/* Physical line no (from 1) of d[0..n): its start and length. */
static const uint8_t *
line_at(const uint8_t *d, size_t n, unsigned long no, size_t *len)
{
	const uint8_t *p = d, *end = d + n, *nl;

	while (--no > 0) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return NULL;
		p = nl + 1;
	}
	nl = memchr(p, '\n', (size_t)(end - p));
	*len = nl ? (size_t)(nl - p) : (size_t)(end - p);
	return p;
}

/* "name = value" (or "name: value") not indented: the name's length. */
static size_t
key_of(const uint8_t *l, size_t n)
{
	size_t k = 0;

	if (n == 0 || isspace(l[0]) || l[0] == ';' || l[0] == '#' ||
	    l[0] == '[')
		return 0;
	while (k < n && l[k] != '=' && l[k] != ':')
		k++;
	if (k == n)
		return 0;
	while (k > 0 && isspace(l[k - 1]))
		k--;
	return k;
}

/*
 * A key may be set on one line only (indented lines continue it): a file
 * that loaded has no name twice on lines that are not indented.
 */
static void
check_no_repeat(const uint8_t *d, size_t n)
{
	const uint8_t *key[64], *p = d, *end = d + n, *nl;
	size_t klen[64], nkeys = 0, len, k;
	unsigned long no = 0;

	while (p < end && nkeys < 64) {
		no++;
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if ((k = key_of(p, len)) > 0) {
			for (size_t i = 0; i < nkeys; i++)
				FUZZ_CHECK(
				    klen[i] != k || memcmp(key[i], p, k) != 0,
				    "\"%.*s\" set twice (line %lu), accepted",
				    (int)k, (const char *)p, no);
			key[nkeys] = p;
			klen[nkeys++] = k;
		}
		p = nl ? nl + 1 : end;
	}
}

/* "set twice" names the line of a repeated key, never a continuation. */
static void
check_twice(const uint8_t *d, size_t n, const char *err)
{
	const char *p = strchr(err, ':');
	unsigned long line;
	const uint8_t *l;
	size_t len;

	if (strstr(err, ": set twice") == NULL || p == NULL)
		return;
	line = strtoul(p + 1, NULL, 10);
	l = line_at(d, n, line, &len);
	FUZZ_CHECK(l != NULL && len > 0 && l[0] != ' ' && l[0] != '\t',
	    "\"%s\" for an indented line", err);
}

static void
check_err(const char *where, const char *err, size_t lines, const char *noline)
{
	size_t pl = strlen(where);
	const char *p = err + pl + 1;
	unsigned long line = 0;

	FUZZ_CHECK(strncmp(err, where, pl) == 0 && err[pl] == ':',
	    "error \"%s\" does not name %s", err, where);
	if (*p == ' ') {
		FUZZ_CHECK(noline != NULL && strstr(p, noline) == p + 1,
		    "error \"%s\" without a line number", err);
		return;
	}
	FUZZ_CHECK(isdigit((unsigned char)*p), "error \"%s\": no line", err);
	while (isdigit((unsigned char)*p))
		line = line * 10 + (unsigned long)(*p++ - '0');
	FUZZ_CHECK(line >= 1 && line <= lines, "error \"%s\" of %zu lines", err,
	    lines);
	FUZZ_CHECK(p[0] == ':' && p[1] == ' ' && p[2] != '\0',
	    "error \"%s\" has no text", err);
}

#define CHECK_RANGE(name, min, max) \
	FUZZ_CHECK(((min) == 0 && (max) == 0) || \
	        (c->name >= (min) && c->name <= (max)), \
	    #name " = %llu out of range", (unsigned long long)c->name)
#define CHECK_STR(name, min, max, choices) \
	FUZZ_CHECK( \
	    c->name != NULL && ((max) == 0 || strlen(c->name) <= (max)), \
	    #name " too long")
#define CHECK_PATH(name, min, max, choices) \
	FUZZ_CHECK( \
	    c->name != NULL && (c->name[0] == '\0' || c->name[0] == '/'), \
	    #name " = \"%s\" is not absolute", c->name)
#define CHECK_ENUM(name, min, max, choices) \
	FUZZ_CHECK(c->name != NULL && in_choices(c->name, choices), \
	    #name " = \"%s\" is not one of " choices, c->name)
#define CHECK_LIST(name, min, max, choices) check_list(&c->name, #name)
#define CHECK_ADDRS(name, min, max, choices) check_list(&c->name, #name)
#define CHECK_NETS(name, min, max, choices) \
	FUZZ_CHECK(c->name.n == 0 || c->name.v != NULL, #name " broken")
#define CHECK_INT(name, min, max, choices) CHECK_RANGE(name, min, max)
#define CHECK_SIZE(name, min, max, choices) CHECK_RANGE(name, min, max)
#define CHECK_TIME(name, min, max, choices) CHECK_RANGE(name, min, max)
#define CHECK_BOOL(name, min, max, choices) \
	FUZZ_CHECK(c->name == 0 || c->name == 1, #name " = %d", c->name)
#define CHECK_PARAM(name, type, def, nofile, min, max, choices, doc) \
	CHECK_##type(name, min, max, choices);

static int
in_choices(const char *v, const char *choices)
{
	size_t vl = strlen(v);
	const char *p = choices;

	while (*p) {
		size_t l = strcspn(p, "|");

		if (l == vl && strncmp(p, v, l) == 0)
			return 1;
		p += l;
		if (*p == '|')
			p++;
	}
	return 0;
}

static void
check_list(const struct conf_list *l, const char *name)
{
	size_t i;

	FUZZ_CHECK(
	    l->v != NULL && l->v[l->n] == NULL, "%s not terminated", name);
	for (i = 0; i < l->n; i++)
		FUZZ_CHECK(l->v[i][0] != '\0' &&
		        strcspn(l->v[i], " \t,\n") == strlen(l->v[i]),
		    "%s: bad element \"%s\"", name, l->v[i]);
}

static void
check_conf(const struct conf *c)
{
	int i;

	CONF_PARAMS(CHECK_PARAM)
	for (i = 0; i < CONF_NPARAMS; i++) {
		const char *r = c->raw[i];
		size_t rl;

		FUZZ_CHECK(r != NULL, "no text for %s", conf_decls[i].name);
		/* inih trims values; joining lines must not add blanks. */
		rl = strlen(r);
		FUZZ_CHECK(rl == 0 ||
		        (r[0] != ' ' && r[0] != '\t' && r[rl - 1] != ' ' &&
		            r[rl - 1] != '\t'),
		    "%s = \"%s\" not trimmed", conf_decls[i].name, r);
	}
	for (const char *p = c->myhostname; *p; p++)
		FUZZ_CHECK(
		    !(*p >= 'A' && *p <= 'Z'), "myhostname not lowercased");
	FUZZ_CHECK(c->minimal_backoff_time <= c->maximal_backoff_time,
	    "backoff times out of order");
}

static void
check_same_conf(const struct conf *a, const struct conf *b, const char *how)
{
	for (int i = 0; i < CONF_NPARAMS; i++)
		FUZZ_CHECK(strcmp(a->raw[i], b->raw[i]) == 0,
		    "%s: %s = \"%s\" became \"%s\"", how, conf_decls[i].name,
		    a->raw[i], b->raw[i]);
}

/* Printed and loaded again, as the parent passes it on: no change. */
static void
check_reload(const struct conf *c)
{
	char *text = NULL, err[512];
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	struct conf *again;

	if (fp == NULL)
		abort();
	conf_print(c, fp);
	if (fclose(fp) != 0)
		abort();
	err[0] = '\0';
	again = conf_load_text(text, err, sizeof(err));
	FUZZ_CHECK(
	    again != NULL, "printed configuration does not load: %s", err);
	check_same_conf(c, again, "print and reload");
	conf_free(again);
	free(text);
}

static void
check_table(const struct table *t)
{
	size_t i, n = table_count(t), line = 0;

	FUZZ_CHECK(
	    strcmp(table_path(t), path) == 0, "table path %s", table_path(t));
	for (i = 0; i < n; i++) {
		const char *k, *v;
		size_t vl;

		FUZZ_CHECK(table_line(t, i) > line,
		    "entry %zu on line %zu, "
		    "after line %zu",
		    i, table_line(t, i), line);
		line = table_line(t, i);
		table_entry(t, i, &k, &v);
		FUZZ_CHECK(table_index(t, k) == i, "key \"%s\" at %zu, not %zu",
		    k, table_index(t, k), i);
		FUZZ_CHECK(k[0] != '\0', "empty key");
		for (const char *p = k; *p; p++)
			FUZZ_CHECK(*p != ' ' && *p != '\t' && *p != '\n' &&
			        !(*p >= 'A' && *p <= 'Z'),
			    "key \"%s\" not lowercased or with blanks", k);
		FUZZ_CHECK(table_get(t, k) == v, "key \"%s\" not found", k);
		vl = strlen(v);
		FUZZ_CHECK(memchr(v, '\n', vl) == NULL, "LF in value of %s", k);
		FUZZ_CHECK(vl == 0 ||
		        (v[0] != ' ' && v[0] != '\t' && v[vl - 1] != ' ' &&
		            v[vl - 1] != '\t'),
		    "value of %s not trimmed", k);
	}
}

/* What the lookup process would send must pass the peer's decoder. */
static void
check_sendable(const struct lookup *lk, struct lookup_reply *r)
{
	struct lookup_reply back;
	struct lookup_dest d, dback;
	struct buf b;
	size_t i;

	buf_init(&b, 1 << 22);
	msg_enc_lookup_ans(&b, r);
	FUZZ_CHECK(msg_dec_lookup_ans(b.data, b.len, &back) == 0,
	    "verdict %d (arg \"%s\", %zu finals) would be refused", r->verdict,
	    r->arg, r->nfinal);
	lookup_reply_free(&back);
	for (i = 0; i < r->nfinal; i++) {
		/* The queue asks where each final address goes. */
		b.len = 0;
		msg_enc_text(&b, r->final[i]);
		FUZZ_CHECK(msg_check(ROLE_LOOKUP, ROLE_QUEUE, MSG_RESOLVE,
		               b.data, b.len) == 0,
		    "final address %s would be refused", r->final[i]);
		lookup_resolve(lk, r->final[i], &d);
		b.len = 0;
		msg_enc_resolve_ans(&b, &d);
		FUZZ_CHECK(msg_dec_resolve_ans(b.data, b.len, &dback) == 0,
		    "where %s goes (%d \"%s\" \"%s\") would be refused",
		    r->final[i], d.type, d.path, d.error);
	}
	buf_free(&b);
	lookup_reply_free(r);
}

/* The input as each kind of lookup table, asked about each of its keys. */
static void
check_lookup(const struct table *t)
{
	static const char *const params[] = {"alias_maps", "relocated_maps",
	    "virtual_mailbox_maps", "local_recipient_maps",
	    "client_access_maps"};
	char text[512], err[512], local[65], domain[256];
	struct lookup_reply r;
	struct netaddr client;
	struct lookup *lk;
	struct conf *c;
	size_t p, i;

	netaddr_parse("192.0.2.1", &client);
	for (p = 0; p < sizeof(params) / sizeof(params[0]); p++) {
		snprintf(text, sizeof(text),
		    "myhostname = mx.example.org\n"
		    "mydestination = localhost, example.org\n"
		    "mail_directory = /var/mail\n%s = %s\n",
		    params[p], path);
		c = conf_load_text(text, err, sizeof(err));
		FUZZ_CHECK(c != NULL, "configuration: %s", err);
		lk = lookup_new(c, err, sizeof(err));
		FUZZ_CHECK(lk != NULL, "a table that loads, as %s: %s",
		    params[p], err);
		for (i = 0; i < lookup_problem_count(lk); i++)
			FUZZ_CHECK(strncmp(lookup_problem(lk, i), path,
			               strlen(path)) == 0 &&
			        lookup_problem(lk, i)[strlen(path)] == ':',
			    "problem without its file: %s",
			    lookup_problem(lk, i));
		for (i = 0; i < table_count(t); i++) {
			const char *k, *v, *at;

			table_entry(t, i, &k, &v);
			at = strrchr(k, '@');
			snprintf(local, sizeof(local), "%.*s",
			    (int)(at ? at - k : (ptrdiff_t)strlen(k)), k);
			snprintf(domain, sizeof(domain), "%s",
			    at ? at + 1 : "localhost");
			/* What the smtp side can ask (msg_dec_rcpt). */
			if (local[0] == '\0' || strpbrk(local, "\r\n") ||
			    strpbrk(domain, "\r\n") ||
			    !utf8_valid(local, strlen(local), NULL) ||
			    !utf8_valid(domain, strlen(domain), NULL))
				continue;
			lookup_rcpt(lk, &client, local, domain, &r);
			check_sendable(lk, &r);
			lookup_vrfy(lk, local, domain, &r);
			check_sendable(lk, &r);
		}
		lookup_free(lk);
		conf_free(c);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Refused recipients are logged: run.sh runs this target "quiet". */
	log_init("fuzz", 0, 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char backoff[] =
	    "minimal_backoff_time exceeds maximal_backoff_time";
	char err[512], err2[512], *text;
	struct conf *c, *c2;
	struct table *t;
	size_t lines = 1;

	if (fd < 0)
		setup();
	write_input(data, size);
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';

	/* inih counts a line with a NUL in its first buffer as two. */
	if (memchr(data, '\0', size) != NULL)
		lines = SIZE_MAX;

	err[0] = '\0';
	if ((c = conf_load(path, err, sizeof(err))) == NULL) {
		check_err(path, err, lines, backoff);
		if (lines != SIZE_MAX)
			check_twice(data, size, err);
	} else {
		if (lines != SIZE_MAX)
			check_no_repeat(data, size);
		check_conf(c);
		FUZZ_CHECK(
		    c->file != NULL && c->file[0] == '/', "file name lost");
		check_reload(c);
	}

	/* The same text, not from a file (up to a NUL, as a string). */
	text = malloc(size + 1);
	if (text == NULL)
		abort();
	if (size > 0)
		memcpy(text, data, size);
	text[size] = '\0';
	err2[0] = '\0';
	if ((c2 = conf_load_text(text, err2, sizeof(err2))) == NULL)
		check_err(strncmp(err2, "defaults: ", 10) == 0
		        ? "defaults"
		        : "configuration",
		    err2, lines, backoff);
	else
		check_conf(c2);
	if (memchr(data, '\0', size) == NULL) {
		FUZZ_CHECK((c == NULL) == (c2 == NULL), "file: %s; text: %s",
		    c ? "ok" : err, c2 ? "ok" : err2);
		if (c != NULL)
			check_same_conf(c, c2, "file and text");
		else
			FUZZ_CHECK(
			    strcmp(strchr(err, ':'), strchr(err2, ':')) == 0,
			    "file: %s; text: %s", err, err2);
	}
	conf_free(c);
	conf_free(c2);
	free(text);

	err[0] = '\0';
	if ((t = table_load(path, err, sizeof(err))) == NULL) {
		check_err(path, err, lines, NULL);
	} else {
		check_table(t);
		check_lookup(t);
		table_free(t);
	}
	return 0;
}
