// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Trace files: binary and JSON-lines round trips, damage at every byte,
 * CRC errors at the right offset, foreign input, forward compatibility and
 * JSON-lines diagnostics.  Damaged files are built here by an independent
 * encoder of the documented format, so the reader is checked against the
 * spec (docs/trace-format.md) and not only against our own writer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "nestirq/trace.h"

#define ERRLEN NQ_TRACE_ERR_LEN

/* ---- deterministic events of every kind ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * Event i: kind 1 + i % 15 (every named kind) with random field values and
 * ABI 2 trailers, canonical in the sense
 * the JSON form can express (flags: known bits only; ctls bits imply KNOWN).
 * Enum values past their names and extreme integers are included on purpose.
 */
static void make_event(struct nq_event *ev, unsigned int i)
{
	uint64_t r = rnd();

	memset(ev, 0, sizeof(*ev));
	ev->h.ts_ns = i % 50 ? 1000000000ull + i * 37ull : rnd();
	ev->h.tgid = (uint32_t)rnd();
	ev->h.tid = (uint32_t)rnd();
	ev->h.vcpu_id = i % 7 ? (uint32_t)(rnd() % 64) : NQ_VCPU_UNKNOWN;
	ev->h.cpu = (uint16_t)rnd();
	ev->h.kind = (uint8_t)(1 + i % (NQ_EV__MAX - 1));
	ev->h.isa = (uint8_t)(i % 4); /* 3: no name, written as an integer */
	if (i % 3) {
		ev->vm_id = (uint32_t)rnd();
		ev->drop_seq = i % 5 ? (uint32_t)rnd() : 0;
	}
	switch (ev->h.kind) {
	case NQ_EV_IRQ_ACCEPT:
		ev->accept.apicid = i % 3 ? ev->h.vcpu_id : (uint32_t)r;
		ev->accept.delivery_mode = (uint16_t)(r >> 32);
		ev->accept.trigger_mode = (uint16_t)(r >> 48);
		ev->accept.vector = (uint8_t)(r >> 8);
		ev->accept.flags = (uint8_t)(r >> 56) & NQ_ACCEPT_F_EXACT;
		break;
	case NQ_EV_CHECK_ENTER:
		ev->check_enter.posted_intr_nv = i % 5 ? 0xffff : (uint16_t)r;
		ev->check_enter.vmcs = (uint8_t)(r % 5);
		ev->check_enter.guest_mode = (uint8_t)(r >> 8);
		ev->check_enter.ctls =
			r & 0x10000 ? (uint8_t)(((r >> 20) & 0xe) | NQ_CTL_KNOWN) : 0;
		ev->check_enter.pi_pending = (uint8_t)(r >> 24 & 1);
		break;
	case NQ_EV_CHECK_EXIT:
		ev->check_exit.ret = i % 4 ? -16 : (int32_t)(uint32_t)r;
		break;
	case NQ_EV_PEEK:
		ev->peek.vector = i % 3 ? (int32_t)(r % 257) - 1 : (int32_t)(uint32_t)r;
		ev->peek.vmcs = (uint8_t)(r >> 40) % 4;
		ev->peek.flags = (uint8_t)(r >> 48) & (NQ_PEEK_F_IN_ACK | NQ_PEEK_F_DECIDES);
		break;
	case NQ_EV_ACK:
		ev->ack.vector = i % 5 ? (int32_t)(r % 256) : INT32_MIN;
		ev->ack.vmcs = (uint8_t)(r >> 40) % 4;
		ev->ack.api = (uint8_t)(r >> 44) % 4;
		ev->ack.guest_mode = (uint8_t)(r >> 50) & 1;
		break;
	case NQ_EV_HW_NESTED_VMEXIT:
		ev->hw_exit.info1 = rnd();
		ev->hw_exit.info2 = i % 2 ? UINT64_MAX : 0;
		ev->hw_exit.reason = (uint32_t)r;
		ev->hw_exit.intr_info = 0x80000031u;
		ev->hw_exit.error_code = (uint32_t)(r >> 32);
		break;
	case NQ_EV_VMEXIT_INJECT:
		ev->inject.exit_code = rnd();
		ev->inject.info1 = rnd();
		ev->inject.info2 = rnd();
		ev->inject.exit_int_info = (uint32_t)r;
		ev->inject.exit_int_info_err = (uint32_t)(r >> 32);
		break;
	case NQ_EV_SVI_UPDATE:
		ev->svi.max_isr = i % 3 ? -1 : (int32_t)(r % 256);
		ev->svi.vmcs = (uint8_t)(r >> 8) % 4;
		ev->svi.outcome = (uint8_t)(r >> 16) % 3;
		ev->svi.origin = (uint8_t)(r >> 24) % 3;
		ev->svi.guest_mode = (uint8_t)(r >> 32) & 1;
		ev->svi.flags = (uint8_t)(r >> 40) & NQ_SVI_F_AWAIT_RETURN;
		break;
	case NQ_EV_SVI_RETURN:
		ev->svi_ret.vmcs = (uint8_t)(r % 5);
		ev->svi_ret.update_pending = i % 4 ? (uint8_t)(r >> 8) & 1 : NQ_BOOL_UNKNOWN;
		ev->svi_ret.guest_mode = (uint8_t)(r >> 16) & 1;
		ev->svi_ret.loads01 = i % 5 ? (uint8_t)(r >> 24) % 255 : NQ_BOOL_UNKNOWN;
		break;
	case NQ_EV_EXTINT:
		ev->extint.vector = i % 2 ? -1 : (int32_t)(r % 256);
		break;
	case NQ_EV_VM_GONE:
		ev->vm_gone.tgid = ev->h.tgid;
		break;
	case NQ_EV_VMCS_SWITCH:
		ev->vmcs_switch.to = (uint8_t)(r % 4);
		ev->vmcs_switch.guest_mode = (uint8_t)(r >> 8) & 1;
		ev->vmcs_switch.apicv_active = i % 3 ? (uint8_t)(r >> 16) & 1 : NQ_BOOL_UNKNOWN;
		break;
	case NQ_EV_NESTED_PI:
		ev->pi.posted_intr_nv = (uint16_t)r;
		ev->pi.pi_enabled = (uint8_t)(r >> 16) & 1;
		ev->pi.pi_pending = (uint8_t)(r >> 24);
		break;
	case NQ_EV_SVM_INTR_EXIT:
		ev->svm_intr.rip = rnd();
		break;
	case NQ_EV_LOST:
		ev->lost.count = r;
		ev->lost.source = (uint8_t)(r >> 8) % 3; /* 2: no name */
		break;
	}
}

