// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Durations on the command line: "10" (seconds), "10s", "500ms", "2m", "1h". */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

long long nq_parse_duration_ms(const char *s)
{
	unsigned long long v;
	long long mul;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (!*end || !strcmp(end, "s"))
		mul = 1000;
	else if (!strcmp(end, "ms"))
		mul = 1;
	else if (!strcmp(end, "m"))
		mul = 60 * 1000;
	else if (!strcmp(end, "h"))
		mul = 3600 * 1000;
	else
		return -1;
	if (v > (unsigned long long)(9223372036854775807LL / mul))
		return -1;
	return (long long)v * mul;
}
