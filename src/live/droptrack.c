// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Where a loss belongs.  Every record carries drop_seq, the number of
 * records its CPU had dropped when it was reserved.  A record whose drop_seq
 * is larger than what was already announced for its CPU follows a loss: the
 * NQ_EV_LOST marker goes right before it, so the engine forgets the broken
 * checks before it judges anything that came after the gap.  Drops no record
 * has shown yet are announced after the batch.  Plain C, no libbpf.
 */
#include <stdlib.h>
#include <string.h>

#include "nestirq/probes.h"
#include "live.h"

int nq_droptrack_init(struct nq_droptrack *t, int ncpus, uint32_t tgid)
{
	memset(t, 0, sizeof(*t));
	if (ncpus <= 0)
		ncpus = 1;
	/* The BPF side keeps NQ_BSS_CPUS slots: CPUs beyond share one. */
	t->aliased = ncpus > NQ_BSS_CPUS;
	t->nslots = t->aliased ? NQ_BSS_CPUS : ncpus;
	t->tgid = tgid;
	t->announced = calloc((size_t)t->nslots, sizeof(*t->announced));
	return t->announced ? 0 : -1;
}

void nq_droptrack_free(struct nq_droptrack *t)
{
	free(t->announced);
	t->announced = NULL;
	t->nslots = 0;
}

void nq_lost_marker(struct nq_event *ev, uint16_t cpu, uint64_t count, uint8_t source,
		    uint64_t ts_ns, uint32_t tgid)
{
	memset(ev, 0, sizeof(*ev));
	ev->h.ts_ns = ts_ns;
	ev->h.tgid = tgid;
	ev->h.vcpu_id = NQ_VCPU_UNKNOWN;
	ev->h.cpu = cpu;
	ev->h.kind = NQ_EV_LOST;
	ev->lost.count = count;
	ev->lost.source = source;
}

static void announce(struct nq_droptrack *t, int slot, uint64_t n, uint64_t ts, nq_live_event_cb cb,
		     void *ctx)
{
	struct nq_event m;

	t->announced[slot] += n;
	t->total += n;
	nq_lost_marker(&m, t->aliased ? NQ_CPU_ALL : (uint16_t)slot, n, NQ_LOST_RINGBUF, ts,
		       t->tgid);
	if (cb)
		cb(&m, ctx);
}

void nq_droptrack_deliver(struct nq_droptrack *t, const struct nq_event *ev, nq_live_event_cb cb,
			  void *ctx)
{
	int slot = ev->h.cpu & (NQ_BSS_CPUS - 1);

	if (slot < t->nslots && ev->h.kind != NQ_EV_LOST) {
		/*
		 * drop_seq holds the low 32 bits: the signed difference is the
		 * number of drops since the last announcement.  It is negative
		 * for a record reserved before drops that a batch end already
		 * announced: nothing to add then.
		 */
		int32_t d = (int32_t)(ev->drop_seq - (uint32_t)t->announced[slot]);

		if (d > 0)
			announce(t, slot, (uint64_t)d, ev->h.ts_ns, cb, ctx);
	}
	if (cb)
		cb(ev, ctx);
}

void nq_droptrack_flush(struct nq_droptrack *t, const uint64_t *counted, uint64_t ts_ns,
			nq_live_event_cb cb, void *ctx)
{
	for (int s = 0; s < t->nslots; s++)
		if (counted[s] > t->announced[s])
			announce(t, s, counted[s] - t->announced[s], ts_ns, cb, ctx);
}

uint64_t nq_droptrack_cpu(const struct nq_droptrack *t, int cpu)
{
	if (!t->announced || cpu < 0)
		return 0;
	if (t->aliased)
		cpu &= NQ_BSS_CPUS - 1;
	return cpu < t->nslots ? t->announced[cpu] : 0;
}