static void fill_meta(struct nq_trace_meta *m)
{
	memset(m, 0, sizeof(*m));
	strcpy(m->kernel, "6.12.0-rc1 \"custom\"");
	strcpy(m->host, "h\xc3\xb6st\\1");
	strcpy(m->flow, "6.12+");
	strcpy(m->isa, "vmx");
	m->created_ns = 1732800000123456789ull;
	nq_plan_add(&m->plan, "kvm_apic_accept_irq", NQ_PS_ATTACHED, "tracepoint", "");
	nq_plan_add(&m->plan, "vmx_check_nested_events", NQ_PS_FAILED, "fentry", "-EINVAL");
	nq_plan_add(&m->plan, "kvm_get_apic_interrupt", NQ_PS_UNAVAILABLE, "kprobe",
		    "not in this kernel: 6.12+ flow");
}

static int plan_equal(const struct nq_plan_data *a, const struct nq_plan_data *b)
{
	if (a->n != b->n)
		return 0;
	for (unsigned int i = 0; i < a->n; i++)
		if (strcmp(a->pt[i].name, b->pt[i].name) || a->pt[i].status != b->pt[i].status ||
		    strcmp(a->pt[i].variant, b->pt[i].variant) ||
		    strcmp(a->pt[i].reason, b->pt[i].reason))
			return 0;
	return 1;
}

static int meta_equal(const struct nq_trace_meta *a, const struct nq_trace_meta *b)
{
	return !strcmp(a->kernel, b->kernel) && !strcmp(a->host, b->host) &&
	       !strcmp(a->flow, b->flow) && !strcmp(a->isa, b->isa) &&
	       a->created_ns == b->created_ns && plan_equal(&a->plan, &b->plan);
}

/* ---- in-memory output of the writer ---- */

struct membuf {
	char *buf;
	size_t len;
};

static int write_binary(struct membuf *mb, const struct nq_trace_meta *m, unsigned int n)
{
	char err[ERRLEN];
	FILE *f = open_memstream(&mb->buf, &mb->len);
	struct nq_trace_writer *w = f ? nq_trace_writer_fdopen(f, m, err, sizeof(err)) : NULL;
	struct nq_event ev;

	if (!w)
		return -1;
	rng = 1;
	for (unsigned int i = 0; i < n; i++) {
		make_event(&ev, i);
		if (nq_trace_write(w, &ev))
			return -1;
	}
	if (nq_trace_writer_close(w, err, sizeof(err)))
		return -1;
	return fclose(f);
}

/* Reads every event; returns the count and leaves the final status in *st. */
static unsigned int drain(struct nq_trace_reader *r, enum nq_read_status *st)
{
	struct nq_event ev;
	unsigned int n = 0;

	while ((*st = nq_trace_read(r, &ev)) == NQ_READ_EVENT)
		n++;
	return n;
}

/* ---- an independent encoder of the binary format ---- */

struct bld {
	uint8_t buf[8192];
	size_t len;
	size_t blk; /* offset of the open block's header */
	uint32_t blk_records;
	uint32_t records, blocks;
	size_t block_end[16]; /* offset one past each block */
	unsigned int block_events[16];
};

static uint32_t zcrc(const void *p, size_t n)
{
	return (uint32_t)crc32(0, p, (uInt)n);
}

static void put_le(struct bld *b, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		b->buf[b->len++] = (uint8_t)(v >> (8 * i));
}

static void set_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void b_header(struct bld *b, const char *meta)
{
	size_t ml = strlen(meta);

	memset(b, 0, sizeof(*b));
	memcpy(b->buf, "NESTIRQT", 8);
	b->len = 8;
	put_le(b, 1, 2);
	put_le(b, NQ_ABI_VERSION, 2);
	put_le(b, ml, 4);
	put_le(b, 42, 8);
	put_le(b, zcrc(meta, ml), 4);
	put_le(b, zcrc(b->buf, 28), 4);
	memcpy(b->buf + b->len, meta, ml);
	b->len += ml;
}

static void b_begin(struct bld *b)
{
	b->blk = b->len;
	b->blk_records = 0;
	b->len += 16;
}

static void b_record(struct bld *b, uint8_t type, const void *data, uint16_t len)
{
	put_le(b, len, 2);
	b->buf[b->len++] = type;
	b->buf[b->len++] = 0;
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->blk_records++;
	if (type == 1 && len >= 64)
		b->block_events[b->blocks]++;
}

static void b_event(struct bld *b, unsigned int i)
{
	struct nq_event ev;

	make_event(&ev, i);
	b_record(b, 1, &ev, sizeof(ev));
}

static void b_finish(struct bld *b)
{
	uint8_t *h = b->buf + b->blk;
	uint32_t plen = (uint32_t)(b->len - b->blk - 16);

	set_le32(h, 0x314b4251u);
	set_le32(h + 4, plen);
	set_le32(h + 8, b->blk_records);
	set_le32(h + 12, zcrc(h + 16, plen));
	b->records += b->blk_records;
	b->block_end[b->blocks++] = b->len;
}

static void b_end(struct bld *b)
{
	put_le(b, 0x31444e45u, 4);
	put_le(b, 0, 4);
	put_le(b, b->records, 4);
	put_le(b, b->blocks, 4);
}

/* Three small blocks (3, 1 and 2 events), so every byte can be cut. */
static void b_small(struct bld *b)
{
	unsigned int ev = 0;
	static const unsigned int per_block[] = {3, 1, 2};

	rng = 7;
	b_header(b, "kernel=6.12.0\nhost=h\nflow=6.12+\nisa=vmx\nprobe=a\tattached\tx\n");
	for (unsigned int k = 0; k < 3; k++) {
		b_begin(b);
		for (unsigned int j = 0; j < per_block[k]; j++)
			b_event(b, ev++);
		b_finish(b);
	}
	b_end(b);
}

static struct nq_trace_reader *open_mem(const void *p, size_t n, char *err)
{
	return nq_trace_reader_open_mem(p, n, err, ERRLEN);
}

/* ---- binary ---- */

static void test_binary_roundtrip(void)
{
	struct nq_trace_meta m;
	struct membuf mb = {0};
	char err[ERRLEN];
	struct nq_trace_reader *r;
	struct nq_event ev, want;
	enum nq_read_status st;
	const unsigned int n = 5000; /* 68 bytes a record: six 64 KiB blocks */

	fill_meta(&m);
	CHECK(write_binary(&mb, &m, n) == 0);
	CHECK(mb.len > 5 * 65536);
	r = open_mem(mb.buf, mb.len, err);
	CHECK(r);
	CHECK_EQ(nq_trace_reader_format(r), NQ_FMT_BINARY);
	CHECK(meta_equal(nq_trace_reader_meta(r), &m));
	rng = 1;
	for (unsigned int i = 0; i < n; i++) {
		make_event(&want, i);
		st = nq_trace_read(r, &ev);
		CHECK_EQ(st, NQ_READ_EVENT);
		CHECK(!memcmp(&ev, &want, sizeof(ev)));
	}
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EOF);
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EOF);
	CHECK_EQ(nq_trace_reader_skipped(r), 0);
	nq_trace_reader_close(r);
	free(mb.buf);
}

