/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small strict JSON parser for the one-object-per-line trace form: an
 * object whose values are strings, integers, booleans or null, or objects
 * and arrays nested at most two deep (ctls; the plan's array of points).
 * No floats.
 */
#ifndef NQ_TRACE_JSON_H
#define NQ_TRACE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum nqj_type { NQJ_NULL, NQJ_BOOL, NQJ_INT, NQJ_STR, NQJ_OBJ, NQJ_ARR };

/*
 * One value.  The values inside an object or array follow their container
 * directly, depth first, so the members of a container at c are walked with
 * k = c + 1, k += 1 + v[k].span, up to c + v[c].span.
 */
struct nqj_val {
	const char *key; /* decoded, NUL-terminated; NULL for array elements */
	const char *str; /* NQJ_STR: decoded, NUL-terminated (no NUL inside) */
	uint64_t mag;	 /* NQJ_INT: magnitude ... */
	bool neg;	 /* ... and sign, so all of u64 and s64 fit */
	bool b;		 /* NQJ_BOOL */
	uint8_t type;	 /* enum nqj_type */
	uint32_t len;	 /* NQJ_STR: length */
	uint32_t n;	 /* NQJ_OBJ, NQJ_ARR: number of members */
	uint32_t span;	 /* NQJ_OBJ, NQJ_ARR: number of values inside, at any depth */
	uint32_t col;	 /* 1-based column of the value, for messages */
};

#define NQJ_MAX_VALS 1024

struct nqj_doc {
	struct nqj_val v[NQJ_MAX_VALS];
	uint32_t n;
	char *scratch; /* decoded strings; grown to the longest line, reused */
	size_t scratch_cap;
};

/* Parses one line (without its newline).  0, or -1 with a message in err. */
int nqj_parse(struct nqj_doc *d, const char *s, size_t len, char *err, size_t errlen);
void nqj_free(struct nqj_doc *d);

/* Index of the top-level member named key, or -1. */
int nqj_find(const struct nqj_doc *d, const char *key);

/* ---- typed access to values, with one-line messages ---- */

/* Where messages go; every accessor returns -1 after writing one. */
struct nqj_err {
	char *buf;
	size_t len;
};

__attribute__((format(printf, 2, 3))) int nqj_err(struct nqj_err *e, const char *fmt, ...);
/* An integer: a JSON integer, or a "0x..." string (up to 16 hex digits). */
int nqj_get_int(struct nqj_err *e, const struct nqj_val *v, bool *neg, uint64_t *mag);
/* An integer in [-lo_mag, hi], as a two's-complement u64; name is for messages. */
int nqj_get_ranged(struct nqj_err *e, const struct nqj_val *v, const char *name, uint64_t lo_mag,
		   uint64_t hi, uint64_t *out);

#endif /* NQ_TRACE_JSON_H */
