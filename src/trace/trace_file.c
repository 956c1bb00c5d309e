// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The binary trace format, version 1 (docs/trace-format.md): a 32-byte
 * header, a key=value meta section, CRC-checked blocks of records, and an
 * end marker.  Writing an event is a memcpy into the open block; the CRC is
 * computed once per block.  Reading validates a whole block (CRC, then
 * record structure) before returning any of its events, so a damaged block
 * is the error point and every event before it is delivered.  The one
 * exception is a file cut inside its last block, which is what a killed
 * recorder leaves: its complete records are delivered (without a CRC to
 * check), then the cut is reported.
 */
#include <errno.h>
#include <stdlib.h>
#include <zlib.h>

#include "common/text.h"
#include "trace_internal.h"

#define REC_LEN (NQ_REC_HDR_LEN + NQ_EVENT_SIZE)

static uint32_t crc(const uint8_t *p, size_t len)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)len);
}

/* ---- writer ---- */

struct nq_trace_writer {
	FILE *f;
	bool own_f;
	int err; /* errno of the first failure: later writes fail fast */
	uint32_t blk_records;
	size_t blk_len; /* payload bytes in buf after the block header */
	uint64_t records;
	uint64_t blocks;
	/* Block header then payload, so a block is one fwrite. */
	uint8_t buf[NQ_BLK_HDR_LEN + NQ_BLOCK_TARGET];
};

static void put_meta_line(char *out, size_t *len, const char *key, const char *val, size_t vmax)
{
	size_t vlen = strnlen(val, vmax);

	*len += (size_t)sprintf(out + *len, "%s=", key);
	for (size_t i = 0; i < vlen; i++)
		out[(*len)++] = val[i] == '\n' ? ' ' : val[i]; /* a newline would end the line */
	out[(*len)++] = '\n';
}

/* The meta text: a few short lines and one probe line per plan point. */
static char *build_meta(const struct nq_trace_meta *m, size_t *len)
{
	char *out = malloc(1024 + NQ_PLAN_MAX_POINTS * (NQ_PLAN_LINE_MAX + 8));

	*len = 0;
	if (!out || !m)
		return out;
	put_meta_line(out, len, "kernel", m->kernel, sizeof(m->kernel));
	put_meta_line(out, len, "host", m->host, sizeof(m->host));
	put_meta_line(out, len, "flow", m->flow, sizeof(m->flow));
	put_meta_line(out, len, "isa", m->isa, sizeof(m->isa));
	for (unsigned int i = 0; i < m->plan.n && i < NQ_PLAN_MAX_POINTS; i++) {
		char line[NQ_PLAN_LINE_MAX];

		if (nq_plan_entry_format(&m->plan.pt[i], line, sizeof(line)) > 0)
			put_meta_line(out, len, "probe", line, sizeof(line));
	}
	return out;
}

