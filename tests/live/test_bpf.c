// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Live BPF tests, run as root on the target machine: every program passes
 * the verifier, the tracepoints attach, the raw_tp accept program emits the
 * right record under BPF_PROG_TEST_RUN, and MSIs fired at a real KVM VM
 * arrive as exactly the accepted IRQs, in every tracepoint mode.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "kvm_vm.h"
#include "nestirq/probes.h"
#include "live/live.h"
#include "live/live_skel.h"

#define MAX_EVENTS 4096

struct sink {
	int n;
	int lost;
	uint64_t lost_count;
	uint64_t counted_accepts; /* NQ_EV_COUNT records of accepts */
	struct nq_event ev[MAX_EVENTS];
};

static void sink_cb(const struct nq_event *ev, void *ctx)
{
	struct sink *s = ctx;

	if (ev->h.kind == NQ_EV_SYNC)
		return; /* a marker of the live side, not a record of the kernel's */
	if (ev->h.kind == NQ_EV_COUNT) {
		if (ev->count.kind == NQ_EV_IRQ_ACCEPT)
			s->counted_accepts += ev->count.n;
		return;
	}
	if (ev->h.kind == NQ_EV_LOST) {
		s->lost++;
		s->lost_count += ev->lost.count;
		return;
	}
	if (s->n < MAX_EVENTS)
		s->ev[s->n++] = *ev;
}

static struct sink sink;

static const char *need_root(void)
{
	if (geteuid() != 0)
		return "not root";
	if (access("/sys/kernel/btf/vmlinux", F_OK))
		return "no BPF (no /sys/kernel/btf/vmlinux)";
	return NULL;
}

static const char *need_kvm(void)
{
	const char *r = need_root();

	if (r)
		return r;
	if (access("/dev/kvm", R_OK | W_OK))
		return "no /dev/kvm";
	return NULL;
}

static int count_programs(struct nestirq_bpf *s)
{
	struct bpf_program *p;
	int n = 0;

	bpf_object__for_each_program(p, s->obj) n++;
	return n;
}

/* Every program passes the verifier here, kprobes included. */
static void test_load_all_programs(void)
{
	struct nq_live_opts o = {.load_all = true, .no_attach = true};
	char err[256];
	struct nq_live *l;
	const char *why = need_root();
	int total, loaded;

	if (why)
		SKIP("%s", why);
	l = nq_live_open(&o, err, sizeof(err));
	if (!l)
		printf("# %s\n", err);
	CHECK(l != NULL);
	total = count_programs(nq_live_skel(l));
	loaded = nq_live_nloaded(l);
	printf("# %d of %d programs loaded\n", loaded, total);
	nq_live_close(l);
	CHECK_EQ(loaded, total);
	CHECK(total >= 22);
}

/* The tracepoints attach; each kprobe point has a named reason here. */
static void test_attach_plan(void)
{
	struct nq_live_opts o = {.quiet = true};
	const struct nq_plan *p;
	const struct nq_sysinfo *si;
	char err[256], line[NQ_PLAN_LINE_MAX];
	struct nq_plan_data pd;
	struct nq_live *l;
	const char *why = need_root();
	bool ok = true;

	if (why)
		SKIP("%s", why);
	l = nq_live_open(&o, err, sizeof(err));
	if (!l)
		printf("# %s\n", err);
	CHECK(l != NULL);
	p = nq_live_plan(l);
	si = nq_live_sysinfo(l);
	nq_plan_data(p, &pd);
	printf("# flow %s isa %s\n", si->flow, si->isa);
	for (unsigned int i = 0; i < pd.n; i++)
		if (nq_plan_entry_format(&pd.pt[i], line, sizeof(line)) > 0)
			printf("#   %s\n", line);
	for (int i = NQ_PT_ACCEPT; i <= NQ_PT_SVM_INTR; i++)
		if (si->mod_kvm && p->pt[i].status != NQ_PS_ATTACHED &&
		    !(i == NQ_PT_HW_VMEXIT && !si->tracefs))
			ok = false;
	for (int i = NQ_PT_CHECK_VMX; i < NQ_PT__MAX; i++) {
		if (i == NQ_PT_VMX_STATE || p->pt[i].status == NQ_PS_ATTACHED)
			continue;
		if (!p->pt[i].reason[0])
			ok = false;
		if (!si->kprobes && !strstr(p->pt[i].reason, "kprobes disabled"))
			ok = false;
	}
	nq_live_close(l);
	CHECK(ok);
}

