// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The reader front end: opens a path, stdin or a memory buffer, tells the
 * binary format from JSON lines by the first bytes, and dispatches.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "trace_internal.h"

static bool is_jsonl_start(uint8_t c)
{
	return c == '{' || c == '#' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Picks the format from the first bytes and opens it; 0 or -1 with r->err. */
static int sniff_and_open(struct nq_trace_reader *r)
{
	size_t avail = nq_src_ensure(&r->src, 8);
	const uint8_t *p = nq_src_ptr(&r->src);
	char hex[17];

	if (r->src.io_errno && avail < 8) {
		nq_reader_fail(r, "offset 0: read error: %s", strerror(r->src.io_errno));
		return -1;
	}
	if (avail == 0) {
		nq_reader_fail(r, "offset 0: not a nestirq trace (empty input)");
		return -1;
	}
	if (is_jsonl_start(p[0])) {
		r->fmt = NQ_FMT_JSONL;
		return nq_jsonl_open(r);
	}
	/* A cut-off magic is a truncated trace rather than a foreign file. */
	if (!memcmp(p, NQ_TRACE_MAGIC, avail < 8 ? avail : 8)) {
		r->fmt = NQ_FMT_BINARY;
		return nq_bin_open(r);
	}
	for (size_t i = 0; i < 8 && i < avail; i++)
		snprintf(hex + 2 * i, 3, "%02x", p[i]);
	nq_reader_fail(
		r, "offset 0: not a nestirq trace (bad magic %s, expected \"%s\" or JSON lines)",
		hex, NQ_TRACE_MAGIC);
	return -1;
}

static struct nq_trace_reader *finish_open(struct nq_trace_reader *r, char *err, size_t errlen)
{
	if (sniff_and_open(r) == 0)
		return r;
	if (err && errlen)
		snprintf(err, errlen, "%s", r->err);
	nq_trace_reader_close(r);
	return NULL;
}

struct nq_trace_reader *nq_trace_reader_open(const char *path, char *err, size_t errlen)
{
	struct nq_trace_reader *r;
	bool own = strcmp(path, "-") != 0;
	int fd = STDIN_FILENO;

	if (own) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(err, errlen, "cannot open: %s", strerror(errno));
			return NULL;
		}
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		if (own)
			close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	nq_src_init_fd(&r->src, fd, own);
	return finish_open(r, err, errlen);
}

struct nq_trace_reader *nq_trace_reader_open_mem(const void *buf, size_t len, char *err,
						 size_t errlen)
{
	struct nq_trace_reader *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	nq_src_init_mem(&r->src, buf, len);
	return finish_open(r, err, errlen);
}

enum nq_trace_format nq_trace_reader_format(const struct nq_trace_reader *r)
{
	return r->fmt;
}

const struct nq_trace_meta *nq_trace_reader_meta(const struct nq_trace_reader *r)
{
	return &r->meta;
}

uint64_t nq_trace_reader_skipped(const struct nq_trace_reader *r)
{
	return r->skipped;
}

enum nq_read_status nq_trace_read(struct nq_trace_reader *r, struct nq_event *ev)
{
	/* Binary events inside a loaded block: the common case, kept call-free. */
	if (nq_bin_next_in_block(r, ev))
		return NQ_READ_EVENT;
	if (r->state == NQ_RS_ERROR)
		return NQ_READ_ERROR;
	if (r->state == NQ_RS_EOF)
		return NQ_READ_EOF;
	return r->fmt == NQ_FMT_BINARY ? nq_bin_read(r, ev) : nq_jsonl_read(r, ev);
}

const char *nq_trace_reader_error(const struct nq_trace_reader *r)
{
	return r->state == NQ_RS_ERROR ? r->err : "";
}

void nq_trace_reader_close(struct nq_trace_reader *r)
{
	if (!r)
		return;
	nq_jsonl_free(r);
	nq_src_fini(&r->src);
	free(r);
}