/* The file path: a window smaller than the file, so blocks straddle refills. */
static void test_binary_file_path(void)
{
	char path[] = "/tmp/nq-test-trace-XXXXXX", err[ERRLEN];
	struct nq_trace_meta m;
	struct nq_trace_writer *w;
	struct nq_trace_reader *r;
	struct nq_event ev, want;
	int fd = mkstemp(path);
	const unsigned int n = 20000;

	CHECK(fd >= 0);
	close(fd);
	fill_meta(&m);
	w = nq_trace_writer_open(path, &m, err, sizeof(err));
	CHECK(w);
	rng = 3;
	for (unsigned int i = 0; i < n; i++) {
		make_event(&ev, i);
		CHECK_EQ(nq_trace_write(w, &ev), 0);
	}
	CHECK_EQ(nq_trace_writer_close(w, err, sizeof(err)), 0);
	r = nq_trace_reader_open(path, err, sizeof(err));
	unlink(path);
	CHECK(r);
	rng = 3;
	for (unsigned int i = 0; i < n; i++) {
		make_event(&want, i);
		CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EVENT);
		CHECK(!memcmp(&ev, &want, sizeof(ev)));
	}
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EOF);
	nq_trace_reader_close(r);
}

static void test_binary_empty_trace(void)
{
	struct membuf mb = {0};
	char err[ERRLEN];
	struct nq_trace_reader *r;
	struct nq_event ev;

	CHECK(write_binary(&mb, NULL, 0) == 0);
	CHECK_EQ(mb.len, 32 + 16); /* no meta: the header and the end marker */
	r = open_mem(mb.buf, mb.len, err);
	CHECK(r);
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EOF);
	nq_trace_reader_close(r);
	free(mb.buf);
}

/* Whole records (4-byte header + payload) in [p, p + have): what a cut block still yields. */
static unsigned int whole_in(const uint8_t *p, size_t have)
{
	unsigned int n = 0;
	size_t q = 0;

	while (have - q >= 4 && (size_t)(p[q] | p[q + 1] << 8) <= have - q - 4) {
		size_t rlen = (size_t)(p[q] | p[q + 1] << 8);

		if (p[q + 2] == 1 && rlen < NQ_EVENT_SIZE)
			break;
		n += p[q + 2] == 1; /* unknown record types are skipped, not returned */
		q += 4 + rlen;
	}
	return n;
}

/*
 * The expected error for a file cut to off bytes.  A cut inside a block's
 * payload still yields that block's complete records (a killed recorder).
 */
static void expected_cut(const struct bld *b, size_t meta_end, size_t off, unsigned int *events,
			 char *want, size_t wlen)
{
	size_t start = meta_end;

	*events = 0;
	for (unsigned int k = 0; k < b->blocks; k++) {
		if (off < b->block_end[k]) {
			if (off == start)
				snprintf(want, wlen, "offset %zu: truncated: no end marker", off);
			else if (off < start + 16)
				snprintf(want, wlen, "offset %zu: truncated block header", start);
			else {
				snprintf(want, wlen, "offset %zu: truncated block payload", start);
				*events += whole_in(b->buf + start + 16, off - start - 16);
			}
			return;
		}
		*events += b->block_events[k];
		start = b->block_end[k];
	}
	if (off == start)
		snprintf(want, wlen, "offset %zu: truncated: no end marker", off);
	else
		snprintf(want, wlen, "offset %zu: truncated block header", start);
}

static void test_truncation_every_offset(void)
{
	static struct bld b;
	char err[ERRLEN], want[ERRLEN];
	size_t meta_end;
	unsigned int events;
	enum nq_read_status st;

	b_small(&b);
	meta_end = 32 + b.buf[12]; /* meta_len < 256 here */
	for (size_t off = 0; off < b.len; off++) {
		/* A private copy: ASan then catches any read past the cut. */
		uint8_t *cut = malloc(off ? off : 1);
		struct nq_trace_reader *r;

		memcpy(cut, b.buf, off);
		r = open_mem(cut, off, err);
		if (off < 32) {
			CHECK(!r);
			CHECK_STR_CONTAINS(err, off ? "offset 0: truncated file header"
						    : "offset 0: not a nestirq trace");
		} else if (off < meta_end) {
			CHECK(!r);
			CHECK_STR_CONTAINS(err, "offset 32: truncated meta section");
		} else {
			CHECK(r);
			expected_cut(&b, meta_end, off, &events, want, sizeof(want));
			CHECK_EQ(drain(r, &st), events);
			CHECK_EQ(st, NQ_READ_ERROR);
			CHECK_STR_CONTAINS(nq_trace_reader_error(r), want);
			/* The error sticks. */
			CHECK_EQ(drain(r, &st), 0);
			CHECK_EQ(st, NQ_READ_ERROR);
			nq_trace_reader_close(r);
		}
		free(cut);
	}
	{
		struct nq_trace_reader *r = open_mem(b.buf, b.len, err);

		CHECK(r);
		CHECK_EQ(drain(r, &st), 6);
		CHECK_EQ(st, NQ_READ_EOF);
		nq_trace_reader_close(r);
	}
}

/* Offsets of the block headers of a writer-produced file. */
static unsigned int block_offsets(const struct membuf *mb, size_t *offs, unsigned int max)
{
	const uint8_t *p = (const uint8_t *)mb->buf;
	size_t off = 32 + (p[12] | p[13] << 8);
	unsigned int n = 0;

	while (off + 16 <= mb->len && n < max) {
		uint32_t plen = p[off + 4] | p[off + 5] << 8 | (uint32_t)p[off + 6] << 16;

		offs[n++] = off;
		off += 16 + plen;
	}
	return n;
}

