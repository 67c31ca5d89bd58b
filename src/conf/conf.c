#include "conf.h"

#include <errno.h>
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

struct load_ctx {
	struct conf *c;
	char err[256];
	int seen[CONF_NPARAMS];
	int last; /* index of the last key, for continuation lines */
};

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
	/* inih reports an indented continuation line as the same key again. */
	if (lc->seen[i] && lc->last == i) {
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

struct conf *
conf_load(const char *path, char *err, size_t errsz)
{
	struct conf *c = xcalloc(1, sizeof(*c));
	struct load_ctx lc;
	int i, line;

	for (i = 0; i < CONF_NPARAMS; i++) {
		const char *v = conf_decls[i].def;

		if (path == NULL && conf_decls[i].nofile)
			v = conf_decls[i].nofile;
		if (set_index(c, i, v, err, errsz) < 0)
			panic("conf: bad built-in default: %s", err);
	}
	if (path != NULL) {
		memset(&lc, 0, sizeof(lc));
		lc.c = c;
		lc.last = -1;
		ini_allow_inline_comments = 0;
		ini_stop_on_first_error = 1;
		ini_use_stack = 0;
		ini_allow_realloc = 1;
		ini_max_line = 65536;
		line = ini_parse(path, conf_ini_handler, &lc);
		if (line < 0) {
			snprintf(err, errsz, "%s: %s", path,
			    line == -1 ? strerror(errno) : "out of memory");
			conf_free(c);
			return NULL;
		}
		if (line > 0) {
			snprintf(err, errsz, "%s:%d: %s", path, line,
			    lc.err[0] ? lc.err : "syntax error");
			conf_free(c);
			return NULL;
		}
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

#define CONF_FREE_STR(f) free(c->f);
#define CONF_FREE_PATH(f) free(c->f);
#define CONF_FREE_ENUM(f) free(c->f);
#define CONF_FREE_LIST(f) list_free(&c->f);
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
