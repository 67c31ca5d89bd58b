/*
 * table - lookup tables from text files: "key value" lines, comments,
 * continuation lines, each entry's line kept for error messages
 * (table.h).
 */
#include "table.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strutil.h"
#include "../common/xmem.h"

struct entry {
	char *key;
	char *value;
	size_t line;
};

struct table {
	char *path;
	struct entry *e; /* file order */
	size_t n, cap;
	size_t *slot; /* open addressing: index + 1, 0 = empty */
	size_t nslot;
};

static uint64_t
hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 'A' && c <= 'Z')
			c += 32;
		h = (h ^ c) * 1099511628211ULL;
	}
	return h;
}

static size_t
find_slot(const struct table *t, const char *key)
{
	size_t i = (size_t)(hash_key(key) & (t->nslot - 1));

	while (t->slot[i] != 0 && !str_caseeq(t->e[t->slot[i] - 1].key, key))
		i = (i + 1) & (t->nslot - 1);
	return i;
}

/* Keep the load factor at or below one half. */
static void
grow_index(struct table *t)
{
	size_t i;

	if (t->nslot != 0 && (t->n + 1) * 2 <= t->nslot)
		return;
	free(t->slot);
	t->nslot = t->nslot ? t->nslot * 2 : 16;
	t->slot = xcalloc(t->nslot, sizeof(*t->slot));
	for (i = 0; i < t->n; i++)
		t->slot[find_slot(t, t->e[i].key)] = i + 1;
}

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s &&
	    (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
	        end[-1] == '\n'))
		*--end = '\0';
	return s;
}

static int
table_add(struct table *t, char *line, const char *path, int lineno, char *err,
    size_t errsz)
{
	char *key = line, *value;
	size_t slot;

	value = key + strcspn(key, " \t");
	if (*value)
		*value++ = '\0';
	value = trim(value);
	grow_index(t);
	slot = find_slot(t, key);
	if (t->slot[slot] != 0) {
		snprintf(err, errsz, "%s:%d: duplicate key \"%s\"", path,
		    lineno, key);
		return -1;
	}
	t->slot[slot] = t->n + 1;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->e = xreallocarray(t->e, t->cap, sizeof(*t->e));
	}
	t->e[t->n].key = xstrdup(key);
	str_lower(t->e[t->n].key);
	t->e[t->n].value = xstrdup(value);
	t->e[t->n].line = (size_t)lineno;
	t->n++;
	return 0;
}

struct table *
table_load(const char *path, char *err, size_t errsz)
{
	struct table *t;
	FILE *fp;
	char line[TABLE_MAX_LINE + 2];
	int lineno = 0;

	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->path = xstrdup(path);
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *s;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			snprintf(err, errsz, "%s:%d: line longer than %d", path,
			    lineno, TABLE_MAX_LINE);
			goto fail;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (line[0] == ' ' || line[0] == '\t') {
			char *joined;

			if (t->n == 0) {
				snprintf(err, errsz,
				    "%s:%d: continuation "
				    "line without an entry",
				    path, lineno);
				goto fail;
			}
			/* Continuing an empty value: no leading blank. */
			if (t->e[t->n - 1].value[0] == '\0')
				joined = xstrdup(s);
			else
				joined =
				    xasprintf("%s %s", t->e[t->n - 1].value, s);
			free(t->e[t->n - 1].value);
			t->e[t->n - 1].value = joined;
			continue;
		}
		if (table_add(t, s, path, lineno, err, errsz) < 0)
			goto fail;
	}
	if (ferror(fp)) {
		snprintf(err, errsz, "%s: read error", path);
		goto fail;
	}
	fclose(fp);
	return t;
fail:
	fclose(fp);
	table_free(t);
	return NULL;
}

void
table_free(struct table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->e[i].key);
		free(t->e[i].value);
	}
	free(t->e);
	free(t->slot);
	free(t->path);
	free(t);
}

size_t
table_index(const struct table *t, const char *key)
{
	size_t i;

	if (t == NULL || t->n == 0)
		return TABLE_NONE;
	i = find_slot(t, key);
	return t->slot[i] ? t->slot[i] - 1 : TABLE_NONE;
}

const char *
table_get(const struct table *t, const char *key)
{
	size_t i = table_index(t, key);

	return i == TABLE_NONE ? NULL : t->e[i].value;
}

size_t
table_count(const struct table *t)
{
	return t ? t->n : 0;
}

void
table_entry(
    const struct table *t, size_t i, const char **key, const char **value)
{
	*key = t->e[i].key;
	*value = t->e[i].value;
}

size_t
table_line(const struct table *t, size_t i)
{
	return t->e[i].line;
}

const char *
table_path(const struct table *t)
{
	return t->path;
}