static void test_truncation_writer_file(void)
{
	struct membuf mb = {0};
	char err[ERRLEN];
	size_t offs[16];
	unsigned int nb;
	enum nq_read_status st;

	CHECK(write_binary(&mb, NULL, 3000) == 0);
	nb = block_offsets(&mb, offs, 16);
	CHECK_EQ(nb, 5); /* four data blocks (963 records each but the last) and the end */
	for (size_t off = offs[0]; off < mb.len; off += 509) {
		struct nq_trace_reader *r = open_mem(mb.buf, off, err);
		unsigned int complete = 0;

		CHECK(r);
		for (unsigned int k = 1; k < nb; k++)
			if (offs[k] <= off)
				complete = k;
		/* ... plus the whole 68-byte records of the block the cut falls in */
		if (off > offs[complete] + 16 && complete < nb - 1)
			complete =
				complete * 963 + (unsigned int)((off - offs[complete] - 16) / 68);
		else
			complete *= 963;
		CHECK_EQ(drain(r, &st), complete);
		CHECK_EQ(st, NQ_READ_ERROR);
		CHECK_STR_CONTAINS(nq_trace_reader_error(r), "truncated");
		nq_trace_reader_close(r);
	}
	free(mb.buf);
}

static void test_bitflip_each_block(void)
{
	struct nq_trace_meta m;
	struct membuf mb = {0};
	char err[ERRLEN], want[ERRLEN];
	size_t offs[16];
	unsigned int nb;
	enum nq_read_status st;
	struct nq_trace_reader *r;

	fill_meta(&m);
	CHECK(write_binary(&mb, &m, 5000) == 0);
	nb = block_offsets(&mb, offs, 16);
	CHECK_EQ(nb, 7);
	for (unsigned int k = 0; k + 1 < nb; k++) {
		size_t at = offs[k] + 16 + (offs[k + 1] - offs[k] - 16) / 2;

		mb.buf[at] ^= 0x10;
		r = open_mem(mb.buf, mb.len, err);
		CHECK(r);
		CHECK_EQ(drain(r, &st), k * 963);
		CHECK_EQ(st, NQ_READ_ERROR);
		snprintf(want, sizeof(want), "offset %zu: block CRC mismatch", offs[k]);
		CHECK_STR_CONTAINS(nq_trace_reader_error(r), want);
		nq_trace_reader_close(r);
		mb.buf[at] ^= 0x10;
	}
	/* The header and the meta have their own CRCs. */
	mb.buf[17] ^= 1;
	CHECK(!open_mem(mb.buf, mb.len, err));
	CHECK_STR_CONTAINS(err, "offset 28: header CRC mismatch");
	mb.buf[17] ^= 1;
	mb.buf[34] ^= 1;
	CHECK(!open_mem(mb.buf, mb.len, err));
	CHECK_STR_CONTAINS(err, "offset 32: meta CRC mismatch");
	mb.buf[34] ^= 1;
	mb.buf[8] = 2;
	CHECK(!open_mem(mb.buf, mb.len, err));
	CHECK_STR_CONTAINS(err, "offset 8: unsupported format version 2");
	free(mb.buf);
}

static void test_foreign_input(void)
{
	static const uint8_t elf[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	char err[ERRLEN];

	CHECK(!open_mem(elf, sizeof(elf), err));
	CHECK_STR_CONTAINS(err, "offset 0: not a nestirq trace (bad magic 7f454c4602010100");
	CHECK(!open_mem("hello", 5, err));
	CHECK_STR_CONTAINS(err, "offset 0: not a nestirq trace (bad magic 68656c6c6f");
	CHECK(!open_mem("", 0, err));
	CHECK_STR_CONTAINS(err, "offset 0: not a nestirq trace (empty input)");
	CHECK(!nq_trace_reader_open("/nonexistent/nq-trace", err, sizeof(err)));
	CHECK_STR_CONTAINS(err, "cannot open: No such file or directory");
}

static void test_future_records(void)
{
	static struct bld b;
	uint8_t longer[80], odd[10] = {1, 2, 3};
	struct nq_event ev, want;
	char err[ERRLEN];
	struct nq_trace_reader *r;

	rng = 11;
	make_event(&want, 4);
	memcpy(longer, &want, 64);
	memset(longer + 64, 0xee, 16);
	b_header(&b, "kernel=k\nfuture_key=whatever\nprobe=p\tattached\tr\nprobe=bad\n");
	b_begin(&b);
	b_record(&b, 1, longer, sizeof(longer)); /* a newer, longer event */
	b_record(&b, 7, odd, sizeof(odd));	 /* a record type we do not know */
	b_record(&b, 9, odd, 0);
	b_record(&b, 1, &want, 64);
	b_finish(&b);
	b_end(&b);
	r = open_mem(b.buf, b.len, err);
	CHECK(r);
	CHECK(!strcmp(nq_trace_reader_meta(r)->kernel, "k"));
	/* A malformed probe line is skipped like an unknown key. */
	CHECK_EQ(nq_trace_reader_meta(r)->plan.n, 1);
	CHECK(!strcmp(nq_trace_reader_meta(r)->plan.pt[0].variant, "r"));
	CHECK_EQ(nq_trace_reader_meta(r)->created_ns, 42);
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EVENT);
	CHECK(!memcmp(&ev, &want, sizeof(ev)));
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EVENT);
	CHECK(!memcmp(&ev, &want, sizeof(ev)));
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EOF);
	CHECK_EQ(nq_trace_reader_skipped(r), 2);
	nq_trace_reader_close(r);
}

/* One hand-built file with the given damage; checks the error and the events before it. */
static void expect_damage(struct bld *b, unsigned int events, const char *want)
{
	char err[ERRLEN];
	enum nq_read_status st;
	struct nq_trace_reader *r = open_mem(b->buf, b->len, err);

	CHECK(r);
	CHECK_EQ(drain(r, &st), events);
	CHECK_EQ(st, NQ_READ_ERROR);
	CHECK_STR_CONTAINS(nq_trace_reader_error(r), want);
	nq_trace_reader_close(r);
}

