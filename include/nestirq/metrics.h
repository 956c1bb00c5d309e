/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Prometheus text exposition (format 0.0.4) of the engine's statistics and
 * the live side's health.  Plain C, no libbpf: `nestirq serve` fills a
 * snapshot under a short lock and renders it outside of it, and the unit
 * tests render hand-made snapshots.
 */
#ifndef NESTIRQ_METRICS_H
#define NESTIRQ_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nestirq/engine.h"

/*
 * Bounded label cardinality.  Violations carry a `vm` label; only the first
 * NQ_METRICS_TOP_VMS VMs that violate get their own value, every later one
 * is counted in vm="other".  The set never changes once a slot is taken:
 * moving a VM in or out of a ranking would make vm="other" decrease, which
 * Prometheus reads as a counter reset (and increase() would over-count).
 */
#define NQ_METRICS_TOP_VMS    8
#define NQ_METRICS_VM_LABEL   64
#define NQ_METRICS_MAX_CPUS   1024 /* CPUs beyond are summed into cpu="other" */
#define NQ_METRICS_MAX_PROGS  32
#define NQ_METRICS_MAX_PROBES 16

struct nq_vm_slot {
	uint32_t tgid;
	char label[NQ_METRICS_VM_LABEL];
	uint64_t by_kind[NQ_V__MAX];
};

struct nq_vm_table {
	unsigned int n;
	struct nq_vm_slot vm[NQ_METRICS_TOP_VMS];
	uint64_t other_by_kind[NQ_V__MAX];
};

/*
 * Counts one violation of `kind` for VM `tgid`.  Returns the VM's slot when
 * it was just created (its label is empty: the caller names it, e.g. with
 * nq_vm_label()), NULL otherwise.
 */
struct nq_vm_slot *nq_vm_table_count(struct nq_vm_table *t, uint32_t tgid, int kind);

struct nq_prog_stat {
	char name[32];
	uint64_t run_time_ns;
	uint64_t run_cnt;
};

struct nq_probe_state {
	char name[24];
	bool attached;
};

/* Everything one scrape shows; copied as a whole, so no pointers inside. */
struct nq_metrics_snap {
	struct nq_stats stats;
	struct nq_vm_table vms;

	/* build info */
	char version[32];
	char kernel[128];
	char flow[32];
	char isa[16];
	double start_time; /* Unix seconds */

	/* live side; `live` false for a snapshot without BPF */
	bool live;
	uint64_t drops_total;
	unsigned int ncpus;
	uint64_t drops_cpu[NQ_METRICS_MAX_CPUS];
	uint64_t drops_cpu_other; /* CPUs >= NQ_METRICS_MAX_CPUS */
	unsigned int nprobes;
	struct nq_probe_state probe[NQ_METRICS_MAX_PROBES];
	int bpf_stats_enabled; /* 1, 0, or -1: unknown */
	unsigned int nprogs;
	struct nq_prog_stat prog[NQ_METRICS_MAX_PROGS];
};

/* Writes the whole exposition.  Returns 0, or -1 if the stream failed. */
int nq_metrics_render(FILE *out, const struct nq_metrics_snap *s);

/* A label value with \\, \" and \n escaped, as the text format wants. */
void nq_metrics_label_value(FILE *out, const char *v);

/* Content-Type of the exposition. */
#define NQ_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif /* NESTIRQ_METRICS_H */
