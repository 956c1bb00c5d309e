/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Internals of the trace layer: the binary format constants, little-endian
 * helpers, the byte source both readers pull from, and the reader state.
 * Not installed; only the files of src/trace/ include it.
 */
#ifndef NQ_TRACE_INTERNAL_H
#define NQ_TRACE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nestirq/trace.h"

/*
 * Events are copied between the file and struct nq_event with memcpy, which
 * is only right on a little-endian host.  Every supported target (x86-64) is;
 * a big-endian port needs per-kind byte swapping in trace_file.c first.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "nestirq trace files are little-endian and events are memcpy'd: port trace_file.c first"
#endif

#define NQ_HDR_LEN	   32u
#define NQ_BLK_HDR_LEN	   16u
#define NQ_REC_HDR_LEN	   4u
#define NQ_BLK_MAGIC	   0x314b4251u /* "QBK1" little-endian */
#define NQ_END_MAGIC	   0x31444e45u /* "END1" little-endian */
#define NQ_REC_EVENT	   1u
#define NQ_META_MAX	   (64u << 10) /* meta_len cap on read */
#define NQ_BLOCK_TARGET	   (64u << 10) /* writer block payload size */
#define NQ_PAYLOAD_MAX	   (1u << 20)  /* payload_len cap on read */
#define NQ_LINE_MAX	   (1u << 20)  /* JSON lines: longest accepted line */
#define NQ_SRC_INITIAL_CAP (256u << 10)

static inline uint16_t nq_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t nq_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t nq_le64(const uint8_t *p)
{
	return (uint64_t)nq_le32(p) | (uint64_t)nq_le32(p + 4) << 32;
}

static inline void nq_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void nq_put32(uint8_t *p, uint32_t v)
{
	nq_put16(p, (uint16_t)v);
	nq_put16(p + 2, (uint16_t)(v >> 16));
}

static inline void nq_put64(uint8_t *p, uint64_t v)
{
	nq_put32(p, (uint32_t)v);
	nq_put32(p + 4, (uint32_t)(v >> 32));
}

/*
 * A byte source.  Memory inputs are used in place; files are read with
 * read(2) into a window that the source owns, so that a whole block or line
 * is always contiguous and memory stays bounded by the largest block or line
 * (1 MiB) however big the file is.
 */
struct nq_src {
	const uint8_t *win; /* window start; byte win[pos] is at file offset base + pos */
	size_t pos;	    /* first unconsumed byte */
	size_t end;	    /* one past the last valid byte */
	uint64_t base;
	uint8_t *buf; /* the owned window (file sources) */
	size_t cap;
	int fd; /* -1: memory source */
	bool own_fd;
	bool eof;
	int io_errno; /* read(2) failure, reported by the format readers */
};

void nq_src_init_mem(struct nq_src *s, const void *buf, size_t len);
void nq_src_init_fd(struct nq_src *s, int fd, bool own_fd);
void nq_src_fini(struct nq_src *s);
/*
 * Makes at least n bytes available from pos (fewer only at EOF or on a read
 * error) and returns how many are.  May move the window: pointers taken
 * before the call are invalid after it.
 */
size_t nq_src_ensure(struct nq_src *s, size_t n);

static inline const uint8_t *nq_src_ptr(const struct nq_src *s)
{
	return s->win + s->pos;
}

static inline uint64_t nq_src_off(const struct nq_src *s)
{
	return s->base + s->pos;
}

static inline size_t nq_src_avail(const struct nq_src *s)
{
	return s->end - s->pos;
}

struct nq_jsonl_state;

enum nq_reader_state { NQ_RS_OK, NQ_RS_EOF, NQ_RS_ERROR };

struct nq_trace_reader {
	enum nq_trace_format fmt;
	enum nq_reader_state state;
	struct nq_src src;
	struct nq_trace_meta meta;
	uint64_t skipped; /* records of unknown type, skipped */
	char err[NQ_TRACE_ERR_LEN];

	/* binary: the validated block being returned, as window indices */
	size_t blk_cur, blk_end;
	uint64_t records; /* records in the blocks read so far */
	uint64_t blocks;
	/*
	 * A file cut inside its last block (a killed recorder): the complete
	 * records before the cut are returned, then this error.
	 */
	bool cut_pending;
	char cut_err[NQ_TRACE_ERR_LEN];

	struct nq_jsonl_state *jl;
};

/*
 * The binary hot path, inlined into nq_trace_read(): the next event of the
 * current block.  The block's CRC and record structure were checked when it
 * was loaded, so there are no bounds checks here.
 */
static inline bool nq_bin_next_in_block(struct nq_trace_reader *r, struct nq_event *ev)
{
	while (r->blk_cur < r->blk_end) {
		const uint8_t *p = r->src.win + r->blk_cur;

		r->blk_cur += NQ_REC_HDR_LEN + nq_le16(p);
		if (p[2] == NQ_REC_EVENT) {
			memcpy(ev, p + NQ_REC_HDR_LEN, sizeof(*ev));
			return true;
		}
		r->skipped++; /* a newer writer's record type */
	}
	return false;
}

/* Records the error (one line) and makes every later read return it (trace_err.c). */
__attribute__((format(printf, 2, 3))) void nq_reader_fail(struct nq_trace_reader *r,
							  const char *fmt, ...);

/* Format back ends.  open: 0, or -1 with r->err set. */
int nq_bin_open(struct nq_trace_reader *r);
/* Loads the next block and returns its first event (the slow path). */
enum nq_read_status nq_bin_read(struct nq_trace_reader *r, struct nq_event *ev);
int nq_jsonl_open(struct nq_trace_reader *r);
enum nq_read_status nq_jsonl_read(struct nq_trace_reader *r, struct nq_event *ev);
void nq_jsonl_free(struct nq_trace_reader *r);

#endif /* NQ_TRACE_INTERNAL_H */
