// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Where losses and gone VMs are announced, from synthetic records: the LOST
 * marker goes right before the first record that follows the drop on its
 * CPU, not after the batch; drops no record has shown yet come after the
 * batch; a process that is gone (or whose pid was reused) yields VM_GONE
 * once.  Needs no privilege.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nestirq/probes.h"
#include "live/live.h"

#define MAXOUT 64

struct out {
	int n;
	struct nq_event ev[MAXOUT];
};

static void out_cb(const struct nq_event *ev, void *ctx)
{
	struct out *o = ctx;

	if (o->n < MAXOUT)
		o->ev[o->n++] = *ev;
}

static struct nq_event rec(uint16_t cpu, uint32_t drop_seq, uint64_t ts)
{
	struct nq_event e;

	memset(&e, 0, sizeof(e));
	e.h.kind = NQ_EV_IRQ_ACCEPT;
	e.h.cpu = cpu;
	e.h.ts_ns = ts;
	e.h.tgid = 42;
	e.drop_seq = drop_seq;
	return e;
}

/* Two drops before the 3rd record of CPU 1: the marker precedes that record. */
static void test_marker_before_record(void)
{
	struct nq_droptrack t;
	struct out o = {0};
	struct nq_event in[5] = {rec(1, 0, 10), rec(0, 0, 11), rec(1, 0, 12), rec(1, 2, 13),
				 rec(0, 0, 14)};
	uint64_t counted[4] = {0, 2, 0, 0};

	CHECK_EQ(nq_droptrack_init(&t, 4, 7), 0);
	for (int i = 0; i < 5; i++)
		nq_droptrack_deliver(&t, &in[i], out_cb, &o);
	nq_droptrack_flush(&t, counted, 99, out_cb, &o);
	CHECK_EQ(o.n, 6);
	CHECK_EQ(o.ev[3].h.kind, NQ_EV_LOST);
	CHECK_EQ(o.ev[3].h.cpu, 1);
	CHECK_EQ(o.ev[3].lost.count, 2);
	CHECK_EQ(o.ev[3].lost.source, NQ_LOST_RINGBUF);
	CHECK_EQ(o.ev[3].h.tgid, 7);
	CHECK_EQ(o.ev[3].h.ts_ns, 13);
	CHECK_EQ(o.ev[4].h.ts_ns, 13);
	CHECK_EQ(o.ev[4].h.kind, NQ_EV_IRQ_ACCEPT);
	/* Nothing left for the batch end: the count read before was announced. */
	CHECK_EQ(o.ev[5].h.kind, NQ_EV_IRQ_ACCEPT);
	CHECK_EQ(t.total, 2);
	CHECK_EQ(nq_droptrack_cpu(&t, 1), 2);
	CHECK_EQ(nq_droptrack_cpu(&t, 0), 0);
	nq_droptrack_free(&t);
}

/*
 * Drops after the last record of a batch go at its end; a late record that
 * was reserved before them (smaller drop_seq) adds nothing; the next drop
 * after them counts only the difference.
 */
static void test_flush_then_late_records(void)
{
	struct nq_droptrack t;
	struct out o = {0};
	struct nq_event a = rec(2, 0, 1), late = rec(2, 3, 2), next = rec(2, 5, 3);
	uint64_t counted[4] = {0, 0, 4, 0};

	CHECK_EQ(nq_droptrack_init(&t, 4, 0), 0);
	nq_droptrack_deliver(&t, &a, out_cb, &o);
	nq_droptrack_flush(&t, counted, 50, out_cb, &o);
	CHECK_EQ(o.n, 2);
	CHECK_EQ(o.ev[1].h.kind, NQ_EV_LOST);
	CHECK_EQ(o.ev[1].lost.count, 4);
	CHECK_EQ(o.ev[1].h.ts_ns, 50);
	nq_droptrack_deliver(&t, &late, out_cb, &o);
	CHECK_EQ(o.n, 3);
	CHECK_EQ(o.ev[2].h.kind, NQ_EV_IRQ_ACCEPT);
	nq_droptrack_deliver(&t, &next, out_cb, &o);
	CHECK_EQ(o.n, 5);
	CHECK_EQ(o.ev[3].h.kind, NQ_EV_LOST);
	CHECK_EQ(o.ev[3].lost.count, 1);
	nq_droptrack_flush(&t, counted, 60, out_cb, &o);
	CHECK_EQ(o.n, 5);
	CHECK_EQ(t.total, 5);
	nq_droptrack_free(&t);
}

