/*
 * Unit tests of the configuration: built-in defaults, files, errors with
 * file and line, continuation lines, and the text form the parent sends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

static char conf_path[64];

static int
make_path(void **state)
{
	int fd;

	(void)state;
	snprintf(conf_path, sizeof(conf_path), "/tmp/tern-conf-test-XXXXXX");
	fd = mkstemp(conf_path);
	assert_true(fd >= 0);
	close(fd);
	return 0;
}

static int
remove_path(void **state)
{
	(void)state;
	unlink(conf_path);
	return 0;
}

static void
write_file(const char *text)
{
	FILE *fp = fopen(conf_path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static struct conf *
load_text_file(const char *text)
{
	struct conf *c;
	char err[512];

	write_file(text);
	c = conf_load(conf_path, err, sizeof(err));
	if (c == NULL)
		fail_msg(
		    "loading \"%s\": expected success, got \"%s\"", text, err);
	return c;
}

/* Loading text must fail with exactly "<file>:<line>: <what>". */
static void
expect_error_at(
    const char *text, int line_no, const char *what, const char *file, int line)
{
	struct conf *c;
	char err[512], want[512];

	write_file(text);
	snprintf(want, sizeof(want), "%s:%d: %s", conf_path, line_no, what);
	c = conf_load(conf_path, err, sizeof(err));
	if (c != NULL) {
		conf_free(c);
		print_error("loading \"%s\": expected \"%s\", got success\n",
		    text, want);
		_fail(file, line);
	}
	if (strcmp(err, want) != 0) {
		print_error("loading \"%s\": expected \"%s\", got \"%s\"\n",
		    text, want, err);
		_fail(file, line);
	}
}

#define expect_error(text, n, what) \
	expect_error_at(text, n, what, __FILE__, __LINE__)

/* ------------------------------------------------------------ defaults */

static void
defaults_load_without_a_file(void **state)
{
	struct conf *c;
	char err[256];

	(void)state;
	c = conf_load(NULL, err, sizeof(err));
	assert_non_null(c);
	assert_null(c->file);
	assert_true(c->myhostname[0] != '\0');
	assert_int_equal(c->message_size_limit, 50 * 1024 * 1024);
	assert_int_equal(c->recipient_limit, 1000);
	assert_int_equal(c->error_limit, 10);
	assert_int_equal(c->command_line_limit, 2048);
	assert_int_equal(c->text_line_limit, 1048576);
	assert_int_equal(c->command_timeout, 300000);
	assert_int_equal(c->maximal_queue_lifetime, 5ULL * 86400 * 1000);
	assert_int_equal(c->strict_line_endings, 1);
	assert_int_equal(c->accept_mail, 1);
	assert_string_equal(c->vrfy_reply, "cannot-verify");
	assert_string_equal(c->recipient_delimiter, "+");
	assert_int_equal(c->mydestination.n, 1);
	assert_string_equal(c->mydestination.v[0], "localhost");
	assert_int_equal(c->smtp_listen.n, 1);
	assert_string_equal(c->smtp_listen.v[0], "127.0.0.1:2525");
	conf_free(c);
}

static void
check_num(const char *name, uint64_t v, uint64_t min, uint64_t max)
{
	if ((min || max) && (v < min || v > max))
		fail_msg("%s = %llu: expected %llu..%llu", name,
		    (unsigned long long)v, (unsigned long long)min,
		    (unsigned long long)max);
}

static void
check_str(const char *name, const char *v, uint64_t max)
{
	assert_non_null(v);
	if (max && strlen(v) > max)
		fail_msg("%s = \"%s\": longer than %llu", name, v,
		    (unsigned long long)max);
}

static void
check_choice(const char *name, const char *v, const char *choices)
{
	const char *p = choices;
	size_t n = strlen(v);

	while (*p) {
		size_t l = strcspn(p, "|");

		if (l == n && strncmp(p, v, l) == 0)
			return;
		p += l + (p[l] == '|');
	}
	fail_msg("%s = \"%s\": expected one of %s", name, v, choices);
}

static void
check_path(const char *name, const char *v)
{
	assert_non_null(v);
	if (v[0] != '\0' && v[0] != '/')
		fail_msg("%s = \"%s\": expected an absolute path", name, v);
}

