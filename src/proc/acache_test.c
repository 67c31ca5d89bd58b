/*
 * Unit tests of the answer cache.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acache.h"

static void
put_str(struct acache *c, uint16_t type, const char *k, const char *v)
{
	acache_put(c, type, k, strlen(k), v, strlen(v));
}

/* The stored answer as a string, or NULL. */
static char *
get_str(const struct acache *c, uint16_t type, const char *k)
{
	static char out[256];
	const void *v;
	size_t n;

	if ((v = acache_get(c, type, k, strlen(k), &n)) == NULL)
		return NULL;
	assert_true(n < sizeof(out));
	memcpy(out, v, n);
	out[n] = '\0';
	return out;
}

static void
empty_cache_has_nothing(void **state)
{
	struct acache *c = acache_new();
	size_t n = 99;

	(void)state;
	assert_null(acache_get(c, 1, "k", 1, &n));
	assert_int_equal(n, 99);
	assert_int_equal(acache_count(c), 0);
	acache_free(c);
}

static void
put_then_get_gives_the_answer(void **state)
{
	struct acache *c = acache_new();

	(void)state;
	put_str(c, 31, "alice@localhost", "250 2.1.5 ok");
	put_str(c, 31, "bob@localhost", "550 5.1.1 no");
	assert_string_equal(get_str(c, 31, "alice@localhost"), "250 2.1.5 ok");
	assert_string_equal(get_str(c, 31, "bob@localhost"), "550 5.1.1 no");
	assert_null(get_str(c, 31, "carol@localhost"));
	assert_int_equal(acache_count(c), 2);
	acache_free(c);
}

static void
type_and_whole_key_tell_entries_apart(void **state)
{
	struct acache *c = acache_new();

	(void)state;
	put_str(c, 31, "alice", "rcpt");
	put_str(c, 41, "alice", "resolve");
	assert_string_equal(get_str(c, 31, "alice"), "rcpt");
	assert_string_equal(get_str(c, 41, "alice"), "resolve");
	/* A prefix or an extension of a key is another key. */
	assert_null(get_str(c, 31, "alic"));
	assert_null(get_str(c, 31, "alice2"));
	/* Keys are octets, not strings: an embedded NUL counts. */
	acache_put(c, 31, "a\0b", 3, "x", 1);
	assert_null(acache_get(c, 31, "a\0c", 3, &(size_t){0}));
	assert_non_null(acache_get(c, 31, "a\0b", 3, &(size_t){0}));
	acache_free(c);
}

static void
first_answer_stays(void **state)
{
	struct acache *c = acache_new();

	(void)state;
	put_str(c, 31, "k", "first");
	put_str(c, 31, "k", "second");
	assert_string_equal(get_str(c, 31, "k"), "first");
	assert_int_equal(acache_count(c), 1);
	acache_free(c);
}

static void
clear_forgets_everything(void **state)
{
	struct acache *c = acache_new();

	(void)state;
	put_str(c, 31, "a", "1");
	put_str(c, 31, "b", "2");
	acache_clear(c);
	assert_int_equal(acache_count(c), 0);
	assert_null(get_str(c, 31, "a"));
	assert_null(get_str(c, 31, "b"));
	put_str(c, 31, "a", "3");
	assert_string_equal(get_str(c, 31, "a"), "3");
	acache_free(c);
}

static void
full_by_count_starts_afresh(void **state)
{
	struct acache *c = acache_new();
	char k[32];
	unsigned i;

	(void)state;
	for (i = 0; i < ACACHE_MAX; i++) {
		snprintf(k, sizeof(k), "user%u@localhost", i);
		put_str(c, 31, k, "250");
	}
	assert_int_equal(acache_count(c), ACACHE_MAX);
	assert_string_equal(get_str(c, 31, "user0@localhost"), "250");
	put_str(c, 31, "one-more@localhost", "550");
	assert_int_equal(acache_count(c), 1);
	assert_null(get_str(c, 31, "user0@localhost"));
	assert_string_equal(get_str(c, 31, "one-more@localhost"), "550");
	acache_free(c);
}

static void
full_by_size_starts_afresh(void **state)
{
	struct acache *c = acache_new();
	size_t big = ACACHE_BYTES / 16 - 8;
	char *v = calloc(1, big);
	char k[16];
	unsigned i;

	(void)state;
	assert_non_null(v);
	/* Sixteen of these fill the octet budget; the seventeenth clears. */
	for (i = 0; i < 16; i++) {
		snprintf(k, sizeof(k), "k%02u", i);
		acache_put(c, 31, k, 3, v, big);
	}
	assert_int_equal(acache_count(c), 16);
	acache_put(c, 31, "k16", 3, v, big);
	assert_int_equal(acache_count(c), 1);
	assert_non_null(acache_get(c, 31, "k16", 3, &(size_t){0}));
	free(v);
	acache_free(c);
}

static void
oversized_answer_is_not_kept(void **state)
{
	struct acache *c = acache_new();
	size_t big = ACACHE_BYTES / 16 + 1;
	char *v = calloc(1, big);

	(void)state;
	assert_non_null(v);
	put_str(c, 31, "small", "kept");
	acache_put(c, 31, "big", 3, v, big);
	assert_null(acache_get(c, 31, "big", 3, &(size_t){0}));
	/* Refusing one does not cost the others. */
	assert_string_equal(get_str(c, 31, "small"), "kept");
	free(v);
	acache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(empty_cache_has_nothing),
	    cmocka_unit_test(put_then_get_gives_the_answer),
	    cmocka_unit_test(type_and_whole_key_tell_entries_apart),
	    cmocka_unit_test(first_answer_stays),
	    cmocka_unit_test(clear_forgets_everything),
	    cmocka_unit_test(full_by_count_starts_afresh),
	    cmocka_unit_test(full_by_size_starts_afresh),
	    cmocka_unit_test(oversized_answer_is_not_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
