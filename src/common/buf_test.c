/*
 * Unit tests of the bounded buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void
init_allocates_nothing(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 100);
	assert_int_equal(buf_append(&b, "x", 0), 0);
	assert_null(b.data);
	buf_free(&b);
}

static void
append_up_to_the_maximum(void **state)
{
	struct buf b;
	char big[1000];

	(void)state;
	memset(big, 'b', sizeof(big));
	buf_init(&b, 1000);
	assert_int_equal(buf_append(&b, big, 600), 0);
	assert_int_equal(buf_append(&b, big, 400), 0);
	assert_int_equal(b.len, 1000);
	assert_true(b.cap <= b.max);
	assert_true(b.len <= b.cap);
	assert_memory_equal(b.data, big, 1000);
	/* one more octet is refused, and nothing is appended */
	assert_int_equal(buf_append(&b, "x", 1), -1);
	assert_int_equal(b.len, 1000);
	buf_free(&b);
}

static void
append_past_the_maximum_appends_nothing(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "12345", 5), 0);
	assert_int_equal(buf_append(&b, "678901", 6), -1);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "12345", 5);
	assert_int_equal(buf_append(&b, "67890", 5), 0);
	assert_memory_equal(b.data, "1234567890", 10);
	/* sizes that would overflow are refused too */
	assert_int_equal(buf_append(&b, "x", SIZE_MAX), -1);
	assert_null(buf_reserve(&b, SIZE_MAX));
	buf_free(&b);
}

static void
printf_formats_and_respects_the_maximum(void **state)
{
	struct buf b;
	char big[2000];

	(void)state;
	buf_init(&b, 1500);
	assert_int_equal(buf_printf(&b, "%d %s|", 250, "Ok"), 0);
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.data, "250 Ok|", 7);
	/* longer than the internal first try */
	memset(big, 'p', sizeof(big));
	big[999] = '\0';
	assert_int_equal(buf_printf(&b, "%s", big), 0);
	assert_int_equal(b.len, 7 + 999);
	assert_int_equal(b.data[b.len - 1], 'p');
	/* would pass the maximum: nothing is added */
	assert_int_equal(buf_printf(&b, "%s", big), -1);
	assert_int_equal(b.len, 7 + 999);
	big[300] = '\0';
	assert_int_equal(buf_printf(&b, "%s%s", big, big), -1);
	assert_int_equal(b.len, 7 + 999);
	buf_free(&b);
}

static void
printf_fills_exactly_to_the_maximum(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 5);
	assert_int_equal(buf_printf(&b, "%s", "12345"), 0);
	assert_int_equal(b.len, 5);
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_int_equal(buf_printf(&b, "%c", 'x'), -1);
	buf_free(&b);
}

static void
long_printf_fills_exactly_to_the_maximum(void **state)
{
	struct buf b;
	char big[1001];

	(void)state;
	memset(big, 'q', 1000);
	big[1000] = '\0';
	buf_init(&b, 1000);
	assert_int_equal(buf_printf(&b, "%s", big), 0);
	assert_int_equal(b.len, 1000);
	buf_free(&b);
}

static void
consume_drops_the_front(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_int_equal(buf_append(&b, "abcdef", 6), 0);
	buf_consume(&b, 2);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "cdef", 4);
	buf_consume(&b, 0);
	assert_int_equal(b.len, 4);
	buf_consume(&b, 4);
	assert_int_equal(b.len, 0);
	/* the room comes back */
	assert_int_equal(buf_append(&b, "x", 1), 0);
	buf_free(&b);
}

static void
reserve_gives_room_without_adding(void **state)
{
	struct buf b;
	char *p;

	(void)state;
	buf_init(&b, 64);
	p = buf_reserve(&b, 10);
	assert_non_null(p);
	assert_int_equal(b.len, 0);
	assert_true(b.cap >= 10);
	memcpy(p, "0123456789", 10);
	b.len = 10;
	assert_null(buf_reserve(&b, 55));
	assert_non_null(buf_reserve(&b, 54));
	buf_free(&b);
}

static void
free_keeps_the_maximum_for_reuse(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, "12345678", 8), 0);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 8);
	assert_int_equal(buf_append(&b, "12345678", 8), 0);
	assert_int_equal(buf_append(&b, "9", 1), -1);
	buf_free(&b);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(init_allocates_nothing),
	    cmocka_unit_test(append_up_to_the_maximum),
	    cmocka_unit_test(append_past_the_maximum_appends_nothing),
	    cmocka_unit_test(printf_formats_and_respects_the_maximum),
	    cmocka_unit_test(printf_fills_exactly_to_the_maximum),
	    cmocka_unit_test(long_printf_fills_exactly_to_the_maximum),
	    cmocka_unit_test(consume_drops_the_front),
	    cmocka_unit_test(reserve_gives_room_without_adding),
	    cmocka_unit_test(free_keeps_the_maximum_for_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