/* Drive raw_tp/kvm_apic_accept_irq with synthetic args; check the record. */
static void run_accept(struct nq_live *l, __u64 apicid, __u64 dm, __u64 tm, __u64 vec, int *rc)
{
	__u64 args[4] = {apicid, dm, tm, vec};
	LIBBPF_OPTS(bpf_test_run_opts, t, .ctx_in = args, .ctx_size_in = sizeof(args));

	*rc = bpf_prog_test_run_opts(bpf_program__fd(nq_live_skel(l)->progs.raw_accept), &t);
}

static void test_raw_accept_test_run(void)
{
	struct nq_live_opts o = {.load_all = true, .no_attach = true, .cb = sink_cb, .ctx = &sink};
	char err[256];
	struct nq_live *l;
	const char *why = need_root();
	struct nq_event *e;
	int rc;

	if (why)
		SKIP("%s", why);
	memset(&sink, 0, sizeof(sink));
	l = nq_live_open(&o, err, sizeof(err));
	CHECK(l != NULL);
	/* upper bits of the u64 slots must not leak into the record */
	run_accept(l, 0xdead00000003ull, 0, 0xff00000001ull, 0x1242, &rc);
	nq_live_poll(l, 10);
	nq_live_close(l);
	CHECK_EQ(rc, 0);
	CHECK_EQ(sink.n, 1);
	e = &sink.ev[0];
	CHECK_EQ(e->h.kind, NQ_EV_IRQ_ACCEPT);
	CHECK_EQ(e->h.vcpu_id, 3);
	CHECK_EQ(e->h.tgid, getpid());
	CHECK_EQ(e->h.tid, getpid());
	CHECK(e->h.ts_ns > 0);
	CHECK_EQ(e->accept.apicid, 3);
	CHECK_EQ(e->accept.delivery_mode, 0);
	CHECK_EQ(e->accept.trigger_mode, 1);
	CHECK_EQ(e->accept.vector, 0x42);
	CHECK_EQ(e->accept.flags, 0);
	CHECK_EQ(e->accept.pad[0] | e->accept.pad[1], 0);
	for (int i = 12; i < 32; i++)
		CHECK_EQ(e->raw[i], 0);
	/* The trailer: a tracepoint accept does not know the target's VM; nothing dropped. */
	CHECK_EQ(e->vm_id, 0);
	CHECK_EQ(e->drop_seq, 0);
}

/* The slot holding key's history (its set's ways), or -ENOENT. */
static int ctx_read(struct nq_live *l, __u64 key, struct nq_vcpu_ctx *c, __u32 *slot)
{
	int fd = bpf_map__fd(nq_live_skel(l)->maps.vcpu_ctx);

	for (__u32 w = 0; w < NQ_VCPU_CTX_WAYS; w++) {
		*slot = nq_ctx_set(key) + w;
		if (!bpf_map_lookup_elem(fd, slot, c) && c->key == key)
			return 0;
	}
	return -ENOENT;
}

static bool bit(const __u64 *map, unsigned int v)
{
	return map[v >> 6] & (1ull << (v & 63));
}

/*
 * The accept path of a host with pairing probes (NESTIRQ_STREAM_ACCEPTS=1
 * here): the history goes to vcpu_ctx, the accept is counted, and only an
 * accept that meets an open check on its vCPU is streamed.
 */
