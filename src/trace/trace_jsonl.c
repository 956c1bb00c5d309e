// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The JSON-lines reader: lines, comments, the optional header line first,
 * and every other line an event through the schema of event_json.c.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "common/json_writer.h"
#include "event_json.h"
#include "trace_internal.h"
#include "trace_plan.h"

/* ---- the header line ---- */

int nq_jsonl_format_meta(const struct nq_trace_meta *m, char *buf, size_t len)
{
	struct nq_json w;

	nq_json_init_buf(&w, buf, len);
	nq_json_begin_object(&w);
	nq_json_ku64(&w, "nestirq_trace", NQ_TRACE_VERSION);
	nq_json_key(&w, "kernel");
	nq_json_strn(&w, m->kernel, strnlen(m->kernel, sizeof(m->kernel)));
	nq_json_key(&w, "host");
	nq_json_strn(&w, m->host, strnlen(m->host, sizeof(m->host)));
	nq_json_key(&w, "flow");
	nq_json_strn(&w, m->flow, strnlen(m->flow, sizeof(m->flow)));
	nq_json_key(&w, "isa");
	nq_json_strn(&w, m->isa, strnlen(m->isa, sizeof(m->isa)));
	nq_json_ku64(&w, "created_ns", m->created_ns);
	nq_json_key(&w, "plan");
	nq_plan_json(&w, &m->plan);
	nq_json_end_object(&w);
	return nq_json_finish(&w);
}

static int meta_str(struct nqj_err *e, const struct nqj_val *v, char *dst, size_t dstlen)
{
	if (v->type == NQJ_NULL)
		return 0;
	if (v->type != NQJ_STR)
		return nqj_err(e, "key '%s': expected a string", v->key);
	if (v->len >= dstlen)
		return nqj_err(e, "key '%s': longer than %zu bytes", v->key, dstlen - 1);
	memcpy(dst, v->str, v->len + 1);
	return 0;
}

static int parse_header(struct nqj_err *e, const struct nqj_doc *d, struct nq_trace_meta *m)
{
	memset(m, 0, sizeof(*m));
	for (uint32_t k = 1; k < d->n; k += 1 + d->v[k].span) {
		const struct nqj_val *v = &d->v[k];
		const char *key = v->key;
		uint64_t x;
		int rc;

		if (!strcmp(key, "nestirq_trace")) {
			rc = nqj_get_ranged(e, v, key, 0, UINT64_MAX, &x);
			if (!rc && x != NQ_TRACE_VERSION)
				rc = nqj_err(e,
					     "unsupported nestirq_trace version %" PRIu64
					     " (this nestirq reads %d)",
					     x, NQ_TRACE_VERSION);
		} else if (!strcmp(key, "kernel")) {
			rc = meta_str(e, v, m->kernel, sizeof(m->kernel));
		} else if (!strcmp(key, "host")) {
			rc = meta_str(e, v, m->host, sizeof(m->host));
		} else if (!strcmp(key, "flow")) {
			rc = meta_str(e, v, m->flow, sizeof(m->flow));
		} else if (!strcmp(key, "isa")) {
			rc = meta_str(e, v, m->isa, sizeof(m->isa));
		} else if (!strcmp(key, "created_ns")) {
			rc = v->type == NQJ_NULL ? 0 : nqj_get_ranged(e, v, key, 0, UINT64_MAX, &x);
			if (!rc && v->type != NQJ_NULL)
				m->created_ns = x;
		} else if (!strcmp(key, "plan")) {
			rc = nq_plan_from_json(e, v, &m->plan);
		} else {
			rc = nqj_err(e, "unknown key '%.40s' in the header line", key);
		}
		if (rc)
			return -1;
	}
	return 0;
}

/* ---- the reader ---- */

struct nq_jsonl_state {
	uint64_t line; /* number of the line last taken */
	bool pending;  /* open() parsed the first event already */
	struct nq_event pend;
	struct nqj_doc doc;
};

