/*
 * NAME
 *	table - lookup tables: text files of "key value" lines
 * PURPOSE
 *	Aliases, virtual mailboxes, relocated users, local recipients and
 *	client access are plain text files: one "key value" entry per line,
 *	"#" comments, blank lines ignored, indented lines continue the
 *	previous value.  Keys are case-insensitive.  Loaded into a hash table;
 *	reloaded as a whole (SIGHUP), never half-updated.
 * TRUST
 *	Lookup process.  Files are trusted administrator input, but lines are
 *	bounded and every error names the file and line.
 * INVARIANTS
 *	Keys are stored lowercased and unique (a duplicate key is an error).
 *	Every entry knows the line it starts on, so that whoever finds an
 *	entry wrong can name its file and line.
 */
#ifndef TERN_TABLE_H
#define TERN_TABLE_H

#include <stddef.h>

#define TABLE_MAX_LINE 8192
#define TABLE_NONE ((size_t)-1)

struct table;

/* NULL on error, with "path:line: what" in err. */
struct table *table_load(const char *path, char *err, size_t errsz);
void table_free(struct table *t);
/* Value for key (compared case-insensitively), or NULL. */
const char *table_get(const struct table *t, const char *key);
size_t table_count(const struct table *t);
/* Entry i (0 <= i < count) in file order. */
void table_entry(
    const struct table *t, size_t i, const char **key, const char **value);
/* The index of key's entry, or TABLE_NONE. */
size_t table_index(const struct table *t, const char *key);
/* The line entry i starts on (a continued value goes on after it). */
size_t table_line(const struct table *t, size_t i);
/* The file the table was read from. */
const char *table_path(const struct table *t);

#endif