static void test_raw_accept_context(void)
{
	struct nq_live_opts o = {.load_all = true, .no_attach = true, .cb = sink_cb, .ctx = &sink};
	const __u64 key = NQ_CTX_KEY_APICID | 3;
	struct nq_vcpu_ctx c;
	__u64 evicted;
	__u32 slot;
	int n;
	char err[256];
	struct nq_live *l;
	const char *why = need_root();
	int rc, rc2, rc3, rc4;

	if (why)
		SKIP("%s", why);
	memset(&sink, 0, sizeof(sink));
	setenv("NESTIRQ_STREAM_ACCEPTS", "1", 1);
	l = nq_live_open(&o, err, sizeof(err));
	unsetenv("NESTIRQ_STREAM_ACCEPTS");
	if (!l)
		printf("# %s\n", err);
	CHECK(l != NULL);
	CHECK_EQ(nq_live_accept_mode(l), NQ_ACCEPTS_CONTEXT);
	run_accept(l, 3, 0, 0, 0x42, &rc);
	run_accept(l, 3, 0x400, 0, 0x02, &rc2); /* NMI: no IRR bit */
	CHECK_EQ(ctx_read(l, key, &c, &slot), 0);
	CHECK(bit(c.pending, 0x42) && bit(c.accepted, 0x42));
	CHECK(!bit(c.pending, 0x02) && !bit(c.accepted, 0x02));
	CHECK(c.first_ts[0x42] > 0);
	CHECK_EQ(c.first_ts[0x02], 0);
	CHECK_EQ(c.in_check, 0);
	/* A check opens on vCPU 3: the next accept there is streamed, others not. */
	c.in_check = 1;
	CHECK_EQ(bpf_map_update_elem(bpf_map__fd(nq_live_skel(l)->maps.vcpu_ctx), &slot, &c,
				     BPF_EXIST),
		 0);
	run_accept(l, 3, 0, 0, 0x43, &rc3);
	run_accept(l, 4, 0, 0, 0x44, &rc4);
	nq_live_poll(l, 10);
	nq_live_sync(l);
	CHECK_EQ(rc | rc2 | rc3 | rc4, 0);
	CHECK_EQ(sink.n, 1);
	CHECK_EQ(sink.ev[0].h.kind, NQ_EV_IRQ_ACCEPT);
	CHECK_EQ(sink.ev[0].accept.vector, 0x43);
	CHECK_EQ(sink.counted_accepts, 3);
	/* Four more vCPUs in vCPU 4's set: the last one evicts one history, and says so. */
	n = 0;
	for (__u32 other = 5; other < 1u << 24 && n < NQ_VCPU_CTX_WAYS; other++)
		if (nq_ctx_set(NQ_CTX_KEY_APICID | other) == nq_ctx_set(NQ_CTX_KEY_APICID | 4)) {
			run_accept(l, other, 0, 0, 0x45, &rc);
			CHECK_EQ(rc, 0);
			n++;
		}
	CHECK_EQ(n, NQ_VCPU_CTX_WAYS);
	evicted = 0;
	for (int cpu = 0; cpu < NQ_BSS_CPUS; cpu++)
		evicted += nq_live_skel(l)->bss->cpu_ctr[cpu][NQ_CTR_CTX_EVICT];
	/* vCPU 4's set held vCPU 4, and vCPU 3 too if it hashed there. */
	CHECK_EQ(evicted,
		 1 + (nq_ctx_set(NQ_CTX_KEY_APICID | 3) == nq_ctx_set(NQ_CTX_KEY_APICID | 4)));
	nq_live_close(l);
}

/* Streaming every exit of L2 (NESTIRQ_STREAM_EXITS=1) is another program: it must load too. */
static void test_load_stream_exits(void)
{
	struct nq_live_opts o = {.load_all = true, .no_attach = true, .quiet = true};
	char err[256];
	struct nq_live *l;
	const char *why = need_root();

	if (why)
		SKIP("%s", why);
	setenv("NESTIRQ_STREAM_EXITS", "1", 1);
	l = nq_live_open(&o, err, sizeof(err));
	unsetenv("NESTIRQ_STREAM_EXITS");
	if (!l)
		printf("# %s\n", err);
	CHECK(l != NULL);
	CHECK_EQ(nq_live_skel(l)->rodata->stream_exits, 1);
	CHECK_EQ(nq_live_nloaded(l), nq_live_nprograms(l));
	nq_live_close(l);
}