#define LIMIT_STR(f, min, max, ch) check_str(#f, c->f, max)
#define LIMIT_PATH(f, min, max, ch) check_path(#f, c->f)
#define LIMIT_ENUM(f, min, max, ch) check_choice(#f, c->f, ch)
#define LIMIT_LIST(f, min, max, ch) assert_non_null(c->f.v)
#define LIMIT_ADDRS(f, min, max, ch) assert_true(c->f.n > 0)
#define LIMIT_NETS(f, min, max, ch) assert_true(c->f.n == 0 || c->f.v)
#define LIMIT_INT(f, min, max, ch) check_num(#f, c->f, min, max)
#define LIMIT_SIZE(f, min, max, ch) check_num(#f, c->f, min, max)
#define LIMIT_TIME(f, min, max, ch) check_num(#f, c->f, min, max)
#define LIMIT_BOOL(f, min, max, ch) assert_true(c->f == 0 || c->f == 1)
#define LIMIT(name, type, def, nofile, min, max, choices, doc) \
	LIMIT_##type(name, min, max, choices);

static void
check_limits(const struct conf *c)
{
	CONF_PARAMS(LIMIT)
	assert_true(c->minimal_backoff_time <= c->maximal_backoff_time);
}

static void
defaults_satisfy_their_declared_limits(void **state)
{
	struct conf *c;
	char err[256];
	int i;

	(void)state;
	c = conf_load(NULL, err, sizeof(err));
	assert_non_null(c);
	check_limits(c);
	for (i = 0; i < CONF_NPARAMS; i++)
		if (c->raw[i] == NULL)
			fail_msg("%s has no text", conf_decls[i].name);
	conf_free(c);
	c = load_text_file("");
	check_limits(c);
	conf_free(c);
}

static void
relay_networks_default_depends_on_a_file(void **state)
{
	struct conf *c;
	char err[256];

	(void)state;
	c = conf_load(NULL, err, sizeof(err));
	assert_string_equal(c->raw[CONF_P_relay_networks], "loopback");
	assert_int_equal(c->relay_networks.n, 2);
	conf_free(c);
	c = load_text_file("# nothing set\n");
	assert_string_equal(c->raw[CONF_P_relay_networks], "");
	assert_int_equal(c->relay_networks.n, 0);
	assert_non_null(c->file);
	assert_string_equal(c->file, conf_path);
	conf_free(c);
}

static void
relative_paths_become_absolute(void **state)
{
	struct conf *c;
	char err[256], cwd[4096], want[4200];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	c = conf_load(NULL, err, sizeof(err));
	snprintf(want, sizeof(want), "%s/var/spool", cwd);
	assert_string_equal(c->spool_directory, want);
	conf_free(c);
	c = load_text_file("mail_directory = /srv/mail\nalias_maps = "
	                   "etc/aliases\n");
	assert_string_equal(c->mail_directory, "/srv/mail");
	snprintf(want, sizeof(want), "%s/etc/aliases", cwd);
	assert_string_equal(c->alias_maps, want);
	assert_string_equal(c->local_recipient_maps, "");
	conf_free(c);
}

/* --------------------------------------------------------------- files */

static void
file_values_are_parsed_and_normalised(void **state)
{
	struct conf *c;

	(void)state;
	c = load_text_file("# a comment\n"
	                   "; another\n"
	                   "\n"
	                   "myhostname = MX.Example.ORG\n"
	                   "mydestination = Example.ORG, mail.example.org\n"
	                   "message_size_limit = 10m\n"
	                   "error_limit=5\n"
	                   "command_timeout = 90s\n"
	                   "data_timeout = 1500ms\n"
	                   "strict_line_endings = no\n"
	                   "vrfy_reply = verify\n"
	                   "relay_networks = 192.0.2.0/24 [2001:db8::]/32\n"
	                   "smtp_listen = 0.0.0.0:25, [::]:25\n");
	assert_string_equal(c->myhostname, "mx.example.org");
	assert_int_equal(c->mydestination.n, 2);
	assert_string_equal(c->mydestination.v[0], "example.org");
	assert_int_equal(c->message_size_limit, 10 * 1024 * 1024);
	assert_int_equal(c->error_limit, 5);
	assert_int_equal(c->command_timeout, 90000);
	assert_int_equal(c->data_timeout, 1500);
	assert_int_equal(c->strict_line_endings, 0);
	assert_string_equal(c->vrfy_reply, "verify");
	assert_int_equal(c->relay_networks.n, 2);
	assert_int_equal(c->smtp_listen.n, 2);
	assert_string_equal(c->raw[CONF_P_error_limit], "5");
	conf_free(c);
}