static void test_structural_damage(void)
{
	static struct bld b;
	char want[ERRLEN];
	uint8_t short_ev[63] = {0};
	size_t at;

	/* A record shorter than an event, in a CRC-valid block. */
	b_header(&b, "");
	b_begin(&b);
	b_event(&b, 0);
	b_finish(&b);
	b_begin(&b);
	b_event(&b, 1);
	at = b.len;
	b_record(&b, 1, short_ev, sizeof(short_ev));
	b_finish(&b);
	b_end(&b);
	snprintf(want, sizeof(want), "offset %zu: record too short (63 bytes", at);
	expect_damage(&b, 1, want);

	/* A record longer than what is left of its block. */
	b_header(&b, "");
	b_begin(&b);
	b_event(&b, 0);
	at = b.len;
	b_event(&b, 1);
	b.buf[at] = 65; /* record_len 65: one byte past the payload */
	b_finish(&b);
	b_end(&b);
	snprintf(want, sizeof(want), "offset %zu: record overruns block", at);
	expect_damage(&b, 0, want);

	/* A block header whose count disagrees with its records. */
	b_header(&b, "");
	b_begin(&b);
	b_event(&b, 0);
	b_finish(&b);
	at = b.len;
	b_begin(&b);
	b_event(&b, 1);
	b.blk_records = 2;
	b_finish(&b);
	b_end(&b);
	snprintf(want, sizeof(want), "offset %zu: record count mismatch (block header says 2", at);
	expect_damage(&b, 1, want);

	/* The end marker's totals. */
	b_header(&b, "");
	b_begin(&b);
	b_event(&b, 0);
	b_finish(&b);
	at = b.len;
	b.records = 5;
	b_end(&b);
	snprintf(want, sizeof(want), "offset %zu: record count mismatch (end marker says 5", at);
	expect_damage(&b, 1, want);

	b_header(&b, "");
	b_begin(&b);
	b_event(&b, 0);
	b_finish(&b);
	at = b.len;
	b.blocks = 3;
	b_end(&b);
	snprintf(want, sizeof(want), "offset %zu: block count mismatch (end marker says 3", at);
	expect_damage(&b, 1, want);

	/* Bytes after the end marker. */
	b_header(&b, "");
	b_begin(&b);
	b_event(&b, 0);
	b_finish(&b);
	b_end(&b);
	at = b.len;
	b.buf[b.len++] = 0;
	snprintf(want, sizeof(want), "offset %zu: trailing data after end marker", at);
	expect_damage(&b, 1, want);

	/* A bad block magic, and a payload length past the cap. */
	b_header(&b, "");
	at = b.len;
	b_begin(&b);
	b_event(&b, 0);
	b_finish(&b);
	b_end(&b);
	b.buf[at] = 'X';
	snprintf(want, sizeof(want), "offset %zu: bad block magic", at);
	expect_damage(&b, 0, want);
	b.buf[at] = 'Q';
	set_le32(b.buf + at + 4, (1u << 20) + 1);
	snprintf(want, sizeof(want), "offset %zu: block payload length 1048577 exceeds", at);
	expect_damage(&b, 0, want);
}

static void test_writer_error(void)
{
	char err[ERRLEN];
	struct nq_trace_writer *w;
	struct nq_event ev;
	int rc = 0;

	if (access("/dev/full", W_OK))
		SKIP("no /dev/full");
	w = nq_trace_writer_open("/dev/full", NULL, err, sizeof(err));
	if (w) {
		make_event(&ev, 0);
		for (unsigned int i = 0; i < 3000; i++)
			rc |= nq_trace_write(w, &ev);
		CHECK(rc);
		CHECK_EQ(nq_trace_writer_close(w, err, sizeof(err)), -1);
	}
	CHECK_STR_CONTAINS(err, "write error: No space left on device");
}

/* ---- JSON lines ---- */

/* Every kind, every enum past its names, unknown vCPU and ISA, and numbered kinds. */
static void test_jsonl_roundtrip(void)
{
	static char doc[1 << 20];
	char line[1024], again[1024], err[ERRLEN];
	size_t len = 0;
	struct nq_event evs[600], ev;
	struct nq_trace_reader *r;
	int n;

	rng = 5;
	for (unsigned int i = 0; i < 600; i++) {
		make_event(&evs[i], i);
		if (i % 97 == 0) {
			/* A kind this version does not name: carried as raw bytes. */
			evs[i].h.kind = i % 2 ? 200 : 0;
			for (unsigned int k = 0; k < sizeof(evs[i].raw); k++)
				evs[i].raw[k] = (uint8_t)rnd();
		}
		n = nq_jsonl_format_event(&evs[i], line, sizeof(line));
		CHECK(n > 0);
		CHECK_EQ(strlen(line), n);
		memcpy(doc + len, line, (size_t)n);
		len += (size_t)n;
		doc[len++] = '\n';
	}
	r = open_mem(doc, len, err);
	CHECK(r);
	CHECK_EQ(nq_trace_reader_format(r), NQ_FMT_JSONL);
	for (unsigned int i = 0; i < 600; i++) {
		CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EVENT);
		if (memcmp(&ev, &evs[i], sizeof(ev))) {
			nq_jsonl_format_event(&evs[i], line, sizeof(line));
			nq_jsonl_format_event(&ev, again, sizeof(again));
			printf("  event %u differs:\n  %s\n  %s\n", i, line, again);
		}
		CHECK(!memcmp(&ev, &evs[i], sizeof(ev)));
	}
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EOF);
	nq_trace_reader_close(r);

	/* Too small a buffer is -1, never a cut line. */
	CHECK_EQ(nq_jsonl_format_event(&evs[1], line, 20), -1);
	CHECK_EQ(nq_jsonl_format_event(&evs[1], line, 0), -1);
}

static void test_jsonl_meta_roundtrip(void)
{
	struct nq_trace_meta m;
	char buf[32768], err[ERRLEN];
	struct nq_trace_reader *r;
	struct nq_event ev;
	int n;

	fill_meta(&m);
	n = nq_jsonl_format_meta(&m, buf, sizeof(buf) - 1);
	CHECK(n > 0);
	buf[n] = '\n';
	r = open_mem(buf, (size_t)n + 1, err);
	CHECK(r);
	CHECK(meta_equal(nq_trace_reader_meta(r), &m));
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EOF);
	nq_trace_reader_close(r);
	CHECK_STR_CONTAINS(buf, "\"kernel\":\"6.12.0-rc1 \\\"custom\\\"\"");
	CHECK_STR_CONTAINS(buf, "\"plan\":[{\"name\":\"kvm_apic_accept_irq\",\"status\":"
				"\"attached\",\"variant\":\"tracepoint\",\"reason\":\"\"},");
}