/* The tgid filter in .rodata drops other processes' events. */
static void test_tgid_filter(void)
{
	struct nq_live_opts o = {.load_all = true,
				 .no_attach = true,
				 .cb = sink_cb,
				 .ctx = &sink,
				 .tgid = (uint32_t)getpid() + 1};
	char err[256];
	struct nq_live *l;
	const char *why = need_root();
	int rc;

	if (why)
		SKIP("%s", why);
	memset(&sink, 0, sizeof(sink));
	l = nq_live_open(&o, err, sizeof(err));
	CHECK(l != NULL);
	run_accept(l, 1, 0, 0, 0x31, &rc);
	nq_live_poll(l, 10);
	nq_live_close(l);
	CHECK_EQ(rc, 0);
	CHECK_EQ(sink.n, 0);
}

/* tracefs format parsing matches the BTF layout. */
static void test_format_offsets(void)
{
	struct nq_fmt f;
	char err[256];
	struct nq_sysinfo si;
	const char *why = need_root();

	if (why)
		SKIP("%s", why);
	nq_sysinfo_probe(&si);
	if (!si.tracefs || !si.mod_kvm)
		SKIP("no tracefs or no kvm");
	CHECK_EQ(nq_tracefs_format(NQ_TP_ACCEPT, &f, err, sizeof(err)), 0);
	CHECK_EQ(f.off[NQ_FA_APICID], 8);
	CHECK_EQ(f.size[NQ_FA_APICID], 4);
	CHECK_EQ(f.size[NQ_FA_VEC], 1);
	CHECK(f.size[NQ_FA_TM] == 1 || f.size[NQ_FA_TM] == 2);
	CHECK_EQ(nq_tracefs_format(NQ_TP_INJECT, &f, err, sizeof(err)), 0);
	CHECK(f.size[NQ_FI_EXIT_CODE] == 4 || f.size[NQ_FI_EXIT_CODE] == 8);
	CHECK_EQ(f.size[NQ_FI_INFO1], 8);
	CHECK_EQ(f.size[NQ_FI_INT_INFO], 4);
	CHECK_EQ(nq_tracefs_format(NQ_TP_HW_VMEXIT, &f, err, sizeof(err)), 0);
	CHECK_EQ(f.size[NQ_FH_REASON], 4);
	CHECK_EQ(nq_tracefs_format(NQ_TP_SVM_INTR, &f, err, sizeof(err)), 0);
	CHECK_EQ(f.size[NQ_FS_RIP], 8);
}

/* N MSIs at a real VM arrive as exactly N accepts with the right vector and vCPU. */
static void msi_case(enum nq_tp_mode mode)
{
	struct nq_live_opts o = {.tgid = (uint32_t)getpid(),
				 .cb = sink_cb,
				 .ctx = &sink,
				 .tp_mode = mode,
				 .quiet = true};
	const int N = 500, NV = 2;
	char err[256];
	struct nq_live *l;
	struct tvm vm;
	const char *why = need_kvm();
	int fired = 0, n;

	if (why)
		SKIP("%s", why);
	memset(&sink, 0, sizeof(sink));
	if (tvm_open(&vm, NV, err, sizeof(err)))
		SKIP("%s", err);
	l = nq_live_open(&o, err, sizeof(err));
	if (!l) {
		tvm_close(&vm);
		printf("# %s\n", err);
	}
	CHECK(l != NULL);
	if (nq_live_plan(l)->pt[NQ_PT_ACCEPT].status != NQ_PS_ATTACHED) {
		printf("# accept: %s\n", nq_live_plan(l)->pt[NQ_PT_ACCEPT].reason);
		nq_live_close(l);
		tvm_close(&vm);
		CHECK(!"kvm_apic_accept_irq attached");
	}
	for (int i = 0; i < N; i++)
		if (tvm_msi(&vm, tvm_seq_vcpu(i, NV), tvm_seq_vector(i)) >= 0)
			fired++;
	for (int t = 0; t < 100 && sink.n < N; t++)
		nq_live_poll(l, 20);
	n = sink.n;
	/* nothing more may trickle in */
	nq_live_poll(l, 50);
	nq_live_close(l);
	tvm_close(&vm);
	CHECK_EQ(fired, N);
	CHECK_EQ(sink.n, n);
	CHECK_EQ(sink.n, N);
	CHECK_EQ(sink.lost, 0);
	for (int i = 0; i < N; i++) {
		struct nq_event *e = &sink.ev[i];

		CHECK_EQ(e->h.kind, NQ_EV_IRQ_ACCEPT);
		CHECK_EQ(e->h.tgid, getpid());
		CHECK_EQ(e->accept.vector, tvm_seq_vector(i));
		CHECK_EQ(e->accept.apicid, tvm_seq_vcpu(i, NV));
		CHECK_EQ(e->h.vcpu_id, tvm_seq_vcpu(i, NV));
		CHECK_EQ(e->accept.delivery_mode, 0);
		CHECK_EQ(e->accept.trigger_mode, 0);
		if (i)
			CHECK(e->h.ts_ns >= sink.ev[i - 1].h.ts_ns);
	}
}

