/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The invariant engine: a per-vCPU state machine over struct nq_event.
 * Plain C, no libbpf: the same engine consumes live ring-buffer events and
 * recorded trace files.
 */
#ifndef NESTIRQ_ENGINE_H
#define NESTIRQ_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nestirq/abi.h"
#include "nestirq/abi_names.h" /* nq_kind_name() */

enum nq_violation_kind {
	NQ_V_VECTOR_MISMATCH = 0, /* I3: peeked != acked != reported to L1 */
	NQ_V_ACK_IN_VMCS02,	  /* I2: nested-exit ack made while vmcs02 was current */
	NQ_V_SVI_IN_VMCS02,	  /* I1: L1 SVI written while vmcs02 was current */
	NQ_V_INVALID_VECTOR,	  /* I5: ext-intr exit with ack-on-exit and no valid vector */
	NQ_V_NESTED_PI_NV,	  /* I4: exit for L2's posted-interrupt notification vector */
	NQ_V_MULTIPLE_ACKS,	  /* I6: more than one ack in one nested-event check */
	NQ_V_ACK_NOT_ACCEPTED,	  /* an ack of a vector that was not pending */
	NQ_V__MAX
};

/* Stable names, used in text, JSON, TAP and metric labels. */
const char *nq_violation_name(enum nq_violation_kind kind);
/* The invariant (I1..I6 of the docs) a violation kind belongs to. */
const char *nq_violation_invariant(enum nq_violation_kind kind);
/* Returns -1 for an unknown name. */
int nq_violation_from_name(const char *name);

#define NQ_EVIDENCE_MAX	 6
#define NQ_VIOLATION_MSG 160

struct nq_violation {
	enum nq_violation_kind kind;
	uint32_t tgid;
	uint32_t vcpu_id;
	uint64_t ts_ns; /* of the event that completed the proof */
	char message[NQ_VIOLATION_MSG];
	unsigned int n_evidence;
	struct nq_event evidence[NQ_EVIDENCE_MAX];
};

/* log2 latency histogram: bucket i counts values in [2^i, 2^(i+1)) ns. */
#define NQ_HIST_BUCKETS 40
struct nq_hist {
	uint64_t bucket[NQ_HIST_BUCKETS];
	uint64_t count;
	uint64_t sum_ns;
	uint64_t max_ns;
};

#define NQ_EXIT_REASONS 128 /* reasons >= this are counted in the last slot */

struct nq_stats {
	uint64_t events;
	uint64_t by_kind[NQ_EV__MAX];
	uint64_t unknown_kind;	  /* records with kind >= NQ_EV__MAX */
	uint64_t out_of_order;	  /* per-vCPU timestamp went backwards */
	uint64_t unresolved_vcpu; /* event without vcpu id, no tid mapping */
	uint64_t lost;		  /* sum of NQ_EV_LOST counts */
	uint64_t vcpu_evictions;  /* vCPU state dropped to stay bounded */
	uint64_t hw_exit_reasons[NQ_EXIT_REASONS];
	uint64_t inject_exit_reasons[NQ_EXIT_REASONS];

	uint64_t checks;	      /* nested-event checks closed */
	uint64_t pairs;		      /* peek/ack/report triples that agreed */
	uint64_t exits_no_ack;	      /* ext-intr exits without ack-on-exit */
	uint64_t extint_exits;	      /* ext-intr exits carrying a PIC (ExtINT) vector */
	uint64_t busy_peeks;	      /* peeks dropped by -EBUSY (6.14+) */
	uint64_t nested_pi_nv;	      /* NV peeks that took the nested PI path */
	uint64_t svm_intr_exits;      /* nSVM INTR exits (no ack by design) */
	uint64_t svi_deferred;	      /* 6.14+ deferred SVI updates */
	uint64_t svi_l2_state;	      /* legitimate writes of L2's state into vmcs02 */
	uint64_t acks_unknown_irr;    /* acks of vectors never seen accepted: no verdict */
	uint64_t unterminated_checks; /* check entered again before its return */

	uint64_t violations;
	uint64_t by_violation[NQ_V__MAX];

	struct nq_hist accept_to_ack;
	struct nq_hist peek_to_ack;
};

typedef void (*nq_violation_cb)(const struct nq_violation *v, void *ctx);

struct nq_engine_config {
	unsigned int max_vcpus;	      /* bound on tracked vCPUs (LRU eviction); 0: default */
	nq_violation_cb on_violation; /* may be NULL */
	void *ctx;
};

struct nq_engine;

struct nq_engine *nq_engine_new(const struct nq_engine_config *cfg);
void nq_engine_free(struct nq_engine *e);
/* Consume one event. Never fails: anomalies are counted in the stats. */
void nq_engine_feed(struct nq_engine *e, const struct nq_event *ev);
/*
 * n events of `kind` that the probes counted instead of delivering (live
 * accepts with nothing to pair them with): only the counters move.
 */
void nq_engine_count(struct nq_engine *e, unsigned int kind, uint64_t n);
/* Close open checks at the end of a stream (replay EOF, live shutdown). */
void nq_engine_finish(struct nq_engine *e);
const struct nq_stats *nq_engine_stats(const struct nq_engine *e);

/* The scalar counters of struct nq_stats, by stable name (reports, metrics, tests). */
struct nq_stat_field {
	const char *name;
	size_t offset; /* of a uint64_t inside struct nq_stats */
	const char *help;
};
extern const struct nq_stat_field nq_stat_fields[];
extern const size_t nq_stat_fields_count;
/* The value of nq_stat_fields[i] in s. */
uint64_t nq_stats_field(const struct nq_stats *s, size_t i);
/* Returns 0 and sets *value, or -1 for an unknown name. */
int nq_stats_lookup(const struct nq_stats *s, const char *name, uint64_t *value);

void nq_hist_add(struct nq_hist *h, uint64_t ns);
/* Approximate quantile (0..1) from the log2 buckets; 0 if empty. */
uint64_t nq_hist_quantile(const struct nq_hist *h, double q);

#endif /* NESTIRQ_ENGINE_H */