static void
continuation_lines_extend_the_value(void **state)
{
	struct conf *c;

	(void)state;
	c = load_text_file("mydestination = a.example\n"
	                   "  b.example\n"
	                   "\tc.example\n"
	                   "error_limit = 3\n");
	assert_int_equal(c->mydestination.n, 3);
	assert_string_equal(c->mydestination.v[2], "c.example");
	assert_string_equal(
	    c->raw[CONF_P_mydestination], "a.example b.example c.example");
	assert_int_equal(c->error_limit, 3);
	conf_free(c);
	c = load_text_file("relay_networks =\n"
	                   "    192.0.2.0/24\n"
	                   "    198.51.100.0/24\n");
	assert_string_equal(
	    c->raw[CONF_P_relay_networks], "192.0.2.0/24 198.51.100.0/24");
	assert_int_equal(c->relay_networks.n, 2);
	conf_free(c);
}

static void
unknown_parameter_is_an_error(void **state)
{
	(void)state;
	expect_error("error_limit = 3\nerrorlimit = 3\n", 2,
	    "unknown parameter \"errorlimit\"");
}

static void
bad_values_are_errors(void **state)
{
	(void)state;
	expect_error("error_limit = x\n", 1, "error_limit: expected a number");
	expect_error("error_limit = -1\n", 1, "error_limit: expected a number");
	expect_error("message_size_limit = 10x\n", 1,
	    "message_size_limit: expected a size (e.g. 10m)");
	expect_error("command_timeout = 5y\n", 1,
	    "command_timeout: expected a duration (e.g. 30s, 5m)");
	expect_error(
	    "accept_mail = perhaps\n", 1, "accept_mail: expected yes or no");
	expect_error("vrfy_reply = maybe\n", 1,
	    "vrfy_reply: expected one of cannot-verify|verify|disabled");
	expect_error("relay_networks = 10.0.0.0/33\n", 1,
	    "relay_networks: bad network address \"10.0.0.0/33\"");
	expect_error("recipient_delimiter = ++\n", 1,
	    "recipient_delimiter: longer than 1");
	expect_error("smtp_listen = localhost:25\n", 1,
	    "smtp_listen: \"localhost:25\" is not an address:port (e.g. "
	    "127.0.0.1:25, [::1]:25)");
	expect_error("smtp_listen = 127.0.0.1:25 ::1:25\n", 1,
	    "smtp_listen: \"::1:25\" is not an address:port (e.g. "
	    "127.0.0.1:25, [::1]:25)");
	expect_error("smtp_listen = 127.0.0.1:0\n", 1,
	    "smtp_listen: \"127.0.0.1:0\" is not an address:port (e.g. "
	    "127.0.0.1:25, [::1]:25)");
}

static void
out_of_range_values_are_errors(void **state)
{
	(void)state;
	expect_error("error_limit = 0\n", 1,
	    "error_limit: value out of range (1..1000)");
	expect_error("recipient_limit = 99\n", 1,
	    "recipient_limit: value out of range (100..100000)");
	expect_error("message_size_limit = 1000\n", 1,
	    "message_size_limit: value out of range (1024..4294967295)");
	expect_error("command_line_limit = 65537\n", 1,
	    "command_line_limit: value out of range (512..65536)");
	expect_error("command_timeout = 99ms\n", 1,
	    "command_timeout: value out of range (100..86400000)");
}

static void
errors_name_their_line(void **state)
{
	(void)state;
	expect_error("# one\n\nerror_limit = 3\n\nrecipient_limit = many\n", 5,
	    "recipient_limit: expected a number");
	expect_error("error_limit 3\n", 1, "syntax error");
}

static void
a_key_set_twice_is_an_error(void **state)
{
	(void)state;
	expect_error("error_limit = 5\nrecipient_limit = 200\nerror_limit = "
	             "6\n",
	    3, "error_limit: set twice");
	expect_error("mydestination = a.example\nmydestination = b.example\n",
	    2, "mydestination: set twice");
}