static void test_msi_accept_core(void)
{
	msi_case(NQ_TPM_CORE);
}

static void test_msi_accept_format(void)
{
	msi_case(NQ_TPM_FORMAT);
}

static void test_msi_accept_raw(void)
{
	msi_case(NQ_TPM_RAW);
}

/*
 * watch/serve mode: with no check, peek or ack probe to pair them, accepts
 * are counted in the kernel, exactly, and none is streamed.  With
 * NESTIRQ_STREAM_ACCEPTS=1 they take the path of a host with pairing
 * probes: history kept in the kernel, counted, streamed only inside a check
 * (none is open here).  Either way the counts arrive as NQ_EV_COUNT.
 */
static void count_case(bool stream)
{
	struct nq_live_opts o = {.tgid = (uint32_t)getpid(),
				 .cb = sink_cb,
				 .ctx = &sink,
				 .quiet = true,
				 .count_accepts = true};
	const int N = 3000, NV = 2;
	char err[256];
	struct nq_live *l;
	struct tvm vm;
	const char *why = need_kvm();
	bool pairs, counting;
	int fired = 0;

	if (why)
		SKIP("%s", why);
	memset(&sink, 0, sizeof(sink));
	if (tvm_open(&vm, NV, err, sizeof(err)))
		SKIP("%s", err);
	if (stream)
		setenv("NESTIRQ_STREAM_ACCEPTS", "1", 1);
	l = nq_live_open(&o, err, sizeof(err));
	unsetenv("NESTIRQ_STREAM_ACCEPTS");
	if (!l) {
		tvm_close(&vm);
		printf("# %s\n", err);
	}
	CHECK(l != NULL);
	pairs = nq_live_plan(l)->pt[NQ_PT_ACK].status == NQ_PS_ATTACHED ||
		nq_live_plan(l)->pt[NQ_PT_PEEK].status == NQ_PS_ATTACHED ||
		nq_live_plan(l)->pt[NQ_PT_CHECK_VMX].status == NQ_PS_ATTACHED ||
		nq_live_plan(l)->pt[NQ_PT_CHECK_SVM].status == NQ_PS_ATTACHED;
	counting = nq_live_counting(l);
	for (int i = 0; i < N; i++)
		if (tvm_msi(&vm, tvm_seq_vcpu(i, NV), tvm_seq_vector(i)) >= 0)
			fired++;
	for (int t = 0; t < 100 && (uint64_t)sink.n + sink.counted_accepts < (uint64_t)N; t++) {
		nq_live_poll(l, 20);
		nq_live_sync(l);
	}
	nq_live_poll(l, 50);
	nq_live_sync(l);
	printf("# accept mode %d: %llu counted, %d streamed\n", nq_live_accept_mode(l),
	       (unsigned long long)sink.counted_accepts, sink.n);
	CHECK_EQ(nq_live_counted(l), sink.counted_accepts);
	if (stream)
		CHECK_EQ(nq_live_accept_mode(l), NQ_ACCEPTS_CONTEXT);
	nq_live_close(l);
	tvm_close(&vm);
	CHECK_EQ(fired, N);
	CHECK_EQ(sink.lost, 0);
	CHECK(counting || pairs);
	CHECK_EQ((uint64_t)sink.n + sink.counted_accepts, (uint64_t)N);
	CHECK_EQ(sink.counted_accepts, counting ? (uint64_t)N : 0);
}