/* Hand-written scenarios: comments, CRLF, hex strings, defaults. */
static void test_jsonl_handwritten(void)
{
	static const char text[] =
		"# a scenario\n"
		"\n"
		"{\"nestirq_trace\":1,\"kernel\":\"6.12.0\",\"flow\":\"6.12+\",\"plan\":[]}\r\n"
		"   # indented comment\n"
		"{\"ts\":10,\"vm\":100,\"vcpu\":1,\"isa\":\"vmx\",\"kind\":\"irq_accept\","
		"\"vector\":49}\n"
		"{ \"ts\" : 11 , \"kind\" : \"check_enter\", \"vcpu\": null, \"ctls\": "
		"{\"ack_on_exit\": true} }\n"
		"{\"ts\":12,\"kind\":\"hw_nested_vmexit\",\"intr_info\":\"0x80000031\","
		"\"info1\":\"0xFFFFFFFFFFFFFFFF\",\"reason\":1}\n"
		"{\"ts\":13,\"kind\":\"peek\",\"vector\":-1,\"in_ack\":true}\n"
		"{\"ts\":18446744073709551615,\"kind\":\"lost\",\"count\":3}";
	char err[ERRLEN];
	struct nq_trace_reader *r = open_mem(text, sizeof(text) - 1, err);
	struct nq_event ev;

	CHECK(r);
	CHECK(!strcmp(nq_trace_reader_meta(r)->kernel, "6.12.0"));
	CHECK(!strcmp(nq_trace_reader_meta(r)->flow, "6.12+"));
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EVENT);
	CHECK_EQ(ev.h.kind, NQ_EV_IRQ_ACCEPT);
	CHECK_EQ(ev.accept.vector, 49);
	CHECK_EQ(ev.accept.apicid, 1); /* defaults to the vCPU */
	CHECK_EQ(ev.h.isa, NQ_ISA_VMX);
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EVENT);
	CHECK_EQ(ev.h.vcpu_id, NQ_VCPU_UNKNOWN);
	CHECK_EQ(ev.check_enter.ctls, NQ_CTL_KNOWN | NQ_CTL_ACK_ON_EXIT);
	CHECK_EQ(ev.check_enter.posted_intr_nv, 0xffff);
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EVENT);
	CHECK_EQ(ev.hw_exit.intr_info, 0x80000031u);
	CHECK(ev.hw_exit.info1 == UINT64_MAX);
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EVENT);
	CHECK_EQ(ev.peek.vector, -1);
	CHECK_EQ(ev.peek.flags, NQ_PEEK_F_IN_ACK);
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EVENT);
	CHECK(ev.h.ts_ns == UINT64_MAX);
	CHECK_EQ(ev.lost.count, 3);
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EOF);
	nq_trace_reader_close(r);
}

/* Reads text and expects `events` events then the error want. */
static void expect_jsonl_error(const char *text, unsigned int events, const char *want)
{
	char err[ERRLEN];
	enum nq_read_status st;
	struct nq_trace_reader *r = open_mem(text, strlen(text), err);

	CHECK(r);
	CHECK_EQ(drain(r, &st), events);
	CHECK_EQ(st, NQ_READ_ERROR);
	if (strcmp(nq_trace_reader_error(r), want))
		printf("  got \"%s\"\n", nq_trace_reader_error(r));
	CHECK(!strcmp(nq_trace_reader_error(r), want));
	nq_trace_reader_close(r);
}

#define ACK "{\"ts\":1,\"kind\":\"ack\",\"vector\":49}\n"

static void test_jsonl_errors(void)
{
	char err[ERRLEN];

	expect_jsonl_error(ACK "#\n{\"ts\":2,\"kind\":\"akc\"}\n", 1, "line 3: unknown kind 'akc'");
	expect_jsonl_error(ACK ACK "{\"ts\":2,\"kind\":\"ack\",\"vectr\":1}\n", 2,
			   "line 3: unknown key 'vectr' for kind 'ack'");
	expect_jsonl_error(ACK "{\"ts\" 5,\"kind\":\"ack\"}\n", 1,
			   "line 2: invalid JSON: expected ':' at column 7");
	expect_jsonl_error("{\"ts\":1,\"kind\":\"irq_accept\",\"vector\":256}\n", 0,
			   "line 1: vector 256 out of range (0..255)");
	expect_jsonl_error("{\"ts\":1,\"kind\":\"irq_accept\",\"vector\":\"0x100\"}\n", 0,
			   "line 1: vector \"0x100\" out of range (0..255)");
	expect_jsonl_error("{\"ts\":-1,\"kind\":\"lost\"}\n", 0,
			   "line 1: ts -1 out of range (0..18446744073709551615)");
	expect_jsonl_error("{\"ts\":18446744073709551616}\n", 0,
			   "line 1: invalid JSON: integer out of range at column 7");
	expect_jsonl_error(ACK "{\"ts\":1.5,\"kind\":\"ack\"}\n", 1,
			   "line 2: invalid JSON: only integers are supported at column 8");
	expect_jsonl_error("{\"ts\":1}\n", 0, "line 1: missing key 'kind'");
	expect_jsonl_error("{\"kind\":\"ack\",\"kind\":\"ack\"}\n", 0,
			   "line 1: duplicate key 'kind'");
	expect_jsonl_error("{\"kind\":\"ack\",\"vmcs\":\"03\"}\n", 0,
			   "line 1: unknown vmcs '03' (expected one of: unknown, 01, 02, other)");
	expect_jsonl_error("{\"kind\":\"ack\",\"vmcs\":[\"01\"]}\n", 0,
			   "line 1: key 'vmcs': expected a string");
	expect_jsonl_error("{\"kind\":\"check_enter\",\"ctls\":{\"ack\":true}}\n", 0,
			   "line 1: unknown key 'ctls.ack'");
	expect_jsonl_error("{\"kind\":\"ack\",\"x\":{\"y\":{\"z\":{}}}}\n", 0,
			   "line 1: invalid JSON: nested too deeply at column 29");
	expect_jsonl_error("{\"kind\":\"ack\",\"x\":{\"y\":{}}}\n", 0,
			   "line 1: unknown key 'x' for kind 'ack'");
	expect_jsonl_error(
		ACK "{\"kind\":\"ack\"} x\n", 1,
		"line 2: invalid JSON: trailing characters after the object at column 16");
	expect_jsonl_error(ACK "{\"kind\":\"ack\",\"api\":\"a\x01\"}\n", 1,
			   "line 2: invalid JSON: control character in string at column 23");
	expect_jsonl_error(ACK "{\"kind\":\"ack\n", 1,
			   "line 2: invalid JSON: unterminated string at column 13");
	expect_jsonl_error(ACK "{\"kind\":5}\n", 1,
			   "line 2: kind 5 has a name: write \"kind\":\"ack\"");
	expect_jsonl_error(ACK "{\"nestirq_trace\":1}\n", 1,
			   "line 2: a header line must be the first line");
	expect_jsonl_error(ACK "[1]\n", 1, "line 2: invalid JSON: expected '{' at column 1");

	/* A broken header fails the open: nothing after it is trustworthy. */
	CHECK(!open_mem("{\"nestirq_trace\":2}\n" ACK, 20 + sizeof(ACK) - 1, err));
	CHECK(!strcmp(err, "line 1: unsupported nestirq_trace version 2 (this nestirq reads 1)"));
	CHECK(!open_mem("# c\n{\"nestirq_trace\":1,\"kernal\":\"x\"}\n", 36, err));
	CHECK(!strcmp(err, "line 2: unknown key 'kernal' in the header line"));
}

