// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The JSON writer: separators, escaping, and the two sinks (json_writer.h). */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "common/json_writer.h"

void nq_json_init(struct nq_json *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

void nq_json_init_buf(struct nq_json *w, char *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	if (cap)
		buf[0] = '\0';
	else
		w->error = true;
}

int nq_json_finish(const struct nq_json *w)
{
	if (w->error || w->depth || w->after_key)
		return -1;
	if (w->f)
		return ferror(w->f) ? -1 : 0;
	return (int)w->len;
}

static void put(struct nq_json *w, const char *s, size_t n)
{
	if (w->error)
		return;
	if (w->f) {
		if (fwrite(s, 1, n, w->f) != n)
			w->error = true;
		return;
	}
	if (n >= w->cap - w->len) {
		w->error = true; /* the buffer keeps what fitted before: a complete prefix */
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void put_c(struct nq_json *w, char c)
{
	put(w, &c, 1);
}

/* Before a value or a key: the comma, unless a key has just been written. */
static void sep(struct nq_json *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->depth)
		return;
	if (w->has_member & 1u << w->depth)
		put_c(w, ',');
	w->has_member |= 1u << w->depth;
}

static void escaped(struct nq_json *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	put_c(w, '"');
	for (size_t i = 0; i < n;) {
		size_t run = i;
		unsigned char c;

		while (run < n && (unsigned char)s[run] >= 0x20 && s[run] != 0x7f &&
		       s[run] != '"' && s[run] != '\\')
			run++;
		put(w, s + i, run - i);
		if (run == n)
			break;
		c = (unsigned char)s[run];
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};

			put(w, e, 2);
		} else if (c == '\n') {
			put(w, "\\n", 2);
		} else if (c == '\t') {
			put(w, "\\t", 2);
		} else if (c == '\r') {
			put(w, "\\r", 2);
		} else {
			char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

			put(w, u, 6);
		}
		i = run + 1;
	}
	put_c(w, '"');
}

static void begin(struct nq_json *w, char c)
{
	sep(w);
	put_c(w, c);
	if (w->depth + 1 >= NQ_JSON_MAX_DEPTH) {
		w->error = true;
		return;
	}
	w->depth++;
	w->has_member &= ~(1u << w->depth);
}

static void end(struct nq_json *w, char c)
{
	if (!w->depth || w->after_key) {
		w->error = true;
		return;
	}
	w->depth--;
	put_c(w, c);
}

void nq_json_begin_object(struct nq_json *w)
{
	begin(w, '{');
}

void nq_json_end_object(struct nq_json *w)
{
	end(w, '}');
}

void nq_json_begin_array(struct nq_json *w)
{
	begin(w, '[');
}

void nq_json_end_array(struct nq_json *w)
{
	end(w, ']');
}

void nq_json_key(struct nq_json *w, const char *key)
{
	if (!w->depth || w->after_key) {
		w->error = true;
		return;
	}
	sep(w);
	escaped(w, key, strlen(key));
	put_c(w, ':');
	w->after_key = true;
}

void nq_json_strn(struct nq_json *w, const char *s, size_t n)
{
	sep(w);
	escaped(w, s ? s : "", s ? n : 0);
}

void nq_json_str(struct nq_json *w, const char *s)
{
	nq_json_strn(w, s, s ? strlen(s) : 0);
}

static void number(struct nq_json *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void number(struct nq_json *w, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	sep(w);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		w->error = true;
		return;
	}
	put(w, tmp, (size_t)n);
}

void nq_json_u64(struct nq_json *w, uint64_t v)
{
	number(w, "%" PRIu64, v);
}

void nq_json_i64(struct nq_json *w, int64_t v)
{
	number(w, "%" PRId64, v);
}

void nq_json_hex(struct nq_json *w, uint64_t v)
{
	number(w, "\"0x%" PRIx64 "\"", v);
}

void nq_json_bool(struct nq_json *w, bool v)
{
	sep(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void nq_json_null(struct nq_json *w)
{
	sep(w);
	put(w, "null", 4);
}

void nq_json_double(struct nq_json *w, double v, int decimals)
{
	if (!isfinite(v) || fabs(v) >= 1e18) {
		nq_json_null(w);
		return;
	}
	number(w, "%.*f", decimals, v);
}

void nq_json_kstr(struct nq_json *w, const char *key, const char *s)
{
	nq_json_key(w, key);
	nq_json_str(w, s);
}

void nq_json_ku64(struct nq_json *w, const char *key, uint64_t v)
{
	nq_json_key(w, key);
	nq_json_u64(w, v);
}

void nq_json_ki64(struct nq_json *w, const char *key, int64_t v)
{
	nq_json_key(w, key);
	nq_json_i64(w, v);
}

void nq_json_kbool(struct nq_json *w, const char *key, bool v)
{
	nq_json_key(w, key);
	nq_json_bool(w, v);
}