static void test_msi_accepts_counted(void)
{
	count_case(false);
}

static void test_msi_accepts_context_on_request(void)
{
	count_case(true);
}

/* ---- drops, batched wakeups, tid -> vCPU ---- */

static uint64_t n_records, n_lost_records, n_lost;

static void count_cb(const struct nq_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->h.kind == NQ_EV_SYNC)
		return; /* the live side's marker, not a kernel record */
	if (ev->h.kind == NQ_EV_LOST) {
		n_lost_records++;
		n_lost += ev->lost.count;
	} else {
		n_records++;
	}
}

/* A full ring buffer: every record is either delivered or counted lost. */
static void test_drops_become_lost_records(void)
{
	struct nq_live_opts o = {.load_all = true, .no_attach = true, .cb = count_cb};
	const int N = 150000; /* the 8 MiB ring holds ~116k records */
	uint64_t per_cpu = 0;
	char err[256];
	struct nq_live *l;
	const char *why = need_root();
	int rc = 0;

	if (why)
		SKIP("%s", why);
	n_records = n_lost_records = n_lost = 0;
	l = nq_live_open(&o, err, sizeof(err));
	CHECK(l != NULL);
	for (int i = 0; i < N && !rc; i++)
		run_accept(l, 0, 0, 0, 0x40, &rc);
	while (nq_live_poll(l, 0) > 0)
		;
	for (int c = 0; c < nq_live_ncpus(l); c++)
		per_cpu += nq_live_drops_cpu(l, c);
	printf("# %llu delivered, %llu lost in %llu markers\n", (unsigned long long)n_records,
	       (unsigned long long)n_lost, (unsigned long long)n_lost_records);
	CHECK_EQ(per_cpu, nq_live_drops(l));
	nq_live_close(l);
	CHECK_EQ(rc, 0);
	CHECK(n_lost > 0);
	CHECK(n_lost_records >= 1);
	CHECK_EQ(n_records + n_lost, N);
	CHECK_EQ(per_cpu, n_lost);
}

/*
 * Live placement: a full ring on CPU 0, drops, then a record reserved while
 * the batch is being read (space freed by the reader) carries drop_seq and
 * gets the LOST marker right before it, not after the batch.
 */
static struct nq_live *place_l;
static int place_n, place_marker_at, place_fired, place_rc;
static uint64_t place_lost;
static struct nq_event place_last;

static int run_accept_cpu0(struct nq_live *l, __u64 vec)
{
	__u64 args[4] = {1, 0, 0, vec};
	LIBBPF_OPTS(bpf_test_run_opts, t, .ctx_in = args, .ctx_size_in = sizeof(args),
		    .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = 0);

	return bpf_prog_test_run_opts(bpf_program__fd(nq_live_skel(l)->progs.raw_accept), &t);
}

static void place_cb(const struct nq_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->h.kind == NQ_EV_SYNC)
		return; /* the live side's marker, not a kernel record */
	if (ev->h.kind == NQ_EV_LOST) {
		if (!place_marker_at)
			place_marker_at = place_n;
		place_lost += ev->lost.count;
		return;
	}
	/* A test run on CPU 0 runs in whatever task is there: some are gone by now. */
	if (ev->h.kind == NQ_EV_VM_GONE)
		return;
	place_n++;
	place_last = *ev;
	/* The reader has freed a few records' space by the 10th: one more fits. */
	if (place_n == 10 && !place_fired) {
		place_fired = 1;
		place_rc |= run_accept_cpu0(place_l, 0x77);
	}
}

