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
		/*
		 * Back off a cut multi-byte sequence: its lead byte is at most 3
		 * bytes before the cut.  Bytes that are not UTF-8 stay as they are,
		 * rather than backing off over a run of stray continuation bytes.
		 */
		for (size_t k = 1; k <= 3 && k <= len; k++) {
			unsigned char c = (unsigned char)src[len - k + 1];

			if ((c & 0xc0) != 0x80)
				break;
			c = (unsigned char)src[len - k];
			if (c >= 0xc0) {
				len -= k;
				break;
			}
		}
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
