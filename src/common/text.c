// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Small text helpers (text.h). */
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