static int w_put(struct nq_trace_writer *w, const void *p, size_t len)
{
	if (w->err)
		return -1;
	if (fwrite(p, 1, len, w->f) != len) {
		w->err = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

/* Writes the open block, and pushes it to the kernel: a killed recorder loses one block at most. */
static int flush_block(struct nq_trace_writer *w)
{
	size_t len = NQ_BLK_HDR_LEN + w->blk_len;

	if (!w->blk_records)
		return w->err ? -1 : 0;
	nq_put32(w->buf, NQ_BLK_MAGIC);
	nq_put32(w->buf + 4, (uint32_t)w->blk_len);
	nq_put32(w->buf + 8, w->blk_records);
	nq_put32(w->buf + 12, crc(w->buf + NQ_BLK_HDR_LEN, w->blk_len));
	w->records += w->blk_records;
	w->blocks++;
	w->blk_len = 0;
	w->blk_records = 0;
	if (w_put(w, w->buf, len))
		return -1;
	if (fflush(w->f)) {
		w->err = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

struct nq_trace_writer *nq_trace_writer_fdopen(FILE *f, const struct nq_trace_meta *meta, char *err,
					       size_t errlen)
{
	struct nq_trace_writer *w = calloc(1, sizeof(*w));
	uint8_t hdr[NQ_HDR_LEN];
	size_t mlen;
	char *mtext;

	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mtext = build_meta(meta, &mlen);
	if (!mtext) {
		free(w);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->f = f;
	memcpy(hdr, NQ_TRACE_MAGIC, 8);
	nq_put16(hdr + 8, NQ_TRACE_VERSION);
	nq_put16(hdr + 10, NQ_ABI_VERSION);
	nq_put32(hdr + 12, (uint32_t)mlen);
	nq_put64(hdr + 16, meta ? meta->created_ns : 0);
	nq_put32(hdr + 24, crc((const uint8_t *)mtext, mlen));
	nq_put32(hdr + 28, crc(hdr, 28));
	w_put(w, hdr, sizeof(hdr));
	w_put(w, mtext, mlen);
	free(mtext);
	if (!w->err && fflush(f))
		w->err = errno ? errno : EIO;
	if (w->err) {
		snprintf(err, errlen, "write error: %s", strerror(w->err));
		free(w);
		return NULL;
	}
	return w;
}

struct nq_trace_writer *nq_trace_writer_open(const char *path, const struct nq_trace_meta *meta,
					     char *err, size_t errlen)
{
	struct nq_trace_writer *w;
	bool own = strcmp(path, "-") != 0;
	FILE *f = own ? fopen(path, "wb") : stdout;

	if (!f) {
		snprintf(err, errlen, "cannot create: %s", strerror(errno));
		return NULL;
	}
	w = nq_trace_writer_fdopen(f, meta, err, errlen);
	if (!w) {
		if (own)
			fclose(f);
		return NULL;
	}
	w->own_f = own;
	return w;
}

int nq_trace_write(struct nq_trace_writer *w, const struct nq_event *ev)
{
	uint8_t *p;

	if (w->blk_len + REC_LEN > NQ_BLOCK_TARGET && flush_block(w))
		return -1;
	if (w->err)
		return -1;
	p = w->buf + NQ_BLK_HDR_LEN + w->blk_len;
	nq_put16(p, NQ_EVENT_SIZE);
	p[2] = NQ_REC_EVENT;
	p[3] = 0;
	memcpy(p + NQ_REC_HDR_LEN, ev, NQ_EVENT_SIZE);
	w->blk_len += REC_LEN;
	w->blk_records++;
	return 0;
}

int nq_trace_writer_close(struct nq_trace_writer *w, char *err, size_t errlen)
{
	uint8_t end[NQ_BLK_HDR_LEN];
	int e;

	if (!w)
		return 0;
	flush_block(w);
	nq_put32(end, NQ_END_MAGIC);
	nq_put32(end + 4, 0);
	nq_put32(end + 8, (uint32_t)w->records); /* modulo 2^32, as the reader compares */
	nq_put32(end + 12, (uint32_t)w->blocks);
	w_put(w, end, sizeof(end));
	if (!w->err && fflush(w->f))
		w->err = errno ? errno : EIO;
	if (w->own_f && fclose(w->f) && !w->err)
		w->err = errno ? errno : EIO;
	e = w->err;
	free(w);
	if (e) {
		snprintf(err, errlen, "write error: %s", strerror(e));
		return -1;
	}
	return 0;
}

/* ---- reader ---- */

/* Fills r->meta from the key=value lines; unknown keys are a newer writer's and ignored. */
static void parse_meta(struct nq_trace_reader *r, const char *p, size_t len)
{
	struct nq_trace_meta *m = &r->meta;

	for (size_t i = 0; i < len;) {
		const char *line = p + i, *nl = memchr(line, '\n', len - i);
		size_t l = nl ? (size_t)(nl - line) : len - i;
		const char *eq = memchr(line, '=', l);

		i += l + 1;
		if (!eq)
			continue;
		size_t klen = (size_t)(eq - line), vlen = l - klen - 1;
		const char *v = eq + 1;
#define KEY(k) (klen == sizeof(k) - 1 && !memcmp(line, k, klen))
		if (KEY("kernel"))
			nq_copy_utf8(m->kernel, sizeof(m->kernel), v, vlen);
		else if (KEY("host"))
			nq_copy_utf8(m->host, sizeof(m->host), v, vlen);
		else if (KEY("flow"))
			nq_copy_utf8(m->flow, sizeof(m->flow), v, vlen);
		else if (KEY("isa"))
			nq_copy_utf8(m->isa, sizeof(m->isa), v, vlen);
		else if (KEY("probe") && m->plan.n < NQ_PLAN_MAX_POINTS &&
			 !nq_plan_entry_parse(v, vlen, &m->plan.pt[m->plan.n]))
			m->plan.n++; /* a malformed point is skipped, like an unknown key */
#undef KEY
	}
}

int nq_bin_open(struct nq_trace_reader *r)
{
	struct nq_src *s = &r->src;
	size_t avail = nq_src_ensure(s, NQ_HDR_LEN);
	const uint8_t *p = nq_src_ptr(s);
	uint32_t meta_len, meta_crc;
	unsigned int v;

	if (avail < NQ_HDR_LEN) {
		nq_reader_fail(r, "offset 0: truncated file header (%zu of %u bytes)", avail,
			       NQ_HDR_LEN);
		return -1;
	}
	/* Magic and format_version are what every future version keeps in place. */
	v = nq_le16(p + 8);
	if (v != NQ_TRACE_VERSION) {
		nq_reader_fail(r, "offset 8: unsupported format version %u (this nestirq reads %d)",
			       v, NQ_TRACE_VERSION);
		return -1;
	}
	if (nq_le32(p + 28) != crc(p, 28)) {
		nq_reader_fail(r, "offset 28: header CRC mismatch (stored 0x%08x, computed 0x%08x)",
			       nq_le32(p + 28), crc(p, 28));
		return -1;
	}
	v = nq_le16(p + 10);
	if (v < NQ_ABI_VERSION_MIN || v > NQ_ABI_VERSION) {
		nq_reader_fail(
			r,
			"offset 10: unsupported event ABI version %u (this nestirq reads %d to %d)",
			v, NQ_ABI_VERSION_MIN, NQ_ABI_VERSION);
		return -1;
	}
	meta_len = nq_le32(p + 12);
	if (meta_len > NQ_META_MAX) {
		nq_reader_fail(r, "offset 12: meta length %u exceeds the 64 KiB limit", meta_len);
		return -1;
	}
	r->meta.created_ns = nq_le64(p + 16);
	meta_crc = nq_le32(p + 24);
	s->pos += NQ_HDR_LEN;

	avail = nq_src_ensure(s, meta_len);
	p = nq_src_ptr(s);
	if (avail < meta_len) {
		nq_reader_fail(r, "offset %u: truncated meta section (%zu of %u bytes)", NQ_HDR_LEN,
			       avail, meta_len);
		return -1;
	}
	if (crc(p, meta_len) != meta_crc) {
		nq_reader_fail(r, "offset %u: meta CRC mismatch (stored 0x%08x, computed 0x%08x)",
			       NQ_HDR_LEN, meta_crc, crc(p, meta_len));
		return -1;
	}
	parse_meta(r, (const char *)p, meta_len);
	s->pos += meta_len;
	return 0;
}

/* A block that passed its CRC: walk the records once so no event is returned from a bad block. */
static int check_records(struct nq_trace_reader *r, const uint8_t *p, uint32_t len, uint32_t count,
			 uint64_t off)
{
	uint32_t q = 0, n = 0;

	while (q < len) {
		uint32_t rlen;

		if (len - q < NQ_REC_HDR_LEN) {
			nq_reader_fail(
				r, "offset %llu: record overruns block (%u-byte header, %u left)",
				(unsigned long long)(off + q), NQ_REC_HDR_LEN, len - q);
			return -1;
		}
		rlen = nq_le16(p + q);
		if (rlen > len - q - NQ_REC_HDR_LEN) {
			nq_reader_fail(r, "offset %llu: record overruns block (%u bytes, %u left)",
				       (unsigned long long)(off + q), rlen,
				       len - q - NQ_REC_HDR_LEN);
			return -1;
		}
		if (p[q + 2] == NQ_REC_EVENT && rlen < NQ_EVENT_SIZE) {
			nq_reader_fail(
				r, "offset %llu: record too short (%u bytes, an event needs %d)",
				(unsigned long long)(off + q), rlen, NQ_EVENT_SIZE);
			return -1;
		}
		q += NQ_REC_HDR_LEN + rlen;
		n++;
	}
	if (n != count) {
		nq_reader_fail(
			r,
			"offset %llu: record count mismatch (block header says %u, payload has %u)",
			(unsigned long long)(off - NQ_BLK_HDR_LEN), count, n);
		return -1;
	}
	return 0;
}

static int end_marker(struct nq_trace_reader *r, const uint8_t *p, uint64_t off)
{
	struct nq_src *s = &r->src;
	uint32_t plen = nq_le32(p + 4), count = nq_le32(p + 8), blocks = nq_le32(p + 12);

	if (plen) {
		nq_reader_fail(r, "offset %llu: end marker with payload length %u",
			       (unsigned long long)off, plen);
		return -1;
	}
	if (count != (uint32_t)r->records) {
		nq_reader_fail(
			r, "offset %llu: record count mismatch (end marker says %u, file has %llu)",
			(unsigned long long)off, count, (unsigned long long)r->records);
		return -1;
	}
	if (blocks != (uint32_t)r->blocks) {
		nq_reader_fail(
			r, "offset %llu: block count mismatch (end marker says %u, file has %llu)",
			(unsigned long long)off, blocks, (unsigned long long)r->blocks);
		return -1;
	}
	s->pos += NQ_BLK_HDR_LEN;
	if (nq_src_ensure(s, 1)) {
		nq_reader_fail(r, "offset %llu: trailing data after end marker",
			       (unsigned long long)nq_src_off(s));
		return -1;
	}
	r->state = NQ_RS_EOF;
	return 0;
}

/* The complete records at the start of a cut payload; their byte length. */
static uint32_t whole_records(const uint8_t *p, size_t have, uint32_t *n)
{
	uint32_t q = 0;

	*n = 0;
	while (have - q >= NQ_REC_HDR_LEN) {
		uint32_t rlen = nq_le16(p + q);

		if (rlen > have - q - NQ_REC_HDR_LEN ||
		    (p[q + 2] == NQ_REC_EVENT && rlen < NQ_EVENT_SIZE))
			break;
		q += NQ_REC_HDR_LEN + rlen;
		(*n)++;
	}
	return q;
}

/* A payload cut by the end of the file: deliver what is whole, fail after. */
static int salvage_cut_block(struct nq_trace_reader *r, uint64_t off, size_t have, uint32_t plen)
{
	struct nq_src *s = &r->src;
	uint32_t n, len = whole_records(nq_src_ptr(s) + NQ_BLK_HDR_LEN, have, &n);

	if (!n) {
		nq_reader_fail(r, "offset %llu: truncated block payload (%zu of %u bytes)",
			       (unsigned long long)off, have, plen);
		return -1;
	}
	snprintf(r->cut_err, sizeof(r->cut_err),
		 "offset %llu: truncated block payload (%zu of %u bytes); its %u complete records "
		 "were read without a CRC",
		 (unsigned long long)off, have, plen, n);
	r->cut_pending = true;
	r->records += n;
	r->blk_cur = s->pos + NQ_BLK_HDR_LEN;
	r->blk_end = r->blk_cur + len;
	s->pos = r->blk_end;
	return 1;
}

/* Loads and validates the next block.  1: records ready; 0: clean end; -1: error. */
static int next_block(struct nq_trace_reader *r)
{
	struct nq_src *s = &r->src;
	uint64_t off = nq_src_off(s);
	size_t avail;
	const uint8_t *p;
	uint32_t magic, plen, count, bcrc;

	if (r->cut_pending) {
		nq_reader_fail(r, "%s", r->cut_err);
		return -1;
	}
	avail = nq_src_ensure(s, NQ_BLK_HDR_LEN);
	p = nq_src_ptr(s);

	if (avail < NQ_BLK_HDR_LEN) {
		if (s->io_errno)
			nq_reader_fail(r, "offset %llu: read error: %s",
				       (unsigned long long)(off + avail), strerror(s->io_errno));
		else if (!avail)
			nq_reader_fail(r, "offset %llu: truncated: no end marker",
				       (unsigned long long)off);
		else
			nq_reader_fail(r, "offset %llu: truncated block header (%zu of %u bytes)",
				       (unsigned long long)off, avail, NQ_BLK_HDR_LEN);
		return -1;
	}
	magic = nq_le32(p);
	if (magic == NQ_END_MAGIC)
		return end_marker(r, p, off);
	if (magic != NQ_BLK_MAGIC) {
		nq_reader_fail(r, "offset %llu: bad block magic 0x%08x (expected QBK1 or END1)",
			       (unsigned long long)off, magic);
		return -1;
	}
	plen = nq_le32(p + 4);
	count = nq_le32(p + 8);
	bcrc = nq_le32(p + 12);
	if (plen > NQ_PAYLOAD_MAX) {
		nq_reader_fail(r, "offset %llu: block payload length %u exceeds the 1 MiB limit",
			       (unsigned long long)off, plen);
		return -1;
	}
	avail = nq_src_ensure(s, NQ_BLK_HDR_LEN + (size_t)plen);
	p = nq_src_ptr(s);
	if (avail < NQ_BLK_HDR_LEN + (size_t)plen) {
		if (s->io_errno)
			nq_reader_fail(r, "offset %llu: read error: %s",
				       (unsigned long long)(off + avail), strerror(s->io_errno));
		else
			return salvage_cut_block(r, off, avail - NQ_BLK_HDR_LEN, plen);
		return -1;
	}
	if (crc(p + NQ_BLK_HDR_LEN, plen) != bcrc) {
		nq_reader_fail(r,
			       "offset %llu: block CRC mismatch (stored 0x%08x, computed 0x%08x)",
			       (unsigned long long)off, bcrc, crc(p + NQ_BLK_HDR_LEN, plen));
		return -1;
	}
	if (check_records(r, p + NQ_BLK_HDR_LEN, plen, count, off + NQ_BLK_HDR_LEN))
		return -1;
	r->blocks++;
	r->records += count;
	/* Consumed now; the bytes stay in the window until the next ensure. */
	r->blk_cur = s->pos + NQ_BLK_HDR_LEN;
	r->blk_end = r->blk_cur + plen;
	s->pos = r->blk_end;
	return 1;
}

enum nq_read_status nq_bin_read(struct nq_trace_reader *r, struct nq_event *ev)
{
	for (;;) {
		int rc = next_block(r);

		if (rc <= 0)
			return rc < 0 ? NQ_READ_ERROR : NQ_READ_EOF;
		if (nq_bin_next_in_block(r, ev))
			return NQ_READ_EVENT;
	}
}
