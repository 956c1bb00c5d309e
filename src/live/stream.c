// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The stream: records from the ring buffer to the caller, with every loss
 * placed where its records' drop sequence puts it, missed kretprobes and
 * departed VMs reported once a second, and a sync record after them.
 */
#include <errno.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "nestirq/probes.h"
#include "live_internal.h"

uint64_t nq_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void report_counted(struct nq_live *l);

/* Wait until the ring buffer has data or timeout_ms passed; <0: error. */
static int wait_ready(struct nq_live *l, int timeout_ms)
{
	struct pollfd pfd = {.fd = ring_buffer__epoll_fd(l->rb), .events = POLLIN};
	int r = poll(&pfd, 1, timeout_ms);

	if (r < 0 && errno != EINTR)
		return -errno;
	return 0;
}

int nq_live_on_sample(void *ctx, void *data, size_t size)
{
	struct nq_live *l = ctx;
	struct nq_event ev;

	if (size < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));
	l->events++;
	if (l->watch_gone)
		nq_vmgone_seen(&l->gone, ev.h.tgid);
	nq_droptrack_deliver(&l->drops, &ev, l->o.cb, l->o.ctx);
	return 0;
}

static void snap_drops(struct nq_live *l)
{
	for (int c = 0; c < l->drops.nslots; c++)
		l->drop_snap[c] = __atomic_load_n(&l->skel->bss->cpu_ctr[c][NQ_CTR_DROPPED],
						  __ATOMIC_RELAXED);
}

/* Consume what is ready; losses go where their records' drop_seq puts them. */
static void consume(struct nq_live *l)
{
	snap_drops(l);
	ring_buffer__consume(l->rb);
	nq_droptrack_flush(&l->drops, l->drop_snap, nq_now_ns(), l->o.cb, l->o.ctx);
}

/* Probe misses (no CPU to name) become a marker for every CPU. */
static void report_misses(struct nq_live *l)
{
	uint64_t n = nq_probe_misses(l->skel->obj, l->links, l->nlinks);
	struct nq_event m;

	if (n <= l->misses_seen)
		return;
	nq_lost_marker(&m, NQ_CPU_ALL, n - l->misses_seen, NQ_LOST_PROBE_MISS, nq_now_ns(),
		       l->o.tgid);
	l->misses_total += n - l->misses_seen;
	l->misses_seen = n;
	if (l->o.cb)
		l->o.cb(&m, l->o.ctx);
}

/*
 * Every loss before now is reported: drops not yet tied to a record, and
 * missed kretprobes.  The engine may let its findings stand.
 */
static void report_sync(struct nq_live *l)
{
	struct nq_event m;

	snap_drops(l);
	nq_droptrack_flush(&l->drops, l->drop_snap, nq_now_ns(), l->o.cb, l->o.ctx);
	report_misses(l);
	memset(&m, 0, sizeof(m));
	m.h.ts_ns = nq_now_ns();
	m.h.tgid = l->o.tgid;
	m.h.vcpu_id = NQ_VCPU_UNKNOWN;
	m.h.cpu = NQ_CPU_ALL;
	m.h.kind = NQ_EV_SYNC;
	if (l->o.cb)
		l->o.cb(&m, l->o.ctx);
}

void nq_live_sync(struct nq_live *l)
{
	if (l && l->rb) {
		report_counted(l);
		report_sync(l);
	}
}

/* Once a second: processes that are gone, then a sync point. */
static void slow_checks(struct nq_live *l, bool force)
{
	uint64_t now = nq_now_ns();

	if (!force && now - l->slow_ns < SLOW_NS)
		return;
	l->slow_ns = now;
	report_counted(l);
	if (l->watch_gone)
		nq_vmgone_check(&l->gone, now, l->o.cb, l->o.ctx);
	report_sync(l);
}

static void count_record(struct nq_live *l, unsigned int kind, uint32_t reason, uint64_t n)
{
	struct nq_event m;

	memset(&m, 0, sizeof(m));
	m.h.ts_ns = nq_now_ns();
	m.h.tgid = l->o.tgid;
	m.h.vcpu_id = NQ_VCPU_UNKNOWN;
	m.h.cpu = NQ_CPU_ALL;
	m.h.kind = NQ_EV_COUNT;
	m.count.kind = (__u8)kind;
	m.count.reason = reason;
	m.count.n = n;
	if (l->o.cb)
		l->o.cb(&m, l->o.ctx);
}

