/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One violation as one structured record, for the log pipelines `serve`
 * feeds: a JSON object (--log lines and /violations) and journald fields.
 * Plain C without libsystemd, so the unit tests check the exact fields.
 */
#ifndef NESTIRQ_SERVE_VRECORD_H
#define NESTIRQ_SERVE_VRECORD_H

#include <stddef.h>
#include <stdint.h>

#include "nestirq/engine.h"
#include "nestirq/ratelimit.h"

/* What serve knows about a violation beyond the engine's record. */
struct nq_vrec_ctx {
	uint64_t seq;	   /* 1 for the first violation since start */
	int64_t wall_ns;   /* CLOCK_REALTIME when it was proven */
	const char *label; /* VM label (QEMU -name), may be NULL */
};

/*
 * {"type":"violation","seq":..,"time":"..Z","severity":..,"kind":..,"invariant":..,
 *  "vm":..,"vm_id":..,"vm_label":..,"vcpu":..,"ts":..,"message":..,"evidence":[events]}
 * malloc'd, no newline; NULL when out of memory.
 */
char *nq_vrec_json(const struct nq_violation *v, const struct nq_vrec_ctx *c);
/* {"type":"suppressed",...} as nq_ratelimit_print, malloc'd, no newline. */
char *nq_vrec_suppressed_json(const struct nq_rl_report *r);

/* journald fields "KEY=value", built for sd_journal_sendv(). */
#define NQ_JF_MAX 18
struct nq_jfields {
	unsigned int n;
	char *f[NQ_JF_MAX];
};
int nq_jfields_violation(struct nq_jfields *jf, const struct nq_violation *v,
			 const struct nq_vrec_ctx *c);
int nq_jfields_suppressed(struct nq_jfields *jf, const struct nq_rl_report *r);
void nq_jfields_free(struct nq_jfields *jf);

/* The stable MESSAGE_ID (32 hex digits) of a limiter kind (nq_rl_kind); NQ_RL_KINDS: "suppressed".
 */
const char *nq_vrec_message_id(unsigned int kind);

#endif /* NESTIRQ_SERVE_VRECORD_H */
