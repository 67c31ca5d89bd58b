/*
 * lookup - the tables (aliases, virtual, relocated, access) and the one
 * routing function that both RCPT-time acceptance and delivery use, so
 * that the two always agree.
 */
#include "lookup.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/strutil.h"
#include "../common/xmem.h"
#include "../conf/table.h"
#include "../proc/msg.h"

#define MAX_ALIAS_DEPTH 10
#define MAX_EXPANSION 1000

/* A lookup table, and for each entry what makes it unusable (if any). */
struct ltab {
	struct table *t;
	const char *param;
	const char **bad; /* per entry: a problem (lookup_problem), or NULL */
};

struct access_entry {
	struct netaddr net;
	enum lookup_access access;
	char text[200];
	const char *bad; /* BROKEN: the problem */
};

struct lookup {
	char *hostname;
	char **local_domains;
	size_t nlocal;
	char *mail_directory;
	char delimiter; /* 0: no subaddressing */
	struct netlist relay;
	struct ltab local_users;
	struct ltab aliases;
	struct ltab virtual;
	char **vpath; /* per virtual entry: its Maildir, once checked */
	char **virtual_domains;
	size_t nvirtual;
	struct ltab relocated;
	struct access_entry *access;
	size_t naccess;
	char **problems; /* "file:line: what" */
	size_t nproblems;
};

/* Where an address goes: what the routing function says. */
struct route {
	struct lookup_dest d;
	enum lookup_verdict why; /* UNKNOWN, TEMPFAIL: the verdict at RCPT */
	enum lookup_table table;
};

static void route(const struct lookup *lk, const char *addr, struct route *rt);

/* ------------------------------------------------------------- domains */

static int
in_list(char *const *v, size_t n, const char *w)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (str_caseeq(v[i], w))
			return 1;
	return 0;
}

static int
is_local_domain(const struct lookup *lk, const char *d)
{
	return in_list(lk->local_domains, lk->nlocal, d);
}

static int
is_virtual_domain(const struct lookup *lk, const char *d)
{
	return in_list(lk->virtual_domains, lk->nvirtual, d);
}

int
lookup_mailbox_name_ok(const char *local)
{
	size_t i, n = strlen(local);

	if (n == 0 || n > 64 || local[0] == '.' || !utf8_valid(local, n, NULL))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)local[i];

		if (c <= 0x20 || c == 0x7f || c == '/' || c == '"' || c == '\\')
			return 0;
	}
	return 1;
}

/* "user+detail" -> "user" (lowercased); a copy in dst. */
static void
base_local(const struct lookup *lk, const char *local, char *dst, size_t dstsz)
{
	char *d;

	snprintf(dst, dstsz, "%s", local);
	str_lower(dst);
	if (lk->delimiter && (d = strchr(dst, lk->delimiter)) != NULL &&
	    d != dst)
		*d = '\0';
}

/* ------------------------------------------------------------- loading */

static int
load_table(const char *path, const char *param, struct ltab *lt, char *err,
    size_t errsz)
{
	lt->param = param;
	lt->t = NULL;
	if (path == NULL || path[0] == '\0')
		return 0;
	if ((lt->t = table_load(path, err, errsz)) == NULL)
		return -1;
	lt->bad = xcalloc(table_count(lt->t) + 1, sizeof(*lt->bad));
	return 0;
}

static void
add_word(char ***v, size_t *n, const char *w)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (str_caseeq((*v)[i], w))
			return;
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = xstrdup(w);
	str_lower((*v)[*n - 1]);
}

