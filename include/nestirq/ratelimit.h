/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Violation storm control, in the spirit of the kernel's printk rate
 * limiting: the first NQ_RL_BURST violations of each (kind, VM) are shown in
 * full; after that each (kind, VM) gets at most one "N more suppressed" line
 * per NQ_RL_INTERVAL_NS.  A (kind, VM) quiet for a whole interval starts a
 * new episode and is shown in full again.  Counting is the caller's job
 * (engine stats stay exact); this only decides what gets printed.
 *
 * Time is whatever clock the caller passes, in ns: trace time for replay
 * (deterministic output), CLOCK_MONOTONIC for the live commands.
 */
#ifndef NESTIRQ_RATELIMIT_H
#define NESTIRQ_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "nestirq/engine.h"

/*
 * The limiter's kinds: the violation kinds, then the informational
 * finding kinds after them, so that both can be keyed in one table.
 */
#define NQ_RL_KINDS (NQ_V__MAX + NQ_INFO__MAX)
static inline unsigned int nq_rl_kind(const struct nq_violation *v)
{
	return v->severity == NQ_SEV_INFO ? NQ_V__MAX + (unsigned int)v->kind
					  : (unsigned int)v->kind;
}
/* "svi_in_vmcs02", "race_window"; and "I1", or "-" for a finding that is no violation. */
const char *nq_rl_kind_name(unsigned int kind);
const char *nq_rl_kind_invariant(unsigned int kind);

#define NQ_RL_BURST	  5
#define NQ_RL_INTERVAL_NS (UINT64_C(10) * 1000000000u)
/* (kind, VM) pairs tracked one by one; beyond, one shared slot per kind. */
#define NQ_RL_KEYS	256
#define NQ_RL_OTHER_VMS UINT32_MAX

struct nq_rl_key {
	uint32_t vm;
	uint32_t kind;
	uint32_t shown;		    /* in full, this episode */
	uint64_t suppressed;	    /* since the last report */
	uint64_t suppressed_total;  /* this run */
	uint64_t first_ns, last_ns; /* of the pending suppressed ones */
	uint64_t seen_ns;	    /* last violation of this key */
	bool used;
};

/* One "suppressed" line: count findings of kind in vm between first and last. */
struct nq_rl_report {
	unsigned int kind; /* a limiter kind (nq_rl_kind) */
	uint32_t vm;	   /* NQ_RL_OTHER_VMS: VMs beyond NQ_RL_KEYS */
	uint64_t count, total;
	uint64_t first_ns, last_ns;
};

typedef void (*nq_rl_report_cb)(const struct nq_rl_report *r, void *ctx);

struct nq_ratelimit {
	unsigned int burst; /* 0: no limit (--all-violations) */
	uint64_t interval_ns;
	nq_rl_report_cb report;
	void *ctx;
	unsigned int nkeys;
	struct nq_rl_key key[NQ_RL_KEYS];
	struct nq_rl_key other[NQ_RL_KINDS];
	uint64_t suppressed_total;
};

/* burst 0 shows every violation. */
void nq_ratelimit_init(struct nq_ratelimit *rl, unsigned int burst, uint64_t interval_ns,
		       nq_rl_report_cb report, void *ctx);
/* True: show this violation in full.  May first report a finished interval. */
bool nq_ratelimit_allow(struct nq_ratelimit *rl, unsigned int kind, uint32_t vm, uint64_t now_ns);
/* Reports every (kind, VM) whose interval has run out; all pending ones if force (at exit). */
void nq_ratelimit_flush(struct nq_ratelimit *rl, uint64_t now_ns, bool force);

/* The line for r: text ("suppressed: ...") or one JSON object, newline included. */
void nq_ratelimit_print(FILE *out, const struct nq_rl_report *r, bool json);
int nq_ratelimit_format(char *buf, size_t len, const struct nq_rl_report *r);

#endif /* NESTIRQ_RATELIMIT_H */
