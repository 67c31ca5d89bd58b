/*
 * NAME
 *	conf - the configuration file and its effective values
 * PURPOSE
 *	Loads "key = value" lines ("#" comments, indented continuation lines)
 *	with inih, checks every value against its declaration in
 *	conf_params.h, and fills struct conf.  Without a file, built-in
 *	defaults give a working development server.
 * TRUST
 *	Parent process (root) reads the file; the result is passed to the
 *	other processes.  The file is trusted but every value is checked.
 * INVARIANTS
 *	A struct conf returned by conf_load satisfies every declared limit;
 *	relative paths have been made absolute.
 */
#ifndef TERN_CONF_H
#define TERN_CONF_H

#include <stdint.h>
#include <stdio.h>

#include "conf_params.h"
#include "../common/netaddr.h"

struct conf_list {
	char **v;
	size_t n;
};

#define CONF_FIELD_STR(n) char *n;
#define CONF_FIELD_PATH(n) char *n;
#define CONF_FIELD_ENUM(n) char *n;
#define CONF_FIELD_LIST(n) struct conf_list n;
#define CONF_FIELD_ADDRS(n) struct conf_list n;
#define CONF_FIELD_NETS(n) struct netlist n;
#define CONF_FIELD_INT(n) uint64_t n;
#define CONF_FIELD_SIZE(n) uint64_t n;
#define CONF_FIELD_TIME(n) uint64_t n;
#define CONF_FIELD_BOOL(n) int n;
#define CONF_FIELD(name, type, def, nofile, min, max, choices, doc) \
	CONF_FIELD_##type(name)

#define CONF_INDEX(name, type, def, nofile, min, max, choices, doc) \
	CONF_P_##name,
enum conf_param_index { CONF_PARAMS(CONF_INDEX) CONF_NPARAMS };

struct conf {
	CONF_PARAMS(CONF_FIELD)
	char *raw[CONF_NPARAMS]; /* the text each value was parsed from */
	char *file;              /* NULL: built-in defaults only */
};

/*
 * Load path (NULL: no file, built-in defaults).  On error returns NULL and
 * writes "file:line: what" into err.
 */
struct conf *conf_load(const char *path, char *err, size_t errsz);
/*
 * Load "name = value" text as a file would be (the parent sends the
 * effective configuration this way, as printed by conf_print).
 */
struct conf *conf_load_text(const char *text, char *err, size_t errsz);
void conf_free(struct conf *c);

/* Set one parameter from text, as the file would.  0 or -1 with err. */
int conf_set(struct conf *c, const char *name, const char *value, char *err,
    size_t errsz);

/* Print every parameter as "name = value" (ternd -n). */
void conf_print(const struct conf *c, FILE *fp);

/* Declarations, for documentation checks and the parameter list. */
struct conf_decl {
	const char *name;
	const char *type;
	const char *def;
	const char *nofile;
	uint64_t min, max;
	const char *choices;
	const char *doc;
};
extern const struct conf_decl conf_decls[CONF_NPARAMS];

#endif
