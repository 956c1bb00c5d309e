/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small strict JSON parser for the one-object-per-line trace form: a flat
 * object whose values are strings, integers, booleans or null, plus at most
 * one level of nested object or array (of those scalars).  No floats.
 */
#ifndef NQ_TRACE_JSON_H
#define NQ_TRACE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum nqj_type { NQJ_NULL, NQJ_BOOL, NQJ_INT, NQJ_STR, NQJ_OBJ, NQJ_ARR };

/*
 * One value.  The members of a nested object or array follow their
 * container directly, so the top level is walked with i += 1 + v[i].n.
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

#endif /* NQ_TRACE_JSON_H */
