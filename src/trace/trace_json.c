// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Strict JSON for trace lines.  Hand-written scenario files are the main
 * input, so every deviation is an error with a column: a silently accepted
 * typo would make a scenario test something else than it says.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_json.h"

struct jp {
	const char *s;
	size_t len, i;
	struct nqj_doc *d;
	char *out; /* next free byte of d->scratch */
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct jp *p, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "invalid JSON: %s at column %zu", msg, p->i + 1);
	return -1;
}

static void skip_ws(struct jp *p)
{
	while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\t'))
		p->i++;
}

static int peek(const struct jp *p)
{
	return p->i < p->len ? (unsigned char)p->s[p->i] : -1;
}

static int hex4(struct jp *p, unsigned int *cp)
{
	*cp = 0;
	if (p->len - p->i < 4)
		return fail(p, "invalid \\u escape");
	for (int k = 0; k < 4; k++) {
		char c = p->s[p->i++];
		unsigned int v;

		if (c >= '0' && c <= '9')
			v = (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = (unsigned int)(c - 'A' + 10);
		else {
			p->i--;
			return fail(p, "invalid \\u escape");
		}
		*cp = *cp << 4 | v;
	}
	return 0;
}

static void put_utf8(struct jp *p, unsigned int cp)
{
	if (cp < 0x80) {
		*p->out++ = (char)cp;
	} else if (cp < 0x800) {
		*p->out++ = (char)(0xc0 | cp >> 6);
		*p->out++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*p->out++ = (char)(0xe0 | cp >> 12);
		*p->out++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*p->out++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*p->out++ = (char)(0xf0 | cp >> 18);
		*p->out++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*p->out++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*p->out++ = (char)(0x80 | (cp & 0x3f));
	}
}

static int escape(struct jp *p)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	unsigned int cp, lo;
	const char *e;
	char c;

	if (p->i >= p->len)
		return fail(p, "unterminated string");
	c = p->s[p->i];
	if (c != 'u') {
		e = c ? strchr(from, c) : NULL;
		if (!e)
			return fail(p, "invalid escape");
		*p->out++ = to[e - from];
		p->i++;
		return 0;
	}
	p->i++;
	if (hex4(p, &cp))
		return -1;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail(p, "invalid \\u escape (lone low surrogate)");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (p->len - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
			return fail(p, "invalid \\u escape (lone high surrogate)");
		p->i += 2;
		if (hex4(p, &lo))
			return -1;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(p, "invalid \\u escape (bad low surrogate)");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (!cp)
		return fail(p, "NUL character in string");
	put_utf8(p, cp);
	return 0;
}

/* At the opening quote.  The decoded text never outgrows the raw one, so scratch suffices. */
static int string(struct jp *p, const char **str, uint32_t *len)
{
	char *start = p->out;

	p->i++;
	for (;;) {
		int c = peek(p);

		if (c < 0)
			return fail(p, "unterminated string");
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(p, "control character in string");
		p->i++;
		if (c == '\\') {
			if (escape(p))
				return -1;
		} else {
			*p->out++ = (char)c;
		}
	}
	p->i++;
	*p->out++ = '\0';
	*str = start;
	*len = (uint32_t)(p->out - start - 1);
	return 0;
}

static int number(struct jp *p, struct nqj_val *v)
{
	uint64_t mag = 0;
	size_t begin = p->i, start;

	if (peek(p) == '-') {
		v->neg = true;
		p->i++;
	}
	start = p->i;
	if (peek(p) < '0' || peek(p) > '9')
		return fail(p, "invalid number");
	while (peek(p) >= '0' && peek(p) <= '9') {
		unsigned int dgt = (unsigned int)(p->s[p->i] - '0');

		if (p->i > start && p->s[start] == '0')
			return fail(p, "invalid number (leading zero)");
		if (mag > (UINT64_MAX - dgt) / 10) {
			p->i = begin;
			return fail(p, "integer out of range");
		}
		mag = mag * 10 + dgt;
		p->i++;
	}
	if (peek(p) == '.' || peek(p) == 'e' || peek(p) == 'E')
		return fail(p, "only integers are supported");
	if (v->neg && mag > (uint64_t)INT64_MAX + 1) {
		p->i = begin;
		return fail(p, "integer out of range");
	}
	if (!mag)
		v->neg = false; /* -0 */
	v->type = NQJ_INT;
	v->mag = mag;
	return 0;
}

static int literal(struct jp *p, struct nqj_val *v)
{
	static const struct {
		const char *word;
		uint8_t type;
		bool b;
	} lits[] = {
		{"true", NQJ_BOOL, true}, {"false", NQJ_BOOL, false}, {"null", NQJ_NULL, false}};

	for (size_t k = 0; k < sizeof(lits) / sizeof(lits[0]); k++) {
		size_t l = strlen(lits[k].word);

		if (p->len - p->i >= l && !memcmp(p->s + p->i, lits[k].word, l)) {
			p->i += l;
			v->type = lits[k].type;
			v->b = lits[k].b;
			return 0;
		}
	}
	return fail(p, "expected a value");
}

static int container(struct jp *p, uint32_t self, int depth);

static int value(struct jp *p, uint32_t idx, int depth)
{
	struct nqj_val *v = &p->d->v[idx];
	int c = peek(p);

	v->col = (uint32_t)p->i + 1;
	if (c == '"') {
		v->type = NQJ_STR;
		return string(p, &v->str, &v->len);
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return number(p, v);
	if (c == '{' || c == '[') {
		/* Trace lines need two levels of nesting (ctls, plan points); more is a mistake. */
		if (depth >= 3)
			return fail(p, "nested too deeply");
		v->type = c == '{' ? NQJ_OBJ : NQJ_ARR;
		return container(p, idx, depth);
	}
	return literal(p, v);
}

static uint32_t new_val(struct jp *p)
{
	if (p->d->n >= NQJ_MAX_VALS)
		return 0;
	memset(&p->d->v[p->d->n], 0, sizeof(p->d->v[0]));
	return p->d->n++;
}

/* Members of an object are walked with the skip rule; duplicates are errors. */
static int check_dup(struct jp *p, uint32_t self, uint32_t idx)
{
	const struct nqj_val *v = p->d->v;

	for (uint32_t k = self + 1; k < idx; k += 1 + v[k].span)
		if (!strcmp(v[k].key, v[idx].key)) {
			snprintf(p->err, p->errlen, "duplicate key '%s'", v[idx].key);
			return -1;
		}
	return 0;
}

static int container(struct jp *p, uint32_t self, int depth)
{
	bool obj = p->d->v[self].type == NQJ_OBJ;
	char close = obj ? '}' : ']';

	p->i++;
	skip_ws(p);
	if (peek(p) == close) {
		p->i++;
		return 0;
	}
	for (;;) {
		const char *key = NULL;
		uint32_t klen, idx;

		skip_ws(p);
		if (obj) {
			if (peek(p) != '"')
				return fail(p, "expected '\"' (a key)");
			if (string(p, &key, &klen))
				return -1;
			skip_ws(p);
			if (peek(p) != ':')
				return fail(p, "expected ':'");
			p->i++;
			skip_ws(p);
		}
		idx = new_val(p);
		if (!idx)
			return fail(p, "too many values");
		p->d->v[idx].key = key;
		if (value(p, idx, depth + 1))
			return -1;
		if (obj && check_dup(p, self, idx))
			return -1;
		p->d->v[self].n++;
		p->d->v[self].span = p->d->n - self - 1;
		skip_ws(p);
		if (peek(p) == ',') {
			p->i++;
			continue;
		}
		if (peek(p) == close) {
			p->i++;
			return 0;
		}
		return fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

int nqj_parse(struct nqj_doc *d, const char *s, size_t len, char *err, size_t errlen)
{
	struct jp p = {.s = s, .len = len, .d = d, .err = err, .errlen = errlen};

	if (d->scratch_cap < len + 1) {
		char *ns = realloc(d->scratch, len + 1);

		if (!ns) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		d->scratch = ns;
		d->scratch_cap = len + 1;
	}
	p.out = d->scratch;
	d->n = 1;
	memset(&d->v[0], 0, sizeof(d->v[0]));
	d->v[0].type = NQJ_OBJ;
	skip_ws(&p);
	if (peek(&p) != '{')
		return fail(&p, "expected '{'");
	d->v[0].col = (uint32_t)p.i + 1;
	if (container(&p, 0, 0))
		return -1;
	skip_ws(&p);
	if (p.i != len)
		return fail(&p, "trailing characters after the object");
	return 0;
}

void nqj_free(struct nqj_doc *d)
{
	free(d->scratch);
	d->scratch = NULL;
	d->scratch_cap = 0;
}

int nqj_find(const struct nqj_doc *d, const char *key)
{
	for (uint32_t k = 1; k < d->n; k += 1 + d->v[k].span)
		if (d->v[k].key && !strcmp(d->v[k].key, key))
			return (int)k;
	return -1;
}

/* ---- typed access ---- */

int nqj_err(struct nqj_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->buf, e->len, fmt, ap);
	va_end(ap);
	return -1;
}

/* The value as the user wrote it, for messages. */
static const char *spelled(const struct nqj_val *v, char *tmp, size_t len)
{
	if (v->type == NQJ_STR)
		snprintf(tmp, len, "\"%.40s\"", v->str);
	else
		snprintf(tmp, len, "%s%" PRIu64, v->neg ? "-" : "", v->mag);
	return tmp;
}

/* An integer: a JSON integer, or a "0x..." string for readability. */
int nqj_get_int(struct nqj_err *e, const struct nqj_val *v, bool *neg, uint64_t *mag)
{
	const char *s = v->str;
	uint64_t m = 0;

	*neg = false;
	if (v->type == NQJ_INT) {
		*neg = v->neg;
		*mag = v->mag;
		return 0;
	}
	if (v->type != NQJ_STR)
		return nqj_err(e, "key '%s': expected an integer", v->key);
	if (v->len < 3 || v->len > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		goto bad;
	for (s += 2; *s; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned int)(*s - 'A' + 10);
		else
			goto bad;
		m = m << 4 | d;
	}
	*mag = m;
	return 0;
bad:
	return nqj_err(e,
		       "key '%s': invalid number \"%.40s\" (an integer or a \"0x...\" hex string)",
		       v->key, v->str);
}

/* An integer in [lo, hi], where lo is -lo_mag. */
int nqj_get_ranged(struct nqj_err *e, const struct nqj_val *v, const char *name, uint64_t lo_mag,
		   uint64_t hi, uint64_t *out)
{
	char tmp[64];
	bool neg;
	uint64_t mag = 0;

	if (nqj_get_int(e, v, &neg, &mag))
		return -1;
	if (neg ? mag > lo_mag : mag > hi)
		return nqj_err(e, "%s %s out of range (%s%" PRIu64 "..%" PRIu64 ")", name,
			       spelled(v, tmp, sizeof(tmp)), lo_mag ? "-" : "", lo_mag, hi);
	*out = neg ? (uint64_t)0 - mag : mag;
	return 0;
}