#include "lookup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strutil.h"
#include "../common/xmem.h"
#include "../conf/table.h"

#define MAX_ALIAS_DEPTH 10
#define MAX_EXPANSION 1000

struct access_entry {
	struct netaddr net;
	enum lookup_access access;
	char text[200];
};

struct lookup {
	char *hostname;
	char **local_domains;
	size_t nlocal;
	char *mail_directory;
	char delimiter; /* 0: no subaddressing */
	struct netlist relay;
	struct table *local_users;
	struct table *aliases;
	struct table *virtual;
	char **virtual_domains;
	size_t nvirtual;
	struct table *relocated;
	struct access_entry *access;
	size_t naccess;
};

static int
load_table(const char *path, struct table **out, char *err, size_t errsz)
{
	*out = NULL;
	if (path == NULL || path[0] == '\0')
		return 0;
	*out = table_load(path, err, errsz);
	return *out ? 0 : -1;
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

static int
load_access(struct lookup *lk, const char *path, char *err, size_t errsz)
{
	struct table *t;
	size_t i;

	if (load_table(path, &t, err, errsz) < 0)
		return -1;
	if (t == NULL)
		return 0;
	lk->access = xcalloc(table_count(t) + 1, sizeof(*lk->access));
	for (i = 0; i < table_count(t); i++) {
		struct access_entry *e = &lk->access[lk->naccess];
		const char *key, *value, *rest;
		size_t wl;

		table_entry(t, i, &key, &value);
		if (netaddr_parse(key, &e->net) < 0) {
			snprintf(err, errsz,
			    "%s: \"%s\" is not an address or "
			    "network",
			    path, key);
			goto fail;
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
			snprintf(err, errsz,
			    "%s: %s: expected ok, relay, "
			    "reject, reject_rcpt or defer_rcpt",
			    path, key);
			goto fail;
		}
		/* The text goes into a reply: printable ASCII only. */
		str_escape(e->text, sizeof(e->text), rest, strlen(rest));
		lk->naccess++;
	}
	table_free(t);
	return 0;
fail:
	table_free(t);
	return -1;
}

struct lookup *
lookup_new(const struct conf *c, char *err, size_t errsz)
{
	struct lookup *lk = xcalloc(1, sizeof(*lk));
	size_t i;
	char nerr[128];

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
	if (load_table(c->local_recipient_maps, &lk->local_users, err, errsz) <
	        0 ||
	    load_table(c->alias_maps, &lk->aliases, err, errsz) < 0 ||
	    load_table(c->virtual_mailbox_maps, &lk->virtual, err, errsz) < 0 ||
	    load_table(c->relocated_maps, &lk->relocated, err, errsz) < 0 ||
	    load_access(lk, c->client_access_maps, err, errsz) < 0)
		goto fail;
	for (i = 0; i < table_count(lk->virtual); i++) {
		const char *key, *value, *at;

		table_entry(lk->virtual, i, &key, &value);
		if ((at = strrchr(key, '@')) == NULL || at[1] == '\0') {
			snprintf(err, errsz,
			    "%s: key \"%s\": expected "
			    "user@domain or @domain",
			    c->virtual_mailbox_maps, key);
			goto fail;
		}
		if (value[0] == '\0') {
			snprintf(err, errsz, "%s: key \"%s\": no Maildir",
			    c->virtual_mailbox_maps, key);
			goto fail;
		}
		add_word(&lk->virtual_domains, &lk->nvirtual, at + 1);
	}
	return lk;
fail:
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

void
lookup_free(struct lookup *lk)
{
	if (lk == NULL)
		return;
	free(lk->hostname);
	free_words(lk->local_domains, lk->nlocal);
	free(lk->mail_directory);
	netlist_free(&lk->relay);
	table_free(lk->local_users);
	table_free(lk->aliases);
	table_free(lk->virtual);
	free_words(lk->virtual_domains, lk->nvirtual);
	table_free(lk->relocated);
	free(lk->access);
	free(lk);
}

void
lookup_client(const struct lookup *lk, const struct netaddr *client,
    struct lookup_client *out)
{
	const struct access_entry *best = NULL;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < lk->naccess; i++) {
		const struct access_entry *e = &lk->access[i];

		/* The most specific network decides. */
		if (netaddr_contains(&e->net, client) &&
		    (best == NULL || e->net.prefix > best->net.prefix))
			best = e;
	}
	if (best) {
		out->access = best->access;
		snprintf(out->text, sizeof(out->text), "%s", best->text);
	}
	out->may_relay = out->access == LOOKUP_ACCESS_RELAY ||
	    ((out->access == LOOKUP_ACCESS_DEFAULT ||
	         out->access == LOOKUP_ACCESS_OK) &&
	        netlist_match(&lk->relay, client));
}

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

/* A verdict, with its argument (a new address or a table's text). */
static void
verdict(struct lookup_reply *r, enum lookup_verdict v, const char *arg)
{
	r->verdict = v;
	snprintf(r->arg, sizeof(r->arg), "%s", arg ? arg : "");
}

static void
add_final(struct lookup_reply *r, const char *addr)
{
	size_t i;

	for (i = 0; i < r->nfinal; i++)
		if (str_caseeq(r->final[i], addr))
			return;
	if (r->nfinal >= MAX_EXPANSION)
		return;
	r->final = xreallocarray(r->final, r->nfinal + 1, sizeof(*r->final));
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
	    v == LOOKUP_V_TEMPFAIL;
}

/*
 * Expand an alias value into final addresses.  A target without a domain
 * is local; a local target with an alias of its own is expanded in turn
 * (an alias naming itself delivers to the mailbox).  Returns -1 on a loop
 * too deep.
 */
static int
expand(const struct lookup *lk, const char *name, const char *value, int depth,
    struct lookup_reply *r)
{
	char **targets;
	size_t n, i;
	int rc = 0;

	if (depth > MAX_ALIAS_DEPTH)
		return -1;
	targets = str_split_list(value, &n);
	for (i = 0; i < n && rc == 0; i++) {
		char addr[600], base[128];
		const char *t = targets[i], *at = strrchr(t, '@'), *sub;

		if (at == NULL)
			snprintf(addr, sizeof(addr), "%s@%s", t,
			    lk->local_domains[0]);
		else
			snprintf(addr, sizeof(addr), "%s", t);
		at = strrchr(addr, '@');
		if (at && is_local_domain(lk, at + 1)) {
			snprintf(
			    base, sizeof(base), "%.*s", (int)(at - addr), addr);
			str_lower(base);
			sub = table_get(lk->aliases, base);
			if (sub && !str_caseeq(base, name)) {
				rc = expand(lk, base, sub, depth + 1, r);
				continue;
			}
		}
		add_final(r, addr);
	}
	str_free_list(targets);
	return rc;
}

static int
relocated(const struct lookup *lk, const char *addr, const char *base,
    const char *domain, int local, struct lookup_reply *r)
{
	char key[600];
	const char *v = table_get(lk->relocated, addr);
	char **w;
	size_t n;
	int forward;

	if (v == NULL) {
		snprintf(key, sizeof(key), "%s@%s", base, domain);
		v = table_get(lk->relocated, key);
	}
	if (v == NULL && local)
		v = table_get(lk->relocated, base);
	if (v == NULL) {
		snprintf(key, sizeof(key), "@%s", domain);
		v = table_get(lk->relocated, key);
	}
	if (v == NULL)
		return 0;
	w = str_split_list(v, &n);
	forward = n > 1 && str_caseeq(w[1], "forward");
	if (n == 0) {
		verdict(r, LOOKUP_V_RELOCATED, NULL);
	} else if (forward) {
		verdict(r, LOOKUP_V_FORWARD, w[0]);
		add_final(r, w[0]);
	} else {
		verdict(r, LOOKUP_V_RELOCATED, w[0]);
	}
	str_free_list(w);
	return 1;
}

void
lookup_rcpt(const struct lookup *lk, const char *local, const char *domain,
    int may_relay, const struct lookup_client *cl, struct lookup_reply *r)
{
	char addr[600], base[128], key[600];
	const char *v;
	int local_dom;

	memset(r, 0, sizeof(r[0]));
	if (domain[0] == '\0')
		domain = lk->hostname; /* <postmaster> */
	snprintf(addr, sizeof(addr), "%s@%s", local, domain);
	base_local(lk, local, base, sizeof(base));
	if (cl && cl->access == LOOKUP_ACCESS_REJECT_RCPT) {
		verdict(r, LOOKUP_V_ACCESS_REJECT, cl->text);
		return;
	}
	if (cl && cl->access == LOOKUP_ACCESS_DEFER_RCPT) {
		verdict(r, LOOKUP_V_ACCESS_DEFER, cl->text);
		return;
	}
	local_dom = is_local_domain(lk, domain);
	if (relocated(lk, addr, base, domain, local_dom, r))
		return;
	if (local_dom) {
		if (lk->aliases) {
			char full[128];

			snprintf(full, sizeof(full), "%s", local);
			str_lower(full);
			v = table_get(lk->aliases, full);
			if (v == NULL)
				v = table_get(lk->aliases, base);
			if (v != NULL) {
				if (expand(lk, base, v, 0, r) < 0 ||
				    r->nfinal == 0) {
					lookup_reply_free(r);
					verdict(r, LOOKUP_V_ALIAS_FAILED, NULL);
					return;
				}
				verdict(r, LOOKUP_V_ACCEPT, NULL);
				return;
			}
		}
		if (!lookup_mailbox_name_ok(base)) {
			verdict(r, LOOKUP_V_BAD_MAILBOX, NULL);
			return;
		}
		if (lk->local_users && !str_caseeq(base, "postmaster") &&
		    table_get(lk->local_users, base) == NULL) {
			verdict(r, LOOKUP_V_UNKNOWN_USER, NULL);
			r->table = LOOKUP_T_LOCAL;
			return;
		}
		verdict(r, LOOKUP_V_ACCEPT, NULL);
		add_final(r, addr);
		return;
	}
	if (is_virtual_domain(lk, domain)) {
		snprintf(key, sizeof(key), "%s@%s", base, domain);
		if (table_get(lk->virtual, addr) == NULL &&
		    table_get(lk->virtual, key) == NULL) {
			snprintf(key, sizeof(key), "@%s", domain);
			if (table_get(lk->virtual, key) == NULL) {
				verdict(r, LOOKUP_V_UNKNOWN_USER, NULL);
				r->table = LOOKUP_T_VIRTUAL;
				return;
			}
		}
		verdict(r, LOOKUP_V_ACCEPT, NULL);
		add_final(r, addr);
		return;
	}
	if (!may_relay) {
		verdict(r, LOOKUP_V_RELAY_DENIED, NULL);
		return;
	}
	verdict(r, LOOKUP_V_ACCEPT, NULL);
	add_final(r, addr);
}

void
lookup_vrfy(const struct lookup *lk, const char *local, const char *domain,
    struct lookup_reply *r)
{
	struct lookup_client none;
	const char *d = domain[0] ? domain : lk->hostname;

	memset(&none, 0, sizeof(none));
	if (!is_local_domain(lk, d) && !is_virtual_domain(lk, d)) {
		memset(r, 0, sizeof(*r));
		verdict(r, LOOKUP_V_NOT_LOCAL, NULL);
		return;
	}
	/* As RCPT from a client with no rights; the expansion is kept, as
	 * the verdict on an accepted address says where it goes. */
	lookup_rcpt(lk, local, domain, 0, &none, r);
}

void
lookup_resolve(
    const struct lookup *lk, const char *addr, struct lookup_dest *out)
{
	const char *at = strrchr(addr, '@'), *domain, *v;
	char local[128], base[128], key[600];

	memset(out, 0, sizeof(*out));
	if (at == NULL || (size_t)(at - addr) >= sizeof(local)) {
		out->type = LOOKUP_DEST_UNKNOWN;
		snprintf(out->error, sizeof(out->error), "bad address");
		return;
	}
	snprintf(local, sizeof(local), "%.*s", (int)(at - addr), addr);
	domain = at + 1;
	base_local(lk, local, base, sizeof(base));
	if (is_local_domain(lk, domain)) {
		if (!lookup_mailbox_name_ok(base)) {
			out->type = LOOKUP_DEST_UNKNOWN;
			snprintf(out->error, sizeof(out->error),
			    "mailbox name not allowed");
			return;
		}
		if (lk->local_users && !str_caseeq(base, "postmaster") &&
		    table_get(lk->local_users, base) == NULL) {
			out->type = LOOKUP_DEST_UNKNOWN;
			snprintf(out->error, sizeof(out->error),
			    "user unknown in local recipient table");
			return;
		}
		out->type = LOOKUP_DEST_MAILDIR;
		snprintf(out->path, sizeof(out->path), "%s/%s",
		    lk->mail_directory, base);
		return;
	}
	if (is_virtual_domain(lk, domain)) {
		snprintf(key, sizeof(key), "%s@%s", base, domain);
		if ((v = table_get(lk->virtual, addr)) == NULL &&
		    (v = table_get(lk->virtual, key)) == NULL) {
			snprintf(key, sizeof(key), "@%s", domain);
			v = table_get(lk->virtual, key);
		}
		if (v == NULL) {
			out->type = LOOKUP_DEST_UNKNOWN;
			snprintf(out->error, sizeof(out->error),
			    "user unknown in virtual mailbox table");
			return;
		}
		out->type = LOOKUP_DEST_MAILDIR;
		if (v[0] == '/')
			snprintf(out->path, sizeof(out->path), "%s", v);
		else
			snprintf(out->path, sizeof(out->path), "%s/%s",
			    lk->mail_directory, v);
		/* "dir/" and "dir" name the same Maildir. */
		while (strlen(out->path) > 1 &&
		    out->path[strlen(out->path) - 1] == '/')
			out->path[strlen(out->path) - 1] = '\0';
		return;
	}
	out->type = LOOKUP_DEST_REMOTE;
}
