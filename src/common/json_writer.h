/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one JSON writer of nestirq, after bpftool's json_writer: the caller
 * says begin/end, key and value; the writer places commas and colons and
 * escapes every string the same way.  Output goes to a stdio stream or
 * into a caller's buffer; a full buffer is sticky and reported by
 * nq_json_finish(), never a cut line.
 *
 * Strings: '"' and '\\' are escaped, \n \t \r by name, other control bytes
 * and DEL as \u00XX; bytes >= 0x80 pass through (the input is UTF-8).  The
 * result is valid JSON and a valid YAML double-quoted scalar.
 */
#ifndef NQ_COMMON_JSON_WRITER_H
#define NQ_COMMON_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NQ_JSON_MAX_DEPTH 32

struct nq_json {
	FILE *f;	     /* stream sink, or NULL for the buffer sink */
	char *buf;	     /* buffer sink: always NUL-terminated */
	size_t cap, len;     /* buffer size and bytes used */
	bool error;	     /* buffer full, or nesting misuse: sticky */
	bool after_key;	     /* a key was written: the value follows without a comma */
	unsigned int depth;  /* open objects and arrays */
	uint32_t has_member; /* bit d: the container at depth d has a member */
};

void nq_json_init(struct nq_json *w, FILE *f);
/* Writes into buf[0..cap); buf holds a C string at every point. */
void nq_json_init_buf(struct nq_json *w, char *buf, size_t cap);
/* Buffer sink: the length written, or -1 if it did not fit or a container is open.
 * Stream sink: 0, or -1 on misuse or a stream error. */
int nq_json_finish(const struct nq_json *w);

void nq_json_begin_object(struct nq_json *w);
void nq_json_end_object(struct nq_json *w);
void nq_json_begin_array(struct nq_json *w);
void nq_json_end_array(struct nq_json *w);
/* The key of the next value, inside an object. */
void nq_json_key(struct nq_json *w, const char *key);

/* Values.  str(NULL) writes "". */
void nq_json_str(struct nq_json *w, const char *s);
void nq_json_strn(struct nq_json *w, const char *s, size_t n);
void nq_json_u64(struct nq_json *w, uint64_t v);
void nq_json_i64(struct nq_json *w, int64_t v);
void nq_json_bool(struct nq_json *w, bool v);
void nq_json_null(struct nq_json *w);
/* A fixed-point number with `decimals` digits; NaN and infinities as null. */
void nq_json_double(struct nq_json *w, double v, int decimals);
/* An integer as a "0x..." string: bit fields read better in hex. */
void nq_json_hex(struct nq_json *w, uint64_t v);

/* key + value in one call */
void nq_json_kstr(struct nq_json *w, const char *key, const char *s);
void nq_json_ku64(struct nq_json *w, const char *key, uint64_t v);
void nq_json_ki64(struct nq_json *w, const char *key, int64_t v);
void nq_json_kbool(struct nq_json *w, const char *key, bool v);

#endif /* NQ_COMMON_JSON_WRITER_H */
