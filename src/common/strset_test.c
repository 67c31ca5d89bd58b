/*
 * Unit tests of strset: membership without regard to ASCII case, and
 * growth far past the first allocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "strset.h"

static void
adds_once_ignoring_case(void **state)
{
	struct strset s;

	(void)state;
	strset_init(&s);
	assert_false(strset_has(&s, "a@example.org"));
	assert_int_equal(strset_add(&s, "a@example.org"), 1);
	assert_int_equal(strset_add(&s, "A@Example.ORG"), 0);
	assert_true(strset_has(&s, "a@EXAMPLE.org"));
	assert_false(strset_has(&s, "b@example.org"));
	assert_int_equal(s.n, 1);
	strset_free(&s);
}

static void
many_strings(void **state)
{
	enum { N = 100000 };
	char **v = calloc(N, sizeof(*v));
	struct strset s;
	size_t i;

	(void)state;
	assert_non_null(v);
	strset_init(&s);
	for (i = 0; i < N; i++) {
		char tmp[32];

		snprintf(tmp, sizeof(tmp), "user%zu@example.org", i);
		v[i] = strdup(tmp);
		assert_non_null(v[i]);
		assert_int_equal(strset_add(&s, v[i]), 1);
	}
	for (i = 0; i < N; i++) {
		char tmp[32];

		snprintf(tmp, sizeof(tmp), "USER%zu@example.org", i);
		if (strset_add(&s, tmp) != 0)
			fail_msg("%s was taken for new", tmp);
	}
	assert_int_equal(s.n, N);
	strset_free(&s);
	for (i = 0; i < N; i++)
		free(v[i]);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(adds_once_ignoring_case),
	    cmocka_unit_test(many_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
