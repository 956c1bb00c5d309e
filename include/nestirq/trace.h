/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Trace files: the versioned binary format written by `nestirq record` and
 * read by `nestirq replay`, plus the JSON-lines form for people and tests.
 * The format itself is documented in docs/trace-format.md.
 */
#ifndef NESTIRQ_TRACE_H
#define NESTIRQ_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nestirq/abi.h"
#include "nestirq/plan.h"

#define NQ_TRACE_MAGIC	 "NESTIRQT" /* 8 bytes, no NUL in the file */
#define NQ_TRACE_VERSION 1
#define NQ_TRACE_ERR_LEN 256

/* Free-form metadata carried in the file header. */
struct nq_trace_meta {
	char kernel[128];	  /* uname -r of the traced host */
	char host[128];		  /* hostname of the traced host */
	char flow[32];		  /* detected flow: "<=6.11", "6.12+", "6.14+", "unknown" */
	char isa[16];		  /* "vmx", "svm", "none" */
	uint64_t created_ns;	  /* CLOCK_REALTIME at record start */
	struct nq_plan_data plan; /* the probe plan the trace was recorded with */
};

/* ---- binary writer ---- */
struct nq_trace_writer;
/* Returns NULL and fills err on failure. */
struct nq_trace_writer *nq_trace_writer_open(const char *path, const struct nq_trace_meta *meta,
					     char *err, size_t errlen);
struct nq_trace_writer *nq_trace_writer_fdopen(FILE *f, const struct nq_trace_meta *meta, char *err,
					       size_t errlen);
int nq_trace_write(struct nq_trace_writer *w, const struct nq_event *ev);
/* Flushes the open block and writes the end marker. 0 on success. */
int nq_trace_writer_close(struct nq_trace_writer *w, char *err, size_t errlen);

/* ---- readers (binary or JSON lines, detected from the first bytes) ---- */
enum nq_read_status {
	NQ_READ_EVENT = 1, /* *ev was filled */
	NQ_READ_EOF = 0,   /* clean end of the trace */
	NQ_READ_ERROR = -1 /* damaged input; nq_trace_reader_error() says where and why */
};

enum nq_trace_format { NQ_FMT_BINARY = 1, NQ_FMT_JSONL = 2 };

struct nq_trace_reader;
/* path "-" reads stdin. Returns NULL and fills err (one line) on failure. */
struct nq_trace_reader *nq_trace_reader_open(const char *path, char *err, size_t errlen);
/* Reads from a memory buffer (the fuzzer uses this). The buffer must outlive the reader. */
struct nq_trace_reader *nq_trace_reader_open_mem(const void *buf, size_t len, char *err,
						 size_t errlen);
enum nq_trace_format nq_trace_reader_format(const struct nq_trace_reader *r);
const struct nq_trace_meta *nq_trace_reader_meta(const struct nq_trace_reader *r);
enum nq_read_status nq_trace_read(struct nq_trace_reader *r, struct nq_event *ev);
/* After NQ_READ_ERROR: "offset N: reason" (binary) or "line N: reason" (JSON lines). */
const char *nq_trace_reader_error(const struct nq_trace_reader *r);
/* Records of a type this version does not know (a newer writer's), skipped so far. */
uint64_t nq_trace_reader_skipped(const struct nq_trace_reader *r);
void nq_trace_reader_close(struct nq_trace_reader *r);

/* ---- JSON lines ---- */
struct nq_json;
/* One event as one JSON object, into a JSON writer (common/json_writer.h). */
void nq_jsonl_write_event(struct nq_json *w, const struct nq_event *ev);
/* The same into buf, no newline. Returns the length, or -1 if it does not fit. */
int nq_jsonl_format_event(const struct nq_event *ev, char *buf, size_t len);
/* The header line: {"nestirq_trace":1,"kernel":...}. */
int nq_jsonl_format_meta(const struct nq_trace_meta *meta, char *buf, size_t len);

#endif /* NESTIRQ_TRACE_H */
