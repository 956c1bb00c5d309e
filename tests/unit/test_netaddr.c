// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `nestirq serve --listen`: accepted forms, rejected forms, the loopback rule. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "nestirq/netaddr.h"

static int parse(const char *s, char *fmt, size_t fmtlen, int *loop)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[160];

	if (nq_parse_listen(s, &ss, &len, err, sizeof(err)))
		return -1;
	nq_addr_format((struct sockaddr *)&ss, fmt, fmtlen);
	*loop = nq_addr_is_loopback((struct sockaddr *)&ss);
	return 0;
}

static void test_accepted(void)
{
	char f[80];
	int loop;

	CHECK(!parse("127.0.0.1:9747", f, sizeof(f), &loop) && loop &&
	      !strcmp(f, "127.0.0.1:9747"));
	CHECK(!parse(":8080", f, sizeof(f), &loop) && loop && !strcmp(f, "127.0.0.1:8080"));
	CHECK(!parse("127.1.2.3:1", f, sizeof(f), &loop) && loop);
	CHECK(!parse("[::1]:9747", f, sizeof(f), &loop) && loop && !strcmp(f, "[::1]:9747"));
	CHECK(!parse("[::ffff:127.0.0.1]:80", f, sizeof(f), &loop) && loop);
	CHECK(!parse("0.0.0.0:9747", f, sizeof(f), &loop) && !loop);
	CHECK(!parse("[::]:9747", f, sizeof(f), &loop) && !loop);
	CHECK(!parse("192.0.2.1:65535", f, sizeof(f), &loop) && !loop);
}

static void test_rejected(void)
{
	static const char *const bad[] = {
		"",
		"9747",
		"127.0.0.1",
		"127.0.0.1:",
		"127.0.0.1:0",
		"127.0.0.1:65536",
		"127.0.0.1:-1",
		"127.0.0.1:+80",
		"localhost:80",
		"::1:80",
		"[::1]80",
		"[::1:80",
		"1.2.3.4:80x",
		"[zz]:80",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char f[80];
		int loop;

		if (!parse(bad[i], f, sizeof(f), &loop)) {
			printf("  accepted '%s'\n", bad[i]);
			CHECK(0);
		}
	}
}

int main(void)
{
	RUN(test_accepted);
	RUN(test_rejected);
	TEST_EXIT();
}
