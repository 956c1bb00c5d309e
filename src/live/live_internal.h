/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the loader (loader.c: plan, load, attach, re-plan) and the stream
 * (stream.c: ring buffer, losses, sync points) share about a struct nq_live.
 */
#ifndef NESTIRQ_LIVE_INTERNAL_H
#define NESTIRQ_LIVE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nestirq/probes.h"
#include "live.h"
#include "live_skel.h"

#define MAX_LINKS 24
#define MAX_KPS	  16
#define SLOW_NS	  1000000000ull /* probe misses and gone processes: once a second */

struct nq_live {
	struct nq_live_opts o;
	struct nq_sysinfo si;
	struct nq_plan plan;
	struct nestirq_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[MAX_LINKS];
	int nlinks;
	int nloaded;
	int ncpus;
	struct nq_droptrack drops; /* this object's drops, announced per CPU */
	uint64_t *drop_snap;	   /* per CPU drop counts read before a batch */
	uint64_t drops_before;	   /* drops of the objects before a re-plan */
	uint64_t misses_seen;	   /* probe misses of this object, announced */
	uint64_t misses_total;
	uint64_t slow_ns; /* last probe-miss and gone-process check */
	bool watch_gone;  /* /proc pids are the BPF side's (initial pid namespace) */
	struct nq_vmgone gone;
	uint64_t events;
	int accept_mode;	/* probes.h NQ_ACCEPTS_* */
	bool counting;		/* accepts counted in the kernel (count or context mode) */
	bool exits_counted;	/* exits of L2 counted in the kernel (not NESTIRQ_STREAM_EXITS) */
	uint64_t *counted_seen; /* per CPU, as last reported */
	uint64_t counted_total;
	uint64_t exits_seen[NQ_EXIT_SLOTS]; /* per reason slot, summed over CPUs, as reported */
	uint64_t exits_total;
	uint32_t ringbuf_bytes;
};

/* CLOCK_MONOTONIC in ns, the clock of bpf_ktime_get_ns(). */
uint64_t nq_now_ns(void);
/* ring_buffer__new's callback: one record to the stream. */
int nq_live_on_sample(void *ctx, void *data, size_t size);
/* Consume what is ready, then a forced sync point (before a re-plan). */
void nq_live_drain_now(struct nq_live *l);

#endif /* NESTIRQ_LIVE_INTERNAL_H */