/* A JSON-lines file bigger than the reader's window, read through the fd path. */
static void test_jsonl_file_path(void)
{
	char path[] = "/tmp/nq-test-jsonl-XXXXXX", line[1024], err[ERRLEN];
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	struct nq_trace_reader *r;
	struct nq_event ev, want;
	const unsigned int n = 8000;

	CHECK(f);
	rng = 9;
	for (unsigned int i = 0; i < n; i++) {
		make_event(&ev, i);
		CHECK(nq_jsonl_format_event(&ev, line, sizeof(line)) > 0);
		fprintf(f, "%s%s", line, i % 2 ? "\n" : "\r\n");
	}
	CHECK(ftell(f) > 512 * 1024);
	fclose(f);
	r = nq_trace_reader_open(path, err, sizeof(err));
	unlink(path);
	CHECK(r);
	rng = 9;
	for (unsigned int i = 0; i < n; i++) {
		make_event(&want, i);
		CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EVENT);
		CHECK(!memcmp(&ev, &want, sizeof(ev)));
	}
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EOF);
	nq_trace_reader_close(r);
}

/* ---- ABI 2: the trailer, the flags and the new kinds, in both forms ---- */

static void abi2_events(struct nq_event *ev, unsigned int *n)
{
	unsigned int k = 0;

	memset(ev, 0, 9 * sizeof(*ev));
	for (unsigned int i = 0; i < 9; i++) {
		ev[i].h.ts_ns = 100 + i;
		ev[i].h.tgid = 42;
		ev[i].h.vcpu_id = 1;
		ev[i].vm_id = 0xabcdef01u;
		ev[i].drop_seq = 7 + i;
	}
	ev[k].h.kind = NQ_EV_IRQ_ACCEPT;
	ev[k].accept.vector = 0x31;
	ev[k].accept.apicid = 1;
	ev[k++].accept.flags = NQ_ACCEPT_F_EXACT;
	ev[k].h.kind = NQ_EV_PEEK;
	ev[k++].peek.flags = NQ_PEEK_F_DECIDES;
	ev[k].h.kind = NQ_EV_SVI_UPDATE;
	ev[k].svi.max_isr = 0x31;
	ev[k++].svi.flags = NQ_SVI_F_AWAIT_RETURN;
	ev[k].h.kind = NQ_EV_SVI_RETURN;
	ev[k].svi_ret.vmcs = NQ_VMCS_01;
	ev[k].svi_ret.update_pending = NQ_BOOL_UNKNOWN;
	ev[k].svi_ret.guest_mode = 1;
	ev[k++].svi_ret.loads01 = 2;
	ev[k].h.kind = NQ_EV_EXTINT;
	ev[k++].extint.vector = -1;
	ev[k].h.kind = NQ_EV_VM_GONE;
	ev[k++].vm_gone.tgid = 42;
	ev[k].h.kind = NQ_EV_LOST;
	ev[k].lost.count = 3;
	ev[k++].lost.source = NQ_LOST_PROBE_MISS;
	ev[k].h.kind = NQ_EV_VMCS_SWITCH;
	ev[k].vmcs_switch.to = NQ_VMCS_02;
	ev[k++].vmcs_switch.apicv_active = 1;
	ev[k].h.kind = NQ_EV_EXTINT;
	ev[k++].extint.vector = 8;
	*n = k;
}

/* Every ABI 2 field: its JSON spelling, and both round trips. */
static void test_abi2_fields_roundtrip(void)
{
	static const char *const want[] = {
		"\"kind\":\"irq_accept\",\"vector\":49,\"apicid\":1,\"dm\":0,\"tm\":0,\"exact\":"
		"true}",
		"\"kind\":\"peek\",\"vector\":0,\"vmcs\":\"unknown\",\"in_ack\":false,\"decides\":"
		"true}",
		"\"guest_mode\":0,\"await_return\":true}",
		"\"kind\":\"svi_return\",\"vmcs\":\"01\",\"update_pending\":255,\"guest_mode\":1,"
		"\"loads01\":2}",
		"\"kind\":\"extint\",\"vector\":-1}",
		"\"kind\":\"vm_gone\",\"tgid\":42}",
		"\"kind\":\"lost\",\"count\":3,\"source\":\"probe_miss\"}",
		"\"to\":\"02\",\"guest_mode\":0,\"apicv_active\":1}",
		"\"kind\":\"extint\",\"vector\":8}",
	};
	struct nq_event evs[9], ev;
	struct membuf mb = {0};
	char line[512], doc[4096], err[ERRLEN];
	struct nq_trace_writer *w;
	struct nq_trace_reader *r;
	size_t len = 0;
	unsigned int n;
	FILE *f;

	abi2_events(evs, &n);
	for (unsigned int i = 0; i < n; i++) {
		int l = nq_jsonl_format_event(&evs[i], line, sizeof(line));

		CHECK(l > 0);
		CHECK_STR_CONTAINS(line, "\"vm_id\":2882400001,\"drop_seq\":");
		CHECK_STR_CONTAINS(line, want[i]);
		memcpy(doc + len, line, (size_t)l);
		len += (size_t)l;
		doc[len++] = '\n';
	}
	r = open_mem(doc, len, err);
	CHECK(r);
	for (unsigned int i = 0; i < n; i++) {
		CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EVENT);
		CHECK(!memcmp(&ev, &evs[i], sizeof(ev)));
	}
	nq_trace_reader_close(r);

	f = open_memstream(&mb.buf, &mb.len);
	CHECK(f);
	w = nq_trace_writer_fdopen(f, NULL, err, sizeof(err));
	CHECK(w);
	for (unsigned int i = 0; i < n; i++)
		CHECK_EQ(nq_trace_write(w, &evs[i]), 0);
	CHECK_EQ(nq_trace_writer_close(w, err, sizeof(err)), 0);
	fclose(f);
	r = open_mem(mb.buf, mb.len, err);
	CHECK(r);
	for (unsigned int i = 0; i < n; i++) {
		CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EVENT);
		CHECK(!memcmp(&ev, &evs[i], sizeof(ev)));
		CHECK_EQ(ev.vm_id, 0xabcdef01u);
		CHECK_EQ(ev.drop_seq, 7 + i);
	}
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EOF);
	nq_trace_reader_close(r);
	free(mb.buf);
}