/* Accepts counted in the kernel since the last report, as one count record. */
static void report_accepts(struct nq_live *l)
{
	uint64_t d = 0;

	if (!l->counting || !l->skel->bss)
		return;
	for (int cpu = 0; cpu < l->ncpus && cpu < NQ_BSS_CPUS; cpu++) {
		uint64_t now = __atomic_load_n(&l->skel->bss->cpu_ctr[cpu][NQ_CTR_ACCEPTS],
					       __ATOMIC_RELAXED);

		d += now - l->counted_seen[cpu];
		l->counted_seen[cpu] = now;
	}
	if (!d)
		return;
	l->counted_total += d;
	count_record(l, NQ_EV_IRQ_ACCEPT, NQ_COUNT_REASON_ANY, d);
}

/* Exits of L2 counted in the kernel since the last report: one record per reason. */
static void report_exits(struct nq_live *l)
{
	struct nq_exit_ctr *per_cpu;
	uint32_t key = 0;

	if (!l->exits_counted)
		return;
	per_cpu = calloc((size_t)l->ncpus, sizeof(*per_cpu));
	if (!per_cpu)
		return; /* counts stay in the kernel; the next report carries them */
	if (!bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.exit_ctr), &key, per_cpu)) {
		for (int r = 0; r < NQ_EXIT_SLOTS; r++) {
			uint64_t sum = 0;

			for (int cpu = 0; cpu < l->ncpus; cpu++)
				sum += per_cpu[cpu].n[r];
			if (sum == l->exits_seen[r])
				continue;
			count_record(l, NQ_EV_HW_NESTED_VMEXIT, (uint32_t)r,
				     sum - l->exits_seen[r]);
			l->exits_total += sum - l->exits_seen[r];
			l->exits_seen[r] = sum;
		}
	}
	free(per_cpu);
}

static void report_counted(struct nq_live *l)
{
	report_accepts(l);
	report_exits(l);
}

int nq_live_poll(struct nq_live *l, int timeout_ms)
{
	uint64_t before = l->events;
	int r;

	if (!l->rb)
		return 0;
	/*
	 * Wait, then read the drop counts, then consume: the batched wakeups
	 * may leave records behind, so every call drains what is there.
	 */
	r = wait_ready(l, timeout_ms);
	if (r < 0)
		return r;
	consume(l);
	slow_checks(l, false);
	return (int)(l->events - before);
}

void nq_live_drain_now(struct nq_live *l)
{
	consume(l);
	slow_checks(l, true);
}

const struct nq_plan *nq_live_plan(const struct nq_live *l)
{
	return &l->plan;
}

const struct nq_sysinfo *nq_live_sysinfo(const struct nq_live *l)
{
	return &l->si;
}

struct nestirq_bpf *nq_live_skel(struct nq_live *l)
{
	return l->skel;
}

bool nq_live_attached(const struct nq_live *l)
{
	return l->skel != NULL;
}

uint64_t nq_live_drops(const struct nq_live *l)
{
	return l->drops_before + l->drops.total;
}

uint64_t nq_live_probe_misses(const struct nq_live *l)
{
	return l->misses_total;
}

int nq_live_ncpus(const struct nq_live *l)
{
	return l->ncpus;
}

uint64_t nq_live_drops_cpu(const struct nq_live *l, int cpu)
{
	if (cpu >= l->ncpus)
		return 0;
	return nq_droptrack_cpu(&l->drops, cpu);
}

uint64_t nq_live_events(const struct nq_live *l)
{
	return l->events;
}

uint64_t nq_live_counted(const struct nq_live *l)
{
	return l->counted_total;
}

uint64_t nq_live_exits_counted(const struct nq_live *l)
{
	return l->exits_total;
}

int nq_live_accept_mode(const struct nq_live *l)
{
	return l->accept_mode;
}

bool nq_live_counting(const struct nq_live *l)
{
	return l->counting;
}

int nq_live_nloaded(const struct nq_live *l)
{
	return l->nloaded;
}

int nq_live_nprograms(const struct nq_live *l)
{
	struct bpf_program *prog;
	int n = 0;

	if (!l->skel)
		return 0;
	bpf_object__for_each_program(prog, l->skel->obj) n++;
	return n;
}