/* drop_seq carries 32 bits: the count keeps going across the wrap. */
static void test_drop_seq_wraps(void)
{
	struct nq_droptrack t;
	struct out o = {0};
	struct nq_event a = rec(0, 0xfffffffeu, 1), b = rec(0, 3, 2);
	uint64_t counted[1] = {0xfffffffeull};

	CHECK_EQ(nq_droptrack_init(&t, 1, 0), 0);
	nq_droptrack_flush(&t, counted, 0, out_cb, &o);
	nq_droptrack_deliver(&t, &a, out_cb, &o);
	nq_droptrack_deliver(&t, &b, out_cb, &o);
	CHECK_EQ(o.n, 4);
	CHECK_EQ(o.ev[0].lost.count, 0xfffffffeull);
	CHECK_EQ(o.ev[1].h.kind, NQ_EV_IRQ_ACCEPT);
	CHECK_EQ(o.ev[2].lost.count, 5);
	CHECK_EQ(nq_droptrack_cpu(&t, 0), 0x100000003ull);
	nq_droptrack_free(&t);
}

/* More CPUs than BPF slots: markers cannot name one CPU. */
static void test_aliased_cpus(void)
{
	struct nq_droptrack t;
	struct out o = {0};
	struct nq_event a = rec(NQ_BSS_CPUS + 3, 1, 1);

	CHECK_EQ(nq_droptrack_init(&t, NQ_BSS_CPUS * 2, 0), 0);
	nq_droptrack_deliver(&t, &a, out_cb, &o);
	CHECK_EQ(o.n, 2);
	CHECK_EQ(o.ev[0].h.cpu, NQ_CPU_ALL);
	CHECK_EQ(nq_droptrack_cpu(&t, 3), 1);
	nq_droptrack_free(&t);
}

/* ---- gone processes ---- */

static uint64_t fake_start[8];

static uint64_t fake_start_of(uint32_t pid)
{
	return pid < 8 ? fake_start[pid] : 0;
}

static void test_vm_gone(void)
{
	struct nq_vmgone g;
	struct out o = {0};

	memset(fake_start, 0, sizeof(fake_start));
	fake_start[3] = 100;
	fake_start[4] = 200;
	fake_start[5] = 300;
	nq_vmgone_init(&g, fake_start_of);
	nq_vmgone_seen(&g, 3);
	nq_vmgone_seen(&g, 4);
	nq_vmgone_seen(&g, 4);
	nq_vmgone_seen(&g, 5);
	nq_vmgone_seen(&g, 0); /* kernel threads: never followed */
	CHECK_EQ(g.n, 3);
	CHECK_EQ(nq_vmgone_check(&g, 1, out_cb, &o), 0);
	fake_start[3] = 0;   /* exited */
	fake_start[5] = 301; /* pid reused by a newer process */
	CHECK_EQ(nq_vmgone_check(&g, 2, out_cb, &o), 2);
	CHECK_EQ(o.n, 2);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(o.ev[i].h.kind, NQ_EV_VM_GONE);
		CHECK_EQ(o.ev[i].vm_id, 0);
		CHECK_EQ(o.ev[i].vm_gone.tgid, o.ev[i].h.tgid);
		CHECK(o.ev[i].h.tgid == 3 || o.ev[i].h.tgid == 5);
	}
	CHECK(o.ev[0].h.tgid != o.ev[1].h.tgid);
	/* Announced once; the new process behind pid 5 is followed afresh. */
	CHECK_EQ(nq_vmgone_check(&g, 3, out_cb, &o), 0);
	nq_vmgone_seen(&g, 5);
	CHECK_EQ(g.n, 2);
	CHECK_EQ(nq_vmgone_check(&g, 4, out_cb, &o), 0);
	nq_vmgone_free(&g);
}

/* The real /proc reader: this process exists, pid 0 never does. */
static void test_proc_start_time(void)
{
	CHECK(nq_proc_start_time((uint32_t)getpid()) > 0);
	CHECK_EQ(nq_proc_start_time((uint32_t)getpid()), nq_proc_start_time((uint32_t)getpid()));
	CHECK_EQ(nq_proc_start_time(0), 0);
}

int main(void)
{
	RUN(test_marker_before_record);
	RUN(test_flush_then_late_records);
	RUN(test_drop_seq_wraps);
	RUN(test_aliased_cpus);
	RUN(test_vm_gone);
	RUN(test_proc_start_time);
	TEST_EXIT();
}