/* Every ABI 3 field: its JSON spelling, and both round trips. */
static void test_abi3_fields_roundtrip(void)
{
	static const char *const want[] = {
		"\"kind\":\"ack\",\"vector\":65,\"vmcs\":\"01\",\"api\":\"apic_ack\",\"guest_"
		"mode\":0,"
		"\"irr\":\"not_pending\",\"accept_ts\":123456789}",
		"\"decides\":true,\"accept_ts\":987}",
		"\"kind\":\"count\",\"of\":\"hw_nested_vmexit\",\"n\":25679,\"reason\":1}",
		"\"kind\":\"irq_accept\",\"vector\":49,\"apicid\":1,\"dm\":0,\"tm\":0,\"exact\":"
		"false,\"kernel_context\":true}",
	};
	struct nq_event evs[4], ev;
	struct membuf mb = {0};
	char line[512], doc[4096], err[ERRLEN];
	struct nq_trace_writer *w;
	struct nq_trace_reader *r;
	size_t len = 0;
	FILE *f;

	memset(evs, 0, sizeof(evs));
	for (int i = 0; i < 4; i++) {
		evs[i].h.ts_ns = 1000 + (uint64_t)i;
		evs[i].h.vcpu_id = 1;
	}
	evs[0].h.kind = NQ_EV_ACK;
	evs[0].ack.vector = 0x41;
	evs[0].ack.vmcs = NQ_VMCS_01;
	evs[0].ack.api = NQ_ACK_API_APIC_ACK;
	evs[0].ack.irr = NQ_ACK_IRR_NOT_PENDING;
	evs[0].ack.accept_ts = 123456789;
	evs[1].h.kind = NQ_EV_PEEK;
	evs[1].peek.vector = 0x31;
	evs[1].peek.flags = NQ_PEEK_F_DECIDES;
	evs[1].peek.accept_ts = 987;
	evs[2].h.kind = NQ_EV_COUNT;
	evs[2].h.vcpu_id = NQ_VCPU_UNKNOWN;
	evs[2].count.kind = NQ_EV_HW_NESTED_VMEXIT;
	evs[2].count.n = 25679;
	evs[2].count.reason = 1;
	evs[3].h.kind = NQ_EV_IRQ_ACCEPT;
	evs[3].accept.apicid = 1;
	evs[3].accept.vector = 0x31;
	evs[3].accept.flags = NQ_ACCEPT_F_KERNEL_CONTEXT;
	for (unsigned int i = 0; i < 4; i++) {
		int l = nq_jsonl_format_event(&evs[i], line, sizeof(line));

		CHECK(l > 0);
		CHECK_STR_CONTAINS(line, want[i]);
		memcpy(doc + len, line, (size_t)l);
		len += (size_t)l;
		doc[len++] = '\n';
	}
	r = open_mem(doc, len, err);
	CHECK(r);
	for (unsigned int i = 0; i < 4; i++) {
		CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EVENT);
		CHECK(!memcmp(&ev, &evs[i], sizeof(ev)));
	}
	nq_trace_reader_close(r);

	f = open_memstream(&mb.buf, &mb.len);
	CHECK(f);
	w = nq_trace_writer_fdopen(f, NULL, err, sizeof(err));
	CHECK(w);
	for (unsigned int i = 0; i < 4; i++)
		CHECK_EQ(nq_trace_write(w, &evs[i]), 0);
	CHECK_EQ(nq_trace_writer_close(w, err, sizeof(err)), 0);
	fclose(f);
	r = open_mem(mb.buf, mb.len, err);
	CHECK(r);
	for (unsigned int i = 0; i < 4; i++) {
		CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EVENT);
		CHECK(!memcmp(&ev, &evs[i], sizeof(ev)));
	}
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EOF);
	nq_trace_reader_close(r);
	free(mb.buf);
}

/*
 * Lines written before ABI 2 lack the new keys: the trailer, flags and
 * lost source read as 0, the tri-state bytes as NQ_BOOL_UNKNOWN.
 */
static void test_abi1_lines_read_as_defaults(void)
{
	static const char text[] = "{\"ts\":1,\"vm\":9,\"kind\":\"irq_accept\",\"vector\":49}\n"
				   "{\"ts\":2,\"kind\":\"peek\",\"vector\":49,\"in_ack\":true}\n"
				   "{\"ts\":3,\"kind\":\"svi_update\",\"max_isr\":49}\n"
				   "{\"ts\":4,\"kind\":\"vmcs_switch\",\"to\":\"01\"}\n"
				   "{\"ts\":5,\"kind\":\"lost\",\"count\":1}\n"
				   "{\"ts\":6,\"kind\":\"svi_return\"}\n";
	char err[ERRLEN];
	struct nq_trace_reader *r = open_mem(text, sizeof(text) - 1, err);
	struct nq_event ev;

	CHECK(r);
	for (int i = 0; i < 6; i++) {
		CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EVENT);
		CHECK_EQ(ev.vm_id, 0);
		CHECK_EQ(ev.drop_seq, 0);
		switch (ev.h.kind) {
		case NQ_EV_IRQ_ACCEPT:
			CHECK_EQ(ev.accept.flags, 0);
			break;
		case NQ_EV_PEEK:
			CHECK_EQ(ev.peek.flags, NQ_PEEK_F_IN_ACK);
			break;
		case NQ_EV_SVI_UPDATE:
			CHECK_EQ(ev.svi.flags, 0);
			break;
		case NQ_EV_VMCS_SWITCH:
			CHECK_EQ(ev.vmcs_switch.apicv_active, NQ_BOOL_UNKNOWN);
			break;
		case NQ_EV_LOST:
			CHECK_EQ(ev.lost.source, NQ_LOST_RINGBUF);
			break;
		default:
			CHECK_EQ(ev.h.kind, NQ_EV_SVI_RETURN);
			CHECK_EQ(ev.svi_ret.update_pending, NQ_BOOL_UNKNOWN);
			CHECK_EQ(ev.svi_ret.loads01, NQ_BOOL_UNKNOWN);
		}
	}
	CHECK_EQ(nq_trace_read(r, &ev), NQ_READ_EOF);
	nq_trace_reader_close(r);
	expect_jsonl_error("{\"kind\":\"lost\",\"source\":\"full\"}\n", 0,
			   "line 1: unknown source 'full' (expected one of: ringbuf, probe_miss)");
	expect_jsonl_error("{\"kind\":\"vm_gone\",\"vector\":1}\n", 0,
			   "line 1: unknown key 'vector' for kind 'vm_gone'");
}

int main(void)
{
	RUN(test_binary_roundtrip);
	RUN(test_binary_file_path);
	RUN(test_binary_empty_trace);
	RUN(test_truncation_every_offset);
	RUN(test_truncation_writer_file);
	RUN(test_bitflip_each_block);
	RUN(test_foreign_input);
	RUN(test_future_records);
	RUN(test_structural_damage);
	RUN(test_writer_error);
	RUN(test_jsonl_roundtrip);
	RUN(test_jsonl_meta_roundtrip);
	RUN(test_jsonl_handwritten);
	RUN(test_jsonl_errors);
	RUN(test_jsonl_file_path);
	RUN(test_abi2_fields_roundtrip);
	RUN(test_abi3_fields_roundtrip);
	RUN(test_abi1_lines_read_as_defaults);
	TEST_EXIT();
}
