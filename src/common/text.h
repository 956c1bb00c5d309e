/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small text helpers shared by every room: bounded UTF-8 copies, durations. */
#ifndef NQ_COMMON_TEXT_H
#define NQ_COMMON_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Copies at most dstlen-1 bytes of src[0..len) and a NUL, backing off a
 * multi-byte UTF-8 sequence the cut would split, so the result stays valid.
 */
void nq_copy_utf8(char *dst, size_t dstlen, const char *src, size_t len);

#endif /* NQ_COMMON_TEXT_H */