static void test_lost_marker_placed_before_record(void)
{
	struct nq_live_opts o = {.load_all = true, .no_attach = true, .cb = place_cb};
	uint64_t dropped;
	char err[256];
	const char *why = need_root();
	int rc = 0, i;

	if (why)
		SKIP("%s", why);
	place_n = place_marker_at = place_fired = place_rc = 0;
	place_lost = 0;
	setenv("NESTIRQ_RINGBUF_BYTES", "65536", 1);
	place_l = nq_live_open(&o, err, sizeof(err));
	unsetenv("NESTIRQ_RINGBUF_BYTES");
	CHECK(place_l != NULL);
	/* ~900 records fit: 1000 more runs drop about 100. */
	for (i = 0; i < 2000 && !rc; i++)
		rc = run_accept_cpu0(place_l, 0x40);
	dropped = nq_live_skel(place_l)->bss->cpu_ctr[0][NQ_CTR_DROPPED];
	nq_live_poll(place_l, 0);
	printf("# %d delivered, marker before record %d, %llu of %llu drops announced\n", place_n,
	       place_marker_at, (unsigned long long)place_lost, (unsigned long long)dropped);
	CHECK_EQ(nq_live_drops_cpu(place_l, 0), dropped);
	nq_live_close(place_l);
	CHECK_EQ(rc, 0);
	CHECK_EQ(place_rc, 0);
	CHECK(dropped > 0);
	CHECK_EQ(place_lost, dropped);
	CHECK_EQ((uint64_t)place_n + dropped, 2001);
	/* The marker precedes the record reserved after the drops: the last one. */
	CHECK_EQ(place_marker_at, place_n - 1);
	CHECK_EQ(place_last.accept.vector, 0x77);
	CHECK_EQ(place_last.drop_seq, (uint32_t)dropped);
	CHECK_EQ(place_last.h.cpu, 0);
}

struct poller {
	struct nq_live *l;
	uint64_t elapsed_ms;
	int got;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	uint64_t t0 = mono_ms();

	p->got = nq_live_poll(p->l, 4000);
	p->elapsed_ms = mono_ms() - t0;
	return NULL;
}

/* A sleeping reader is not woken per record, but is woken per batch. */
static void test_batched_wakeup(void)
{
	struct nq_live_opts o = {.load_all = true, .no_attach = true, .cb = count_cb};
	struct poller p = {0};
	pthread_t th;
	char err[256];
	const char *why = need_root();
	int rc = 0;

	if (why)
		SKIP("%s", why);
	n_records = 0;
	p.l = nq_live_open(&o, err, sizeof(err));
	CHECK(p.l != NULL);
	CHECK_EQ(pthread_create(&th, NULL, poll_thread, &p), 0);
	usleep(200 * 1000);
	for (int i = 0; i < 10 && !rc; i++)
		run_accept(p.l, 0, 0, 0, 0x41, &rc);
	usleep(300 * 1000);
	/* Still asleep after 10 records: no per-record wakeup. */
	CHECK_EQ(p.elapsed_ms, 0);
	for (int i = 0; i < 2 * (int)NQ_WAKEUP_EVENTS && !rc; i++)
		run_accept(p.l, 0, 0, 0, 0x41, &rc);
	pthread_join(th, NULL);
	printf("# reader woke after %llu ms with %d records\n", (unsigned long long)p.elapsed_ms,
	       p.got);
	nq_live_close(p.l);
	CHECK_EQ(rc, 0);
	CHECK(p.elapsed_ms < 3000);
	CHECK(p.got >= 10);
}

/*
 * kvm_nested_vmexit_inject has no vcpu: the thread's vCPU and VM come from
 * the tid map, and only from this process's entry (tids are reused).
 */
