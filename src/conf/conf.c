/*
 * conf - reads the configuration file (inih) into the values declared
 * in conf_params.h, checks each against its type and range, and reports
 * errors with file and line.
 */
#include "conf.h"

#include <errno.h>
#include <sys/socket.h>
#include <ini.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/strutil.h"
#include "../common/xmem.h"

#define CONF_DECL(name, type, def, nofile, min, max, choices, doc) \
	{#name, #type, def, nofile, min, max, choices, doc},
const struct conf_decl conf_decls[CONF_NPARAMS] = {CONF_PARAMS(CONF_DECL)};

static char *
absolute_path(const char *p)
{
	char cwd[PATH_MAX];

	if (p[0] == '\0' || p[0] == '/')
		return xstrdup(p);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(p);
	return xasprintf("%s/%s", cwd, p);
}

static void
list_free(struct conf_list *l)
{
	str_free_list(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
check_range(const struct conf_decl *d, uint64_t v, char *err, size_t errsz)
{
	if (d->min == 0 && d->max == 0)
		return 0;
	if (v < d->min || v > d->max) {
		snprintf(err, errsz, "%s: value out of range (%llu..%llu)",
		    d->name, (unsigned long long)d->min,
		    (unsigned long long)d->max);
		return -1;
	}
	return 0;
}

static int
check_choice(const struct conf_decl *d, const char *v, char *err, size_t errsz)
{
	const char *p = d->choices;
	size_t vl = strlen(v);

	while (p && *p) {
		size_t l = strcspn(p, "|");

		if (l == vl && strncmp(p, v, l) == 0)
			return 0;
		p += l;
		if (*p == '|')
			p++;
	}
	snprintf(err, errsz, "%s: expected one of %s", d->name, d->choices);
	return -1;
}

/* "192.0.2.1:25", "[2001:db8::1]:25": a literal address and a port. */
static int
check_addrs(
    const struct conf_decl *d, const char *value, char *err, size_t errsz)
{
	char **v = str_split_list(value, NULL), **p, host[64];
	int rc = 0;

	for (p = v; *p && rc == 0; p++) {
		const char *colon = strrchr(*p, ':');
		struct netaddr na;
		uint64_t port;
		size_t hl;

		hl = colon ? (size_t)(colon - *p) : 0;
		if (colon == NULL || hl == 0 || hl >= sizeof(host) ||
		    str_to_u64(colon + 1, strlen(colon + 1), &port) < 0 ||
		    port == 0 || port > 65535) {
			rc = -1;
			break;
		}
		memcpy(host, *p, hl);
		host[hl] = '\0';
		/* "[v6]" brackets are required for IPv6 addresses. */
		if (netaddr_parse(host, &na) < 0 || strchr(host, '/') ||
		    (na.family == AF_INET6 && host[0] != '[')) {
			rc = -1;
			break;
		}
	}
	if (rc < 0)
		snprintf(err, errsz,
		    "%s: \"%s\" is not an address:port (e.g. 127.0.0.1:25, "
		    "[::1]:25)",
		    d->name, *p);
	str_free_list(v);
	return rc;
}

/* Each setter parses text into the field; the X-macro dispatches by type. */
#define SET_STR(field) \
	do { \
		if (d->max && strlen(value) > d->max) { \
			snprintf(err, errsz, "%s: longer than %llu", d->name, \
			    (unsigned long long)d->max); \
			return -1; \
		} \
		free(c->field); \
		c->field = xstrdup(value); \
	} while (0)
#define SET_PATH(field) \
	do { \
		free(c->field); \
		c->field = absolute_path(value); \
		value = c->field; \
	} while (0)
#define SET_ENUM(field) \
	do { \
		if (check_choice(d, value, err, errsz) < 0) \
			return -1; \
		free(c->field); \
		c->field = xstrdup(value); \
	} while (0)
#define SET_LIST(field) \
	do { \
		list_free(&c->field); \
		c->field.v = str_split_list(value, &c->field.n); \
	} while (0)
#define SET_ADDRS(field) \
	do { \
		if (check_addrs(d, value, err, errsz) < 0) \
			return -1; \
		SET_LIST(field); \
	} while (0)
#define SET_NETS(field) \
	do { \
		struct netlist nl; \
		char why[128]; \
		if (netlist_parse(value, &nl, why, sizeof(why)) < 0) { \
			snprintf(err, errsz, "%s: %s", d->name, why); \
			return -1; \
		} \
		netlist_free(&c->field); \
		c->field = nl; \
	} while (0)
#define SET_NUM(field, parse, what) \
	do { \
		uint64_t v; \
		if (parse(value, &v) < 0) { \
			snprintf( \
			    err, errsz, "%s: expected %s", d->name, what); \
			return -1; \
		} \
		if (check_range(d, v, err, errsz) < 0) \
			return -1; \
		c->field = v; \
	} while (0)
#define SET_INT(field) SET_NUM(field, parse_int, "a number")
#define SET_SIZE(field) SET_NUM(field, str_parse_size, "a size (e.g. 10m)")
#define SET_TIME(field) \
	SET_NUM(field, str_parse_duration_ms, "a duration (e.g. 30s, 5m)")
#define SET_BOOL(field) \
	do { \
		if (str_parse_bool(value, &c->field) < 0) { \
			snprintf( \
			    err, errsz, "%s: expected yes or no", d->name); \
			return -1; \
		} \
	} while (0)

static int
parse_int(const char *s, uint64_t *v)
{
	return str_to_u64(s, strlen(s), v);
}

#define CONF_SET_CASE(name, type, def, nofile, min, max, choices, doc) \
	case CONF_P_##name: \
		SET_##type(name); \
		break;

static int
set_index(struct conf *c, int i, const char *value, char *err, size_t errsz)
{
	const struct conf_decl *d = &conf_decls[i];

	switch (i) {
		CONF_PARAMS(CONF_SET_CASE)
	default:
		panic("conf: bad index %d", i);
	}
	free(c->raw[i]);
	c->raw[i] = xstrdup(value);
	return 0;
}

int
conf_set(struct conf *c, const char *name, const char *value, char *err,
    size_t errsz)
{
	int i;

	for (i = 0; i < CONF_NPARAMS; i++)
		if (strcmp(conf_decls[i].name, name) == 0)
			return set_index(c, i, value, err, errsz);
	snprintf(err, errsz, "unknown parameter \"%s\"", name);
	return -1;
}

/* Where lines come from: a file, or text (the parent's copy). */
struct source {
	FILE *fp;
	const char *text;
	size_t off;
	int indented; /* the line just read starts with a blank */
	int mid_line; /* the last piece read ended inside a line */
};

struct load_ctx {
	struct conf *c;
	struct source *src;
	char err[256];
	int seen[CONF_NPARAMS];
	int last; /* index of the last key, for continuation lines */
};

/*
 * inih reports an indented continuation line as its key again, exactly as
 * it reports a repeated key; the reader remembers which one it was.
 */
static char *
conf_reader(char *dst, int num, void *stream)
{
	struct source *src = stream;

	if (num < 2)
		return NULL;
	if (src->fp != NULL) {
		if (fgets(dst, num, src->fp) == NULL)
			return NULL;
	} else {
		const char *p = src->text + src->off, *nl;
		size_t n;

		if (*p == '\0')
			return NULL;
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) + 1 : strlen(p);
		if (n > (size_t)num - 1)
			n = (size_t)num - 1;
		memcpy(dst, p, n);
		dst[n] = '\0';
		src->off += n;
	}
	/* inih reads a line longer than its buffer in pieces: only the
	 * first piece tells whether the line is indented. */
	if (!src->mid_line)
		src->indented = dst[0] == ' ' || dst[0] == '\t';
	src->mid_line = dst[0] != '\0' && dst[strlen(dst) - 1] != '\n';
	return dst;
}

static int
conf_ini_handler(
    void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *lc = user;
	char *joined;
	int i, r;

	if (section[0] != '\0') {
		snprintf(lc->err, sizeof(lc->err),
		    "sections are not used (\"[%s]\")", section);
		return 0;
	}
	for (i = 0; i < CONF_NPARAMS; i++)
		if (strcmp(conf_decls[i].name, name) == 0)
			break;
	if (i == CONF_NPARAMS) {
		snprintf(
		    lc->err, sizeof(lc->err), "unknown parameter \"%s\"", name);
		return 0;
	}
	if (lc->seen[i] && lc->last == i && lc->src->indented) {
		/* Continuing an empty value: no leading blank. */
		if (lc->c->raw[i][0] == '\0')
			joined = xstrdup(value);
		else
			joined = xasprintf("%s %s", lc->c->raw[i], value);
		r = set_index(lc->c, i, joined, lc->err, sizeof(lc->err));
		free(joined);
		return r == 0;
	}
	if (lc->seen[i]) {
		snprintf(lc->err, sizeof(lc->err), "%s: set twice", name);
		return 0;
	}
	lc->seen[i] = 1;
	lc->last = i;
	return set_index(lc->c, i, value, lc->err, sizeof(lc->err)) == 0;
}

static void
resolve_hostname(struct conf *c)
{
	char host[256];

	if (c->myhostname[0] != '\0')
		return;
	if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	free(c->myhostname);
	c->myhostname = xstrdup(host);
	free(c->raw[CONF_P_myhostname]);
	c->raw[CONF_P_myhostname] = xstrdup(host);
}

static struct conf *
load(const char *path, const char *text, char *err, size_t errsz)
{
	struct conf *c = xcalloc(1, sizeof(*c));
	struct load_ctx lc;
	struct source src;
	const char *where = path ? path : "configuration";
	int i, line;

	for (i = 0; i < CONF_NPARAMS; i++) {
		const char *v = conf_decls[i].def;

		if (path == NULL && text == NULL && conf_decls[i].nofile)
			v = conf_decls[i].nofile;
		if (set_index(c, i, v, err, errsz) < 0)
			panic("conf: bad built-in default: %s", err);
	}
	if (path != NULL || text != NULL) {
		memset(&src, 0, sizeof(src));
		if (path != NULL && (src.fp = fopen(path, "re")) == NULL) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			conf_free(c);
			return NULL;
		}
		src.text = text;
		memset(&lc, 0, sizeof(lc));
		lc.c = c;
		lc.src = &src;
		lc.last = -1;
		ini_allow_inline_comments = 0;
		ini_stop_on_first_error = 1;
		ini_use_stack = 0;
		ini_allow_realloc = 1;
		ini_max_line = 65536;
		line =
		    ini_parse_stream(conf_reader, &src, conf_ini_handler, &lc);
		if (src.fp)
			fclose(src.fp);
		if (line != 0) {
			snprintf(err, errsz, "%s:%d: %s", where, line,
			    line < 0        ? "out of memory"
			        : lc.err[0] ? lc.err
			                    : "syntax error");
			conf_free(c);
			return NULL;
		}
		if (path != NULL)
			c->file = absolute_path(path);
	}
	resolve_hostname(c);
	str_lower(c->myhostname);
	for (i = 0; (size_t)i < c->mydestination.n; i++)
		str_lower(c->mydestination.v[i]);
	if (c->minimal_backoff_time > c->maximal_backoff_time) {
		snprintf(err, errsz,
		    "%s: minimal_backoff_time exceeds "
		    "maximal_backoff_time",
		    path ? path : "defaults");
		conf_free(c);
		return NULL;
	}
	return c;
}

struct conf *
conf_load(const char *path, char *err, size_t errsz)
{
	return load(path, NULL, err, errsz);
}

struct conf *
conf_load_text(const char *text, char *err, size_t errsz)
{
	return load(NULL, text, err, errsz);
}

#define CONF_FREE_STR(f) free(c->f);
#define CONF_FREE_PATH(f) free(c->f);
#define CONF_FREE_ENUM(f) free(c->f);
#define CONF_FREE_LIST(f) list_free(&c->f);
#define CONF_FREE_ADDRS(f) list_free(&c->f);
#define CONF_FREE_NETS(f) netlist_free(&c->f);
#define CONF_FREE_INT(f)
#define CONF_FREE_SIZE(f)
#define CONF_FREE_TIME(f)
#define CONF_FREE_BOOL(f)
#define CONF_FREE(name, type, def, nofile, min, max, choices, doc) \
	CONF_FREE_##type(name)

void
conf_free(struct conf *c)
{
	int i;

	if (c == NULL)
		return;
	CONF_PARAMS(CONF_FREE)
	for (i = 0; i < CONF_NPARAMS; i++)
		free(c->raw[i]);
	free(c->file);
	free(c);
}

void
conf_print(const struct conf *c, FILE *fp)
{
	int i;

	for (i = 0; i < CONF_NPARAMS; i++)
		fprintf(fp, "%s = %s\n", conf_decls[i].name, c->raw[i]);
}