static const char *problem(struct lookup *lk, const struct ltab *lt, size_t i,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Record what is wrong with entry i: "file:line: param entry "key": what". */
static const char *
problem(
    struct lookup *lk, const struct ltab *lt, size_t i, const char *fmt, ...)
{
	char what[1024], key[160];
	const char *k, *v;
	va_list ap;

	table_entry(lt->t, i, &k, &v);
	str_escape(key, sizeof(key), k, strlen(k));
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	lk->problems =
	    xreallocarray(lk->problems, lk->nproblems + 1, sizeof(char *));
	lk->problems[lk->nproblems] = xasprintf("%s:%zu: %s entry \"%s\": %s",
	    table_path(lt->t), table_line(lt->t, i), lt->param, key, what);
	return lk->problems[lk->nproblems++];
}

/* A value from a table, fit to be quoted in a problem. */
static const char *
shown(char *dst, size_t dstsz, const char *s)
{
	str_escape(dst, dstsz, s, strlen(s));
	return dst;
}

/*
 * An alias target as a final address: one without a domain is in the
 * first local domain.  -1 when the result is not an address the other
 * processes would take (msg_address_ok).
 */
static int
qualify(const struct lookup *lk, const char *target, char *dst, size_t dstsz)
{
	int n;

	if (strchr(target, '@') != NULL)
		n = snprintf(dst, dstsz, "%s", target);
	else
		n = snprintf(dst, dstsz, "%s@%s", target, lk->local_domains[0]);
	if (n < 0 || (size_t)n >= dstsz || !msg_address_ok(dst))
		return -1;
	return 0;
}

static void
check_aliases(struct lookup *lk)
{
	const struct ltab *lt = &lk->aliases;
	char addr[ENV_MAX_STRING + 2], sh[128];
	size_t i, k, n;

	for (i = 0; i < table_count(lt->t); i++) {
		const char *key, *value;
		char **targets;

		table_entry(lt->t, i, &key, &value);
		targets = str_split_list(value, &n);
		if (n == 0)
			lt->bad[i] = problem(lk, lt, i, "no target");
		for (k = 0; k < n && lt->bad[i] == NULL; k++)
			if (qualify(lk, targets[k], addr, sizeof(addr)) < 0)
				lt->bad[i] = problem(lk, lt, i,
				    "target \"%s\" is not an address",
				    shown(sh, sizeof(sh), targets[k]));
		str_free_list(targets);
	}
}

static void
check_virtual(struct lookup *lk)
{
	const struct ltab *lt = &lk->virtual;
	char path[PATH_MAX], sh[128];
	size_t i, n;
	int w;

	lk->vpath = xcalloc(table_count(lt->t) + 1, sizeof(*lk->vpath));
	for (i = 0; i < table_count(lt->t); i++) {
		const char *key, *value, *at;

		table_entry(lt->t, i, &key, &value);
		/* Such a key is never looked up: nothing else to check. */
		if ((at = strrchr(key, '@')) == NULL || at[1] == '\0') {
			problem(lk, lt, i, "expected user@domain or @domain");
			continue;
		}
		add_word(&lk->virtual_domains, &lk->nvirtual, at + 1);
		if (value[0] == '\0') {
			lt->bad[i] = problem(lk, lt, i, "no Maildir");
			continue;
		}
		if (value[0] == '/')
			w = snprintf(path, sizeof(path), "%s", value);
		else
			w = snprintf(path, sizeof(path), "%s/%s",
			    lk->mail_directory, value);
		/* "dir/" and "dir" name the same Maildir. */
		n = strlen(path);
		while (n > 1 && path[n - 1] == '/')
			path[--n] = '\0';
		if (w < 0 || (size_t)w >= sizeof(path) || !msg_path_ok(path)) {
			lt->bad[i] = problem(lk, lt, i,
			    "Maildir \"%s\" is not a plain absolute path",
			    shown(sh, sizeof(sh), value));
			continue;
		}
		lk->vpath[i] = xstrdup(path);
	}
}

static void
check_relocated(struct lookup *lk)
{
	const struct ltab *lt = &lk->relocated;
	char sh[128];
	size_t i, n;

	for (i = 0; i < table_count(lt->t); i++) {
		const char *key, *value;
		char **w;

		table_entry(lt->t, i, &key, &value);
		w = str_split_list(value, &n);
		if (n >= 1 && !msg_target_ok(w[0]))
			lt->bad[i] = problem(lk, lt, i,
			    "new address \"%s\" is not an address "
			    "user@domain",
			    shown(sh, sizeof(sh), w[0]));
		else if (n == 2 && !str_caseeq(w[1], "forward"))
			lt->bad[i] = problem(lk, lt, i,
			    "expected \"forward\" after the new address, not "
			    "\"%s\"",
			    shown(sh, sizeof(sh), w[1]));
		else if (n > 2)
			lt->bad[i] = problem(lk, lt, i,
			    "expected the new address and at most the word "
			    "forward");
		str_free_list(w);
	}
}

static void
check_local_users(struct lookup *lk)
{
	const struct ltab *lt = &lk->local_users;
	size_t i;

	/* Such a key can never match: a recipient whose user cannot name a
	 * Maildir is refused first. */
	for (i = 0; i < table_count(lt->t); i++) {
		const char *key, *value;

		table_entry(lt->t, i, &key, &value);
		if (!lookup_mailbox_name_ok(key))
			problem(lk, lt, i,
			    "not a user name that can name a "
			    "Maildir");
	}
}

static void
load_access(struct lookup *lk, const struct ltab *lt)
{
	char sh[128];
	size_t i;

	lk->access = xcalloc(table_count(lt->t) + 1, sizeof(*lk->access));
	for (i = 0; i < table_count(lt->t); i++) {
		struct access_entry *e = &lk->access[lk->naccess];
		const char *key, *value, *rest;
		size_t wl;

		table_entry(lt->t, i, &key, &value);
		if (netaddr_parse(key, &e->net) < 0) {
			/* It matches nobody: nobody is refused for it. */
			problem(lk, lt, i, "not an address or network");
			continue;
		}
		wl = strcspn(value, " \t");
		rest = value + wl;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (wl == 2 && str_ncaseeq(value, "ok", 2))
			e->access = LOOKUP_ACCESS_OK;
		else if (wl == 5 && str_ncaseeq(value, "relay", 5))
			e->access = LOOKUP_ACCESS_RELAY;
		else if (wl == 6 && str_ncaseeq(value, "reject", 6))
			e->access = LOOKUP_ACCESS_REJECT;
		else if (wl == 11 && str_ncaseeq(value, "reject_rcpt", 11))
			e->access = LOOKUP_ACCESS_REJECT_RCPT;
		else if (wl == 10 && str_ncaseeq(value, "defer_rcpt", 10))
			e->access = LOOKUP_ACCESS_DEFER_RCPT;
		else {
			/* What was meant is unknown: its clients are refused
			 * for now rather than let through. */
			e->access = LOOKUP_ACCESS_BROKEN;
			e->bad = problem(lk, lt, i,
			    "\"%s\": expected ok, relay, reject, reject_rcpt "
			    "or defer_rcpt",
			    shown(sh, sizeof(sh), value));
			lk->naccess++;
			continue;
		}
		/* The text goes into a reply: printable ASCII only. */
		str_escape(e->text, sizeof(e->text), rest, strlen(rest));
		if (e->text[0] != '\0' && !msg_reply_text_ok(e->text)) {
			e->access = LOOKUP_ACCESS_BROKEN;
			e->bad = problem(lk, lt, i, "text cannot be sent");
		}
		lk->naccess++;
	}
}

static int expand_alias(const struct lookup *lk, size_t idx, int depth,
    struct lookup_reply *r, size_t **src, size_t *bad);

/*
 * What delivery would say of the addresses the tables lead to, known now
 * rather than at a recipient's RCPT: every target of an alias that is no
 * alias itself, every forward target, every expansion.  Not-yet-known
 * users are problems to report; the entries stay in use (their
 * recipients get what the routing says).
 */
static void
check_routes(struct lookup *lk)
{
	const struct ltab *al = &lk->aliases, *rl = &lk->relocated;
	char addr[ENV_MAX_STRING + 2], base[128], sh[128];
	struct lookup_reply r;
	struct route rt;
	size_t i, k, n, bad, *src;

	for (i = 0; i < table_count(al->t); i++) {
		const char *key, *value, *at;
		char **targets;

		if (al->bad[i] != NULL)
			continue;
		table_entry(al->t, i, &key, &value);
		memset(&r, 0, sizeof(r));
		src = NULL;
		if (expand_alias(lk, i, 0, &r, &src, &bad) == -1 ||
		    (bad == TABLE_NONE && r.nfinal == 0))
			problem(lk, al, i,
			    "expansion loops deeper than %d levels or yields "
			    "no address",
			    MAX_ALIAS_DEPTH);
		lookup_reply_free(&r);
		free(src);
		targets = str_split_list(value, &n);
		for (k = 0; k < n; k++) {
			qualify(lk, targets[k], addr, sizeof(addr));
			at = strrchr(addr, '@');
			snprintf(
			    base, sizeof(base), "%.*s", (int)(at - addr), addr);
			str_lower(base);
			/* An alias target is checked as an entry itself. */
			if (is_local_domain(lk, at + 1) &&
			    !str_caseeq(base, key) &&
			    table_get(al->t, base) != NULL)
				continue;
			route(lk, addr, &rt);
			if (rt.d.type == LOOKUP_DEST_UNKNOWN ||
			    rt.d.type == LOOKUP_DEST_TEMPFAIL)
				problem(lk, al, i, "target %s: %s",
				    shown(sh, sizeof(sh), addr), rt.d.error);
		}
		str_free_list(targets);
	}
	for (i = 0; i < table_count(rl->t); i++) {
		const char *key, *value;
		char **w;

		if (rl->bad[i] != NULL)
			continue;
		table_entry(rl->t, i, &key, &value);
		w = str_split_list(value, &n);
		if (n == 2) {
			route(lk, w[0], &rt);
			if (rt.d.type == LOOKUP_DEST_UNKNOWN ||
			    rt.d.type == LOOKUP_DEST_TEMPFAIL)
				problem(lk, rl, i, "forward target %s: %s",
				    shown(sh, sizeof(sh), w[0]), rt.d.error);
		}
		str_free_list(w);
	}
}

struct lookup *
lookup_new(const struct conf *c, char *err, size_t errsz)
{
	struct lookup *lk = xcalloc(1, sizeof(*lk));
	struct ltab access;
	size_t i;
	char nerr[128];

	memset(&access, 0, sizeof(access));
	lk->hostname = xstrdup(c->myhostname);
	for (i = 0; i < c->mydestination.n; i++)
		add_word(
		    &lk->local_domains, &lk->nlocal, c->mydestination.v[i]);
	add_word(&lk->local_domains, &lk->nlocal, c->myhostname);
	lk->mail_directory = xstrdup(c->mail_directory);
	lk->delimiter = c->recipient_delimiter[0];
	if (netlist_parse(c->raw[CONF_P_relay_networks], &lk->relay, nerr,
	        sizeof(nerr)) < 0) {
		snprintf(err, errsz, "relay_networks: %s", nerr);
		goto fail;
	}
	if (load_table(c->local_recipient_maps, "local_recipient_maps",
	        &lk->local_users, err, errsz) < 0 ||
	    load_table(c->alias_maps, "alias_maps", &lk->aliases, err, errsz) <
	        0 ||
	    load_table(c->virtual_mailbox_maps, "virtual_mailbox_maps",
	        &lk->virtual, err, errsz) < 0 ||
	    load_table(c->relocated_maps, "relocated_maps", &lk->relocated, err,
	        errsz) < 0 ||
	    load_table(c->client_access_maps, "client_access_maps", &access,
	        err, errsz) < 0)
		goto fail;
	check_local_users(lk);
	check_aliases(lk);
	check_virtual(lk);
	check_relocated(lk);
	load_access(lk, &access);
	check_routes(lk);
	table_free(access.t);
	free(access.bad);
	return lk;
fail:
	table_free(access.t);
	free(access.bad);
	lookup_free(lk);
	return NULL;
}

static void
free_words(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
free_ltab(struct ltab *lt)
{
	table_free(lt->t);
	free(lt->bad);
}

void
lookup_free(struct lookup *lk)
{
	size_t i;

	if (lk == NULL)
		return;
	free(lk->hostname);
	free_words(lk->local_domains, lk->nlocal);
	free(lk->mail_directory);
	netlist_free(&lk->relay);
	if (lk->vpath != NULL)
		for (i = 0; i < table_count(lk->virtual.t); i++)
			free(lk->vpath[i]);
	free(lk->vpath);
	free_ltab(&lk->local_users);
	free_ltab(&lk->aliases);
	free_ltab(&lk->virtual);
	free_words(lk->virtual_domains, lk->nvirtual);
	free_ltab(&lk->relocated);
	free(lk->access);
	free_words(lk->problems, lk->nproblems);
	free(lk);
}

size_t
lookup_problem_count(const struct lookup *lk)
{
	return lk->nproblems;
}

const char *
lookup_problem(const struct lookup *lk, size_t i)
{
	return lk->problems[i];
}

void
lookup_log_problems(const struct lookup *lk)
{
	size_t i;

	for (i = 0; i < lk->nproblems; i++)
		log_warnx("lookup: %s", lk->problems[i]);
	if (lk->nproblems > 0)
		log_warnx(
		    "lookup: %zu problem%s in the tables (ternd -t lists "
		    "them); recipients that need those entries are refused",
		    lk->nproblems, lk->nproblems == 1 ? "" : "s");
}

/* ------------------------------------------------------------- clients */

/* The most specific entry of client_access_maps for client, or NULL. */
static const struct access_entry *
match_access(const struct lookup *lk, const struct netaddr *client)
{
	const struct access_entry *best = NULL;
	size_t i;

	if (client == NULL)
		return NULL;
	for (i = 0; i < lk->naccess; i++) {
		const struct access_entry *e = &lk->access[i];

		if (netaddr_contains(&e->net, client) &&
		    (best == NULL || e->net.prefix > best->net.prefix))
			best = e;
	}
	return best;
}

static int
may_relay(const struct lookup *lk, const struct netaddr *client,
    const struct access_entry *e)
{
	enum lookup_access a = e ? e->access : LOOKUP_ACCESS_DEFAULT;

	if (client == NULL)
		return 0;
	return a == LOOKUP_ACCESS_RELAY ||
	    ((a == LOOKUP_ACCESS_DEFAULT || a == LOOKUP_ACCESS_OK) &&
	        netlist_match(&lk->relay, client));
}

void
lookup_client(const struct lookup *lk, const struct netaddr *client,
    struct lookup_client *out)
{
	const struct access_entry *e = match_access(lk, client);

	memset(out, 0, sizeof(*out));
	if (e) {
		out->access = e->access;
		snprintf(out->text, sizeof(out->text), "%s", e->text);
	}
	out->may_relay = may_relay(lk, client, e);
}

/* ------------------------------------------------------------- routing */

static void route_fail(struct route *rt, enum lookup_dest_type type,
    enum lookup_verdict why, enum lookup_table table, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
route_fail(struct route *rt, enum lookup_dest_type type,
    enum lookup_verdict why, enum lookup_table table, const char *fmt, ...)
{
	va_list ap;

	rt->d.type = type;
	rt->why = why;
	rt->table = table;
	va_start(ap, fmt);
	vsnprintf(rt->d.error, sizeof(rt->d.error), fmt, ap);
	va_end(ap);
}

/* The virtual_mailbox_maps entry for an address, or TABLE_NONE. */
static size_t
find_virtual(const struct lookup *lk, const char *addr, const char *base,
    const char *domain)
{
	char key[600];
	size_t i;

	if ((i = table_index(lk->virtual.t, addr)) != TABLE_NONE)
		return i;
	snprintf(key, sizeof(key), "%s@%s", base, domain);
	if ((i = table_index(lk->virtual.t, key)) != TABLE_NONE)
		return i;
	snprintf(key, sizeof(key), "@%s", domain);
	return table_index(lk->virtual.t, key);
}

/*
 * The routing function: where a final address goes.  At RCPT for every
 * address a recipient leads to, and at delivery.  A Maildir path comes
 * out only if the delivery request that names it will pass msg.c.
 */
static void
route(const struct lookup *lk, const char *addr, struct route *rt)
{
	const char *at = strrchr(addr, '@'), *domain;
	char local[128], base[128];
	size_t i;
	int n;

	memset(rt, 0, sizeof(*rt));
	if (!msg_address_ok(addr) || (size_t)(at - addr) >= sizeof(local)) {
		route_fail(rt, LOOKUP_DEST_UNKNOWN, LOOKUP_V_BAD_MAILBOX,
		    LOOKUP_T_NONE, "bad address");
		return;
	}
	snprintf(local, sizeof(local), "%.*s", (int)(at - addr), addr);
	domain = at + 1;
	base_local(lk, local, base, sizeof(base));
	if (is_local_domain(lk, domain)) {
		if (!lookup_mailbox_name_ok(base)) {
			route_fail(rt, LOOKUP_DEST_UNKNOWN,
			    LOOKUP_V_BAD_MAILBOX, LOOKUP_T_NONE,
			    "mailbox name not allowed");
			return;
		}
		if (lk->local_users.t && !str_caseeq(base, "postmaster") &&
		    table_get(lk->local_users.t, base) == NULL) {
			route_fail(rt, LOOKUP_DEST_UNKNOWN,
			    LOOKUP_V_UNKNOWN_USER, LOOKUP_T_LOCAL,
			    "user unknown in local recipient table");
			return;
		}
		n = snprintf(rt->d.path, sizeof(rt->d.path), "%s/%s",
		    lk->mail_directory, base);
		if (n < 0 || (size_t)n >= sizeof(rt->d.path) ||
		    !msg_path_ok(rt->d.path)) {
			rt->d.path[0] = '\0';
			route_fail(rt, LOOKUP_DEST_TEMPFAIL,
			    LOOKUP_V_TABLE_ERROR, LOOKUP_T_NONE,
			    "mail_directory is not a plain absolute path");
			return;
		}
		rt->d.type = LOOKUP_DEST_MAILDIR;
		return;
	}
	if (is_virtual_domain(lk, domain)) {
		i = find_virtual(lk, addr, base, domain);
		if (i == TABLE_NONE) {
			route_fail(rt, LOOKUP_DEST_UNKNOWN,
			    LOOKUP_V_UNKNOWN_USER, LOOKUP_T_VIRTUAL,
			    "user unknown in virtual mailbox table");
			return;
		}
		if (lk->vpath[i] == NULL) {
			route_fail(rt, LOOKUP_DEST_TEMPFAIL,
			    LOOKUP_V_TABLE_ERROR, LOOKUP_T_NONE, "%s",
			    lk->virtual.bad[i]
			        ? lk->virtual.bad[i]
			        : "bad virtual_mailbox_maps entry");
			return;
		}
		rt->d.type = LOOKUP_DEST_MAILDIR;
		snprintf(rt->d.path, sizeof(rt->d.path), "%s", lk->vpath[i]);
		return;
	}
	rt->d.type = LOOKUP_DEST_REMOTE;
}

void
lookup_resolve(
    const struct lookup *lk, const char *addr, struct lookup_dest *out)
{
	struct route rt;

	route(lk, addr, &rt);
	*out = rt.d;
}

/* ---------------------------------------------------------- recipients */

static void
add_final(struct lookup_reply *r, size_t **src, const char *addr, size_t from)
{
	size_t i;

	for (i = 0; i < r->nfinal; i++)
		if (str_caseeq(r->final[i], addr))
			return;
	if (r->nfinal >= MAX_EXPANSION)
		return;
	r->final = xreallocarray(r->final, r->nfinal + 1, sizeof(*r->final));
	if (src != NULL) {
		*src = xreallocarray(*src, r->nfinal + 1, sizeof(**src));
		(*src)[r->nfinal] = from;
	}
	r->final[r->nfinal++] = xstrdup(addr);
}

void
lookup_reply_free(struct lookup_reply *r)
{
	size_t i;

	for (i = 0; i < r->nfinal; i++)
		free(r->final[i]);
	free(r->final);
	r->final = NULL;
	r->nfinal = 0;
}

int
lookup_verdict_temporary(enum lookup_verdict v)
{
	return v == LOOKUP_V_ACCESS_DEFER || v == LOOKUP_V_ALIAS_FAILED ||
	    v == LOOKUP_V_TABLE_ERROR || v == LOOKUP_V_TEMPFAIL ||
	    v == LOOKUP_V_RATE_LIMITED;
}

/*
 * Expand alias entry idx into final addresses, noting in src the entry
 * each comes from.  A target without a domain is local; a local target
 * with an alias of its own is expanded in turn (an alias naming itself
 * delivers to the mailbox).  Returns 0; -1 on a loop too deep; -2 when an
 * entry on the way cannot be used (*bad gets it).
 */
static int
expand_alias(const struct lookup *lk, size_t idx, int depth,
    struct lookup_reply *r, size_t **src, size_t *bad)
{
	const struct ltab *lt = &lk->aliases;
	const char *name, *value;
	char **targets;
	size_t n, i, sub;
	int rc = 0;

	*bad = TABLE_NONE;
	if (depth > MAX_ALIAS_DEPTH)
		return -1;
	if (lt->bad[idx] != NULL) {
		*bad = idx;
		return -2;
	}
	table_entry(lt->t, idx, &name, &value);
	targets = str_split_list(value, &n);
	for (i = 0; i < n && rc == 0; i++) {
		char addr[ENV_MAX_STRING + 2], base[128];
		const char *at;

		/* Checked at load: every target qualifies. */
		if (qualify(lk, targets[i], addr, sizeof(addr)) < 0) {
			*bad = idx;
			rc = -2;
			break;
		}
		at = strrchr(addr, '@');
		if (is_local_domain(lk, at + 1)) {
			snprintf(
			    base, sizeof(base), "%.*s", (int)(at - addr), addr);
			str_lower(base);
			sub = table_index(lt->t, base);
			if (sub != TABLE_NONE && !str_caseeq(base, name)) {
				rc = expand_alias(
				    lk, sub, depth + 1, r, src, bad);
				continue;
			}
		}
		add_final(r, src, addr, idx);
	}
	str_free_list(targets);
	return rc;
}

/* A recipient that needs a table entry which cannot be used. */
static void
refuse_bad(struct lookup_reply *r, const char *addr, const char *why)
{
	char sh[320];

	lookup_reply_free(r);
	r->verdict = LOOKUP_V_TABLE_ERROR;
	r->table = LOOKUP_T_NONE;
	r->arg[0] = '\0';
	log_warnx("lookup: <%s>: refused for now: %s",
	    shown(sh, sizeof(sh), addr), why);
}

/*
 * A final address the recipient leads to cannot be delivered: refuse the
 * recipient as delivery would fail it, and say which entry led there.
 */
static void
refuse_route(struct lookup_reply *r, const char *addr, const struct route *rt,
    const struct ltab *lt, size_t entry, const char *final)
{
	char sh[320], fin[320];
	const char *key, *value;

	lookup_reply_free(r);
	r->arg[0] = '\0';
	r->verdict = rt->why;
	r->table = rt->table;
	if (lt == NULL) {
		if (rt->d.type == LOOKUP_DEST_TEMPFAIL)
			log_warnx("lookup: <%s>: refused for now: %s",
			    shown(sh, sizeof(sh), addr), rt->d.error);
		return;
	}
	table_entry(lt->t, entry, &key, &value);
	log_warnx("lookup: <%s>: refused: %s:%zu: %s entry \"%s\" leads to "
	          "<%s>: %s",
	    shown(sh, sizeof(sh), addr), table_path(lt->t),
	    table_line(lt->t, entry), lt->param, key,
	    shown(fin, sizeof(fin), final), rt->d.error);
}

static int
routable(const struct route *rt)
{
	return rt->d.type == LOOKUP_DEST_MAILDIR ||
	    rt->d.type == LOOKUP_DEST_REMOTE;
}

/* relocated_maps: 1 when it decides the recipient. */
static int
relocated(const struct lookup *lk, const char *addr, const char *base,
    const char *domain, int local, struct lookup_reply *r)
{
	const struct ltab *lt = &lk->relocated;
	char key[600];
	const char *k, *v;
	struct route rt;
	size_t i, n;
	char **w;

	if ((i = table_index(lt->t, addr)) == TABLE_NONE) {
		snprintf(key, sizeof(key), "%s@%s", base, domain);
		i = table_index(lt->t, key);
	}
	if (i == TABLE_NONE && local)
		i = table_index(lt->t, base);
	if (i == TABLE_NONE) {
		snprintf(key, sizeof(key), "@%s", domain);
		i = table_index(lt->t, key);
	}
	if (i == TABLE_NONE)
		return 0;
	if (lt->bad[i] != NULL) {
		refuse_bad(r, addr, lt->bad[i]);
		return 1;
	}
	table_entry(lt->t, i, &k, &v);
	w = str_split_list(v, &n);
	if (n == 0) {
		r->verdict = LOOKUP_V_RELOCATED;
	} else if (n == 1) {
		r->verdict = LOOKUP_V_RELOCATED;
		snprintf(r->arg, sizeof(r->arg), "%s", w[0]);
	} else {
		route(lk, w[0], &rt);
		if (routable(&rt)) {
			r->verdict = LOOKUP_V_FORWARD;
			snprintf(r->arg, sizeof(r->arg), "%s", w[0]);
			add_final(r, NULL, w[0], i);
		} else {
			refuse_route(r, addr, &rt, lt, i, w[0]);
		}
	}
	str_free_list(w);
	return 1;
}

/* An alias: accepted when every address it leads to can be delivered. */
static void
alias_rcpt(const struct lookup *lk, const char *addr, size_t idx,
    struct lookup_reply *r)
{
	size_t *src = NULL, bad, i;
	struct route rt;
	char sh[320];
	int rc;

	rc = expand_alias(lk, idx, 0, r, &src, &bad);
	if (rc == -2) {
		refuse_bad(r, addr,
		    lk->aliases.bad[bad] ? lk->aliases.bad[bad]
		                         : "bad alias_maps entry");
	} else if (rc < 0 || r->nfinal == 0) {
		lookup_reply_free(r);
		r->verdict = LOOKUP_V_ALIAS_FAILED;
		log_warnx("lookup: <%s>: alias expansion loops deeper than %d "
		          "levels or yields no address",
		    shown(sh, sizeof(sh), addr), MAX_ALIAS_DEPTH);
	} else {
		r->verdict = LOOKUP_V_ACCEPT;
		for (i = 0; i < r->nfinal; i++) {
			route(lk, r->final[i], &rt);
			if (!routable(&rt)) {
				char *fin = xstrdup(r->final[i]);

				refuse_route(
				    r, addr, &rt, &lk->aliases, src[i], fin);
				free(fin);
				break;
			}
		}
	}
	free(src);
}

void
lookup_rcpt(const struct lookup *lk, const struct netaddr *client,
    const char *local, const char *domain, struct lookup_reply *r)
{
	const struct access_entry *acc = match_access(lk, client);
	char addr[600], base[128], full[128];
	struct route rt;
	size_t i;
	int local_dom;

	memset(r, 0, sizeof(*r));
	if (domain[0] == '\0')
		domain = lk->hostname; /* <postmaster> */
	snprintf(addr, sizeof(addr), "%s@%s", local, domain);
	base_local(lk, local, base, sizeof(base));
	if (acc && acc->access == LOOKUP_ACCESS_REJECT_RCPT) {
		r->verdict = LOOKUP_V_ACCESS_REJECT;
		snprintf(r->arg, sizeof(r->arg), "%s", acc->text);
		return;
	}
	if (acc && acc->access == LOOKUP_ACCESS_DEFER_RCPT) {
		r->verdict = LOOKUP_V_ACCESS_DEFER;
		snprintf(r->arg, sizeof(r->arg), "%s", acc->text);
		return;
	}
	if (acc && acc->access == LOOKUP_ACCESS_BROKEN) {
		refuse_bad(r, addr, acc->bad);
		return;
	}
	local_dom = is_local_domain(lk, domain);
	if (relocated(lk, addr, base, domain, local_dom, r))
		return;
	if (local_dom && lk->aliases.t) {
		snprintf(full, sizeof(full), "%s", local);
		str_lower(full);
		if ((i = table_index(lk->aliases.t, full)) == TABLE_NONE)
			i = table_index(lk->aliases.t, base);
		if (i != TABLE_NONE) {
			alias_rcpt(lk, addr, i, r);
			return;
		}
	}
	route(lk, addr, &rt);
	if (rt.d.type == LOOKUP_DEST_REMOTE && !may_relay(lk, client, acc)) {
		r->verdict = LOOKUP_V_RELAY_DENIED;
	} else if (routable(&rt)) {
		r->verdict = LOOKUP_V_ACCEPT;
		add_final(r, NULL, addr, 0);
	} else {
		refuse_route(r, addr, &rt, NULL, 0, addr);
	}
}

void
lookup_vrfy(const struct lookup *lk, const char *local, const char *domain,
    struct lookup_reply *r)
{
	const char *d = domain[0] ? domain : lk->hostname;

	if (!is_local_domain(lk, d) && !is_virtual_domain(lk, d)) {
		memset(r, 0, sizeof(*r));
		r->verdict = LOOKUP_V_NOT_LOCAL;
		return;
	}
	/* As RCPT from a client with no rights; the expansion is kept, as
	 * the verdict on an accepted address says where it goes. */
	lookup_rcpt(lk, NULL, local, domain, r);
}