/* The next line without its "\n" or "\r\n".  1: a line; 0: EOF; -1: error (reported). */
static int next_line(struct nq_trace_reader *r, const char **line, size_t *len)
{
	struct nq_src *s = &r->src;
	size_t scanned = 0;

	for (;;) {
		size_t avail = nq_src_avail(s), l;
		const uint8_t *p = nq_src_ptr(s);
		const uint8_t *nl =
			avail > scanned ? memchr(p + scanned, '\n', avail - scanned) : NULL;

		if (nl || (s->eof && avail && avail <= NQ_LINE_MAX)) {
			/* The last line may lack its newline. */
			l = nl ? (size_t)(nl - p) : avail;
			s->pos += nl ? l + 1 : l;
			if (l && p[l - 1] == '\r')
				l--;
			*line = (const char *)p;
			*len = l;
			r->jl->line++;
			if (l > NQ_LINE_MAX)
				break;
			return 1;
		}
		if (avail > NQ_LINE_MAX)
			break;
		if (s->io_errno) {
			nq_reader_fail(r, "line %" PRIu64 ": read error: %s", r->jl->line + 1,
				       strerror(s->io_errno));
			return -1;
		}
		if (s->eof)
			return 0;
		scanned = avail;
		nq_src_ensure(s, avail + 1);
	}
	nq_reader_fail(r, "line %" PRIu64 ": longer than %u bytes", r->jl->line + 1, NQ_LINE_MAX);
	return -1;
}

/* Skips blank lines and '#' comments: scenario files are written by hand. */
static int next_content_line(struct nq_trace_reader *r, const char **line, size_t *len)
{
	int rc;

	while ((rc = next_line(r, line, len)) > 0) {
		size_t i = 0;

		while (i < *len && ((*line)[i] == ' ' || (*line)[i] == '\t'))
			i++;
		if (i < *len && (*line)[i] != '#')
			return 1;
	}
	return rc;
}

/*
 * Parses the line just taken.  1: event in ev; 0: header, in r->meta;
 * -1: error; -2: error in a header line.  Errors are reported.
 */
static int parse_line(struct nq_trace_reader *r, const char *line, size_t len, bool first,
		      struct nq_event *ev)
{
	struct nq_jsonl_state *jl = r->jl;
	char msg[NQ_TRACE_ERR_LEN - 32];
	struct nqj_err e = {msg, sizeof(msg)};

	if (nqj_parse(&jl->doc, line, len, msg, sizeof(msg)))
		goto fail;
	if (first && nqj_find(&jl->doc, "nestirq_trace") >= 0) {
		if (parse_header(&e, &jl->doc, &r->meta)) {
			nq_reader_fail(r, "line %" PRIu64 ": %s", jl->line, msg);
			return -2;
		}
		return 0;
	}
	if (nqj_find(&jl->doc, "nestirq_trace") >= 0) {
		nqj_err(&e, "a header line must be the first line");
		goto fail;
	}
	if (nq_event_from_json(&e, &jl->doc, ev))
		goto fail;
	return 1;
fail:
	nq_reader_fail(r, "line %" PRIu64 ": %s", jl->line, msg);
	return -1;
}

int nq_jsonl_open(struct nq_trace_reader *r)
{
	const char *line;
	size_t len;
	int rc;

	r->jl = calloc(1, sizeof(*r->jl));
	if (!r->jl) {
		nq_reader_fail(r, "line 1: out of memory");
		return -1;
	}
	rc = next_content_line(r, &line, &len);
	if (rc <= 0)
		return 0; /* an empty trace, or an error the first read reports */
	rc = parse_line(r, line, len, true, &r->jl->pend);
	if (rc == -2)
		return -1; /* a broken header: nothing after it can be trusted */
	/* A broken first line stays recorded in r->state: the first read reports it. */
	r->jl->pending = rc > 0;
	return 0;
}

enum nq_read_status nq_jsonl_read(struct nq_trace_reader *r, struct nq_event *ev)
{
	struct nq_jsonl_state *jl = r->jl;
	const char *line;
	size_t len;
	int rc;

	if (jl->pending) {
		jl->pending = false;
		*ev = jl->pend;
		return NQ_READ_EVENT;
	}
	rc = next_content_line(r, &line, &len);
	if (rc < 0)
		return NQ_READ_ERROR;
	if (rc == 0) {
		r->state = NQ_RS_EOF;
		return NQ_READ_EOF;
	}
	return parse_line(r, line, len, false, ev) > 0 ? NQ_READ_EVENT : NQ_READ_ERROR;
}

void nq_jsonl_free(struct nq_trace_reader *r)
{
	if (!r->jl)
		return;
	nqj_free(&r->jl->doc);
	free(r->jl);
	r->jl = NULL;
}
