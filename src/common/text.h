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

/*
 * A duration for people, the same everywhere (replay, watch, check):
 * "512ns", "12.3us", "4.5ms", "1.25s".  The unit is the largest one in
 * which the rounded value stays below 1000.
 */
void nq_format_ns(char *buf, size_t len, uint64_t ns);

#endif /* NQ_COMMON_TEXT_H */