static void
sections_are_errors(void **state)
{
	(void)state;
	expect_error("[main]\nerror_limit = 5\n", 2,
	    "sections are not used (\"[main]\")");
}

static void
backoff_times_must_be_ordered(void **state)
{
	struct conf *c;
	char err[512], want[512];

	(void)state;
	write_file("minimal_backoff_time = 2h\nmaximal_backoff_time = 1h\n");
	c = conf_load(conf_path, err, sizeof(err));
	assert_null(c);
	snprintf(want, sizeof(want),
	    "%s: minimal_backoff_time exceeds maximal_backoff_time", conf_path);
	assert_string_equal(err, want);
}

static void
missing_file_is_an_error(void **state)
{
	struct conf *c;
	char err[512];

	(void)state;
	c = conf_load("/nonexistent/tern.conf", err, sizeof(err));
	assert_null(c);
	assert_string_equal(
	    err, "/nonexistent/tern.conf: No such file or directory");
}

/* ------------------------------------------------------ set, print, text */

static void
conf_set_parses_like_the_file(void **state)
{
	struct conf *c;
	char err[256];

	(void)state;
	c = conf_load(NULL, err, sizeof(err));
	assert_int_equal(conf_set(c, "error_limit", "7", err, sizeof(err)), 0);
	assert_int_equal(c->error_limit, 7);
	assert_string_equal(c->raw[CONF_P_error_limit], "7");
	assert_int_equal(conf_set(c, "error_limit", "0", err, sizeof(err)), -1);
	assert_string_equal(err, "error_limit: value out of range (1..1000)");
	assert_int_equal(c->error_limit, 7);
	assert_int_equal(conf_set(c, "nope", "1", err, sizeof(err)), -1);
	assert_string_equal(err, "unknown parameter \"nope\"");
	conf_free(c);
}

static void
printed_configuration_loads_back_the_same(void **state)
{
	struct conf *a, *b;
	char err[256], *text = NULL;
	size_t len = 0;
	FILE *fp;
	int i;

	(void)state;
	a = load_text_file("mydestination = a.example b.example\n"
	                   "relay_networks = 192.0.2.0/24\n"
	                   "error_limit = 4\n");
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	conf_print(a, fp);
	fclose(fp);
	b = conf_load_text(text, err, sizeof(err));
	if (b == NULL)
		fail_msg("loading the printed configuration: %s", err);
	for (i = 0; i < CONF_NPARAMS; i++)
		if (strcmp(a->raw[i], b->raw[i]) != 0)
			fail_msg("%s: printed \"%s\", loaded back \"%s\"",
			    conf_decls[i].name, a->raw[i], b->raw[i]);
	assert_int_equal(b->error_limit, 4);
	assert_int_equal(b->relay_networks.n, 1);
	assert_null(b->file);
	conf_free(a);
	conf_free(b);
	free(text);
}

static void
text_errors_name_the_configuration(void **state)
{
	struct conf *c;
	char err[256];

	(void)state;
	c = conf_load_text("error_limit = 3\nfoo = 1\n", err, sizeof(err));
	assert_null(c);
	assert_string_equal(err, "configuration:2: unknown parameter \"foo\"");
	/* text is a configuration: no "loopback" default */
	c = conf_load_text("", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->relay_networks.n, 0);
	conf_free(c);
}

int
main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, make_path, remove_path)
	const struct CMUnitTest tests[] = {
	    T(defaults_load_without_a_file),
	    T(defaults_satisfy_their_declared_limits),
	    T(relay_networks_default_depends_on_a_file),
	    T(relative_paths_become_absolute),
	    T(file_values_are_parsed_and_normalised),
	    T(continuation_lines_extend_the_value),
	    T(unknown_parameter_is_an_error),
	    T(bad_values_are_errors),
	    T(out_of_range_values_are_errors),
	    T(errors_name_their_line),
	    T(a_key_set_twice_is_an_error),
	    T(sections_are_errors),
	    T(backoff_times_must_be_ordered),
	    T(missing_file_is_an_error),
	    T(conf_set_parses_like_the_file),
	    T(printed_configuration_loads_back_the_same),
	    T(text_errors_name_the_configuration),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
