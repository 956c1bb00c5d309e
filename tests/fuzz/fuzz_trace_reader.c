// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: arbitrary bytes into the trace reader (binary or JSON
 * lines, whichever the sniffing picks).  Beyond "no crash", it checks the
 * promises callers rely on: errors are one "offset N: ..." or "line N: ..."
 * line, and every event read survives JSON lines and the binary writer
 * unchanged in meaning (format -> parse -> format is a fixpoint, and the
 * binary round trip is byte-exact).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nestirq/trace.h"

#define ROUNDTRIP_MAX 32 /* events per input checked by round trip: keeps execs fast */

static void check_error_line(const char *err)
{
	if (!*err || strchr(err, '\n') ||
	    (strncmp(err, "offset ", 7) && strncmp(err, "line ", 5) && strncmp(err, "cannot ", 7)))
		__builtin_trap();
}

/* format -> parse -> format must give the same text. */
static void check_jsonl(const struct nq_event *ev)
{
	char a[1024], b[1024], err[NQ_TRACE_ERR_LEN];
	struct nq_trace_reader *r;
	struct nq_event back;
	int n = nq_jsonl_format_event(ev, a, sizeof(a));

	if (n <= 0)
		__builtin_trap();
	r = nq_trace_reader_open_mem(a, (size_t)n, err, sizeof(err));
	if (!r || nq_trace_read(r, &back) != NQ_READ_EVENT)
		__builtin_trap();
	if (nq_jsonl_format_event(&back, b, sizeof(b)) != n || memcmp(a, b, (size_t)n))
		__builtin_trap();
	if (nq_trace_read(r, &back) != NQ_READ_EOF)
		__builtin_trap();
	nq_trace_reader_close(r);
}

/* The meta must survive the header line it is written as. */
static void check_meta(const struct nq_trace_meta *m)
{
	static char a[32768], b[32768];
	char err[NQ_TRACE_ERR_LEN];
	struct nq_trace_reader *r;
	int n = nq_jsonl_format_meta(m, a, sizeof(a));

	if (n <= 0)
		__builtin_trap();
	r = nq_trace_reader_open_mem(a, (size_t)n, err, sizeof(err));
	if (!r)
		__builtin_trap();
	if (nq_jsonl_format_meta(nq_trace_reader_meta(r), b, sizeof(b)) != n ||
	    memcmp(a, b, (size_t)n))
		__builtin_trap();
	nq_trace_reader_close(r);
}

static void check_binary(const struct nq_event *evs, unsigned int n)
{
	char *buf = NULL, err[NQ_TRACE_ERR_LEN];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct nq_trace_writer *w = nq_trace_writer_fdopen(f, NULL, err, sizeof(err));
	struct nq_trace_reader *r;
	struct nq_event back;

	if (!w)
		__builtin_trap();
	for (unsigned int i = 0; i < n; i++)
		nq_trace_write(w, &evs[i]);
	if (nq_trace_writer_close(w, err, sizeof(err)))
		__builtin_trap();
	fclose(f);
	r = nq_trace_reader_open_mem(buf, len, err, sizeof(err));
	if (!r)
		__builtin_trap();
	for (unsigned int i = 0; i < n; i++)
		if (nq_trace_read(r, &back) != NQ_READ_EVENT ||
		    memcmp(&back, &evs[i], sizeof(back)))
			__builtin_trap();
	if (nq_trace_read(r, &back) != NQ_READ_EOF)
		__builtin_trap();
	nq_trace_reader_close(r);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[NQ_TRACE_ERR_LEN];
	struct nq_trace_reader *r = nq_trace_reader_open_mem(data, size, err, sizeof(err));
	struct nq_event evs[ROUNDTRIP_MAX], ev;
	enum nq_read_status st;
	unsigned int n = 0;

	if (!r) {
		check_error_line(err);
		return 0;
	}
	check_meta(nq_trace_reader_meta(r));
	while ((st = nq_trace_read(r, &ev)) == NQ_READ_EVENT) {
		if (n < ROUNDTRIP_MAX) {
			check_jsonl(&ev);
			evs[n++] = ev;
		}
	}
	if (st == NQ_READ_ERROR)
		check_error_line(nq_trace_reader_error(r));
	else if (*nq_trace_reader_error(r))
		__builtin_trap();
	/* Errors and EOF stick. */
	if (nq_trace_read(r, &ev) != st)
		__builtin_trap();
	nq_trace_reader_close(r);
	check_binary(evs, n);
	return 0;
}