static void test_inject_vcpu_from_tid(void)
{
	struct nq_live_opts o = {.load_all = true, .no_attach = true, .cb = sink_cb, .ctx = &sink};
	__u64 args[6] = {NQ_VMX_EXIT_EXTERNAL_INTERRUPT, 0, 0, 0x80000031, 0, NQ_ISA_VMX};
	LIBBPF_OPTS(bpf_test_run_opts, t, .ctx_in = args, .ctx_size_in = sizeof(args));
	struct nq_tid_state st = {.vcpu = 0, .vcpu_id = 5, .vm_id = 0x5eed, .tgid = getpid()};
	struct nq_tid_state other = {.vcpu_id = 7, .vm_id = 0xbad, .tgid = getpid() + 1};
	__u32 tid = (__u32)gettid();
	char err[256];
	struct nq_live *l;
	const char *why = need_root();
	int fd, tids, r[5];

	if (why)
		SKIP("%s", why);
	memset(&sink, 0, sizeof(sink));
	l = nq_live_open(&o, err, sizeof(err));
	CHECK(l != NULL);
	fd = bpf_program__fd(nq_live_skel(l)->progs.raw_inject);
	tids = bpf_map__fd(nq_live_skel(l)->maps.tids);
	r[0] = bpf_prog_test_run_opts(fd, &t);
	r[1] = bpf_map_update_elem(tids, &tid, &st, BPF_ANY);
	r[2] = bpf_prog_test_run_opts(fd, &t);
	r[3] = bpf_map_update_elem(tids, &tid, &other, BPF_ANY);
	r[4] = bpf_prog_test_run_opts(fd, &t);
	nq_live_poll(l, 10);
	nq_live_close(l);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(r[i], 0);
	CHECK_EQ(sink.n, 3);
	CHECK_EQ(sink.ev[0].h.kind, NQ_EV_VMEXIT_INJECT);
	CHECK_EQ(sink.ev[0].h.vcpu_id, NQ_VCPU_UNKNOWN);
	CHECK_EQ(sink.ev[0].vm_id, 0);
	CHECK_EQ(sink.ev[1].h.vcpu_id, 5);
	CHECK_EQ(sink.ev[1].vm_id, 0x5eed);
	CHECK_EQ(sink.ev[1].h.isa, NQ_ISA_VMX);
	CHECK_EQ(sink.ev[1].inject.exit_code, NQ_VMX_EXIT_EXTERNAL_INTERRUPT);
	CHECK_EQ(sink.ev[1].inject.exit_int_info, 0x80000031);
	/* Another process's entry for this tid: neither vCPU nor VM is ours. */
	CHECK_EQ(sink.ev[2].h.vcpu_id, NQ_VCPU_UNKNOWN);
	CHECK_EQ(sink.ev[2].vm_id, 0);
}

static void test_qemu_name(void)
{
	static const char a[] = "qemu-system-x86_64\0-m\0512\0-name\0guest=vm1,debug-threads=on\0";
	static const char b[] = "qemu\0-name\0plain\0-smp\0002\0";
	static const char c[] = "qemu\0-name\0process=x,guest=g2\0";
	static const char d[] = "qemu\0-smp\0002\0";
	char out[64];

	CHECK_EQ(nq_qemu_name(a, sizeof(a) - 1, out, sizeof(out)), 0);
	CHECK(!strcmp(out, "vm1"));
	CHECK_EQ(nq_qemu_name(b, sizeof(b) - 1, out, sizeof(out)), 0);
	CHECK(!strcmp(out, "plain"));
	CHECK_EQ(nq_qemu_name(c, sizeof(c) - 1, out, sizeof(out)), 0);
	CHECK(!strcmp(out, "g2"));
	CHECK(nq_qemu_name(d, sizeof(d) - 1, out, sizeof(out)) != 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	RUN(test_qemu_name);
	RUN(test_load_all_programs);
	RUN(test_attach_plan);
	RUN(test_raw_accept_test_run);
	RUN(test_raw_accept_context);
	RUN(test_load_stream_exits);
	RUN(test_tgid_filter);
	RUN(test_format_offsets);
	RUN(test_drops_become_lost_records);
	RUN(test_lost_marker_placed_before_record);
	RUN(test_batched_wakeup);
	RUN(test_inject_vcpu_from_tid);
	RUN(test_msi_accept_core);
	RUN(test_msi_accept_format);
	RUN(test_msi_accept_raw);
	RUN(test_msi_accepts_counted);
	RUN(test_msi_accepts_context_on_request);
	TEST_EXIT();
}
