// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Small text helpers (text.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/text.h"

void nq_copy_utf8(char *dst, size_t dstlen, const char *src, size_t len)
{
	if (!dstlen)
		return;
	if (len >= dstlen) {
		len = dstlen - 1;
		/* Back off a cut multi-byte sequence: keep the text valid UTF-8. */
		while (len && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

void nq_format_ns(char *buf, size_t len, uint64_t ns)
{
	/* 999.95 would print as "1000.0": such values take the next unit. */
	if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 "ns", ns);
	else if (ns < 999950)
		snprintf(buf, len, "%.1fus", (double)ns / 1e3);
	else if (ns < 999950000)
		snprintf(buf, len, "%.1fms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", (double)ns / 1e9);
}
