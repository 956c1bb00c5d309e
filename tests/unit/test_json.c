// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The JSON writer: separators, escaping, numbers, the buffer sink's overflow. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "common/json_writer.h"

static char buf[512];

static const char *str_of(const char *s, size_t n)
{
	struct nq_json w;

	nq_json_init_buf(&w, buf, sizeof(buf));
	nq_json_strn(&w, s, n);
	return nq_json_finish(&w) < 0 ? "(error)" : buf;
}

static void test_escapes_quotes_and_backslash(void)
{
	CHECK(!strcmp(str_of("a\"b\\c", 5), "\"a\\\"b\\\\c\""));
}

static void test_escapes_control_chars(void)
{
	CHECK(!strcmp(str_of("\n\t\r", 3), "\"\\n\\t\\r\""));
	CHECK(!strcmp(str_of("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\""));
	/* An embedded NUL in a counted string is escaped, not a terminator. */
	CHECK(!strcmp(str_of("a\0b", 3), "\"a\\u0000b\""));
}

static void test_utf8_passes_through(void)
{
	/* é, €, U+1F600: bytes >= 0x80 are copied as they are. */
	const char *s = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";

	CHECK(!strcmp(str_of(s, strlen(s)), "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""));
	CHECK(!strcmp(str_of(NULL, 0), "\"\""));
}

static void test_nesting_and_separators(void)
{
	struct nq_json w;

	nq_json_init_buf(&w, buf, sizeof(buf));
	nq_json_begin_object(&w);
	nq_json_kstr(&w, "a", "x");
	nq_json_key(&w, "list");
	nq_json_begin_array(&w);
	nq_json_u64(&w, 1);
	nq_json_begin_object(&w);
	nq_json_end_object(&w);
	nq_json_begin_array(&w);
	nq_json_end_array(&w);
	nq_json_null(&w);
	nq_json_end_array(&w);
	nq_json_key(&w, "o");
	nq_json_begin_object(&w);
	nq_json_kbool(&w, "t", true);
	nq_json_kbool(&w, "f", false);
	nq_json_end_object(&w);
	nq_json_end_object(&w);
	CHECK(nq_json_finish(&w) > 0);
	CHECK(!strcmp(buf, "{\"a\":\"x\",\"list\":[1,{},[],null],\"o\":{\"t\":true,\"f\":false}}"));
}

static void test_numbers(void)
{
	struct nq_json w;

	nq_json_init_buf(&w, buf, sizeof(buf));
	nq_json_begin_array(&w);
	nq_json_u64(&w, UINT64_MAX);
	nq_json_i64(&w, INT64_MIN);
	nq_json_i64(&w, -1);
	nq_json_hex(&w, 0x80000031u);
	nq_json_double(&w, 2.34, 1);
	nq_json_double(&w, NAN, 1);
	nq_json_end_array(&w);
	CHECK(nq_json_finish(&w) > 0);
	CHECK(!strcmp(buf, "[18446744073709551615,-9223372036854775808,-1,\"0x80000031\",2.3,"
			   "null]"));
}

static void test_key_escaped(void)
{
	struct nq_json w;

	nq_json_init_buf(&w, buf, sizeof(buf));
	nq_json_begin_object(&w);
	nq_json_ku64(&w, "k\"\n", 7);
	nq_json_end_object(&w);
	CHECK(nq_json_finish(&w) > 0);
	CHECK(!strcmp(buf, "{\"k\\\"\\n\":7}"));
}

static void test_overflow_is_reported(void)
{
	char small[8];
	struct nq_json w;

	nq_json_init_buf(&w, small, sizeof(small));
	nq_json_begin_object(&w);
	nq_json_kstr(&w, "key", "a long value");
	nq_json_end_object(&w);
	CHECK_EQ(nq_json_finish(&w), -1);
	CHECK(strlen(small) < sizeof(small)); /* still a C string */

	/* Exactly fitting (7 bytes + NUL) is not an overflow. */
	nq_json_init_buf(&w, small, sizeof(small));
	nq_json_begin_array(&w);
	nq_json_u64(&w, 12345);
	nq_json_end_array(&w);
	CHECK_EQ(nq_json_finish(&w), 7);
}

static void test_misuse_is_an_error(void)
{
	struct nq_json w;

	nq_json_init_buf(&w, buf, sizeof(buf));
	nq_json_begin_object(&w);
	CHECK_EQ(nq_json_finish(&w), -1); /* unclosed */
	nq_json_init_buf(&w, buf, sizeof(buf));
	nq_json_end_array(&w);
	CHECK_EQ(nq_json_finish(&w), -1); /* nothing open */
	nq_json_init_buf(&w, buf, sizeof(buf));
	nq_json_begin_object(&w);
	nq_json_key(&w, "k");
	nq_json_end_object(&w);
	CHECK_EQ(nq_json_finish(&w), -1); /* key without a value */
	nq_json_init_buf(&w, buf, sizeof(buf));
	for (int i = 0; i < NQ_JSON_MAX_DEPTH + 1; i++)
		nq_json_begin_array(&w);
	CHECK_EQ(nq_json_finish(&w), -1); /* too deep */
}

static void test_stream_sink(void)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	struct nq_json w;

	CHECK(f);
	nq_json_init(&w, f);
	nq_json_begin_object(&w);
	nq_json_kstr(&w, "s", "q\"");
	nq_json_ki64(&w, "n", -5);
	nq_json_end_object(&w);
	CHECK_EQ(nq_json_finish(&w), 0);
	fclose(f);
	CHECK(mem && !strcmp(mem, "{\"s\":\"q\\\"\",\"n\":-5}"));
	free(mem);
}

int main(void)
{
	RUN(test_escapes_quotes_and_backslash);
	RUN(test_escapes_control_chars);
	RUN(test_utf8_passes_through);
	RUN(test_nesting_and_separators);
	RUN(test_numbers);
	RUN(test_key_escaped);
	RUN(test_overflow_is_reported);
	RUN(test_misuse_is_an_error);
	RUN(test_stream_sink);
	TEST_EXIT();
}
