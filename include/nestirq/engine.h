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

/*
 * Violations: each one is a proof, from the kernel's own state, that an
 * invariant broke.  What cannot be proven exactly is counted (struct
 * nq_stats) or reported as an informational finding, never as a violation.
 */
enum nq_violation_kind {
	NQ_V_VECTOR_MISMATCH = 0, /* I3: the vector acked != the vector KVM decided on */
	NQ_V_ACK_IN_VMCS02,	  /* I2: nested-exit ack made while vmcs02 was current */
	NQ_V_SVI_IN_VMCS02,	  /* I1: L1 SVI written while vmcs02 was current */
	NQ_V_INVALID_VECTOR,	  /* I5: ext-intr exit with ack-on-exit and no valid vector */
	NQ_V_NESTED_PI_NV,	  /* I4: exit for L2's posted-interrupt notification vector */
	NQ_V_MULTIPLE_ACKS,	  /* I6: more than one ack in one nested-event check */
	NQ_V_SVI_DEFERRED_LOST,	  /* I1: a deferred SVI update never reached vmcs01 */
	NQ_V__MAX
};

/* Informational findings: reported with their evidence, never fail a gate. */
enum nq_info_kind {
	NQ_INFO_RACE_WINDOW = 0, /* <= 6.11: the peek differed from the ack (hardware-faithful) */
	NQ_INFO__MAX
};

enum nq_severity {
	NQ_SEV_VIOLATION = 0,
	NQ_SEV_INFO = 1,
};

/* Stable names, used in text, JSON, TAP and metric labels. */
const char *nq_violation_name(enum nq_violation_kind kind);
const char *nq_info_name(enum nq_info_kind kind);
int nq_info_from_name(const char *name);
/* "violation" or "info" */
const char *nq_severity_name(enum nq_severity sev);
struct nq_violation;
/* The name of a finding's kind, by its severity. */
const char *nq_finding_name(const struct nq_violation *f);
/* The invariant (I1..I6 of the docs) a violation kind belongs to. */
const char *nq_violation_invariant(enum nq_violation_kind kind);
/* Returns -1 for an unknown name. */
int nq_violation_from_name(const char *name);

#define NQ_EVIDENCE_MAX	 6
#define NQ_VIOLATION_MSG 224

/* A finding: a violation, or an informational finding when severity says so. */
struct nq_violation {
	enum nq_violation_kind kind; /* enum nq_info_kind when severity is NQ_SEV_INFO */
	enum nq_severity severity;
	uint32_t tgid;	/* the process that hosts the VM (a label) */
	uint32_t vm_id; /* the VM (struct kvm) when the probes saw it, else 0 */
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
	uint64_t counted;	  /* records counted in the kernel (NQ_EV_COUNT), not streamed */
	uint64_t out_of_order;	  /* per-vCPU timestamp went backwards */
	uint64_t unresolved_vcpu; /* event without vcpu id, no tid mapping */
	uint64_t lost;		  /* sum of NQ_EV_LOST counts */
	uint64_t vcpu_evictions;  /* vCPU state dropped to stay bounded */
	uint64_t hw_exit_reasons[NQ_EXIT_REASONS];
	uint64_t inject_exit_reasons[NQ_EXIT_REASONS];

	uint64_t checks;		  /* nested-event checks closed */
	uint64_t pairs;			  /* acked == decided (== reported) vectors */
	uint64_t race_window_hits;	  /* <= 6.11: peek != ack, hardware-faithful */
	uint64_t vector_unproven;	  /* peek != report with no ack and no known flow */
	uint64_t exits_no_ack;		  /* ext-intr exits without ack-on-exit */
	uint64_t extint_exits;		  /* ext-intr exits with a vector kvm_cpu_get_extint gave */
	uint64_t exits_unpaired;	  /* ext-intr exits with a vector no probe explains */
	uint64_t busy_peeks;		  /* peeks dropped by -EBUSY (6.14+) */
	uint64_t nested_pi_nv;		  /* NV peeks that took the nested PI path */
	uint64_t svm_intr_exits;	  /* nSVM INTR exits (no ack by design) */
	uint64_t svi_deferred;		  /* SVI updates deferred to the nested VM-exit */
	uint64_t svi_deferred_applied;	  /* ... and applied to vmcs01 there */
	uint64_t svi_deferred_unverified; /* deferral outcome unknowable (APICv state, loss) */
	uint64_t svi_guarded;		  /* written in vmcs01 by the 7.x guard's switch */
	uint64_t svi_unjudged;		  /* SVI entries whose return never came */
	uint64_t svi_l2_state;		  /* legitimate writes of L2's state into vmcs02 */
	uint64_t acks_unknown_irr;	  /* acks of vectors never seen accepted: no verdict */
	uint64_t acks_not_pending;	  /* acks with no accept since the previous ack */
	uint64_t accepts_not_fixed;	  /* INIT/SIPI/NMI/ExtINT deliveries: no IRR bit */
	uint64_t accepts_unattributed;	  /* accepts whose VM cannot be told apart */
	uint64_t unterminated_checks;	  /* check entered again before its return */
	uint64_t checks_dropped_by_loss;  /* open checks dropped because records were lost */
	uint64_t unproven_after_loss;	  /* findings withheld because a loss came before them */
	uint64_t vms_gone;		  /* VMs whose state was dropped when they went away */

	uint64_t violations;
	uint64_t by_violation[NQ_V__MAX];
	uint64_t infos;
	uint64_t by_info[NQ_INFO__MAX];

	struct nq_hist accept_to_ack;
	struct nq_hist peek_to_ack;
};

typedef void (*nq_violation_cb)(const struct nq_violation *v, void *ctx);

struct nq_engine_config {
	unsigned int max_vcpus;	      /* bound on tracked vCPUs (LRU eviction); 0: default */
	nq_violation_cb on_violation; /* may be NULL */
	nq_violation_cb on_info;      /* informational findings; may be NULL */
	void *ctx;
};

struct nq_engine;

struct nq_engine *nq_engine_new(const struct nq_engine_config *cfg);
void nq_engine_free(struct nq_engine *e);
/* Consume one event. Never fails: anomalies are counted in the stats. */
void nq_engine_feed(struct nq_engine *e, const struct nq_event *ev);
/*
 * Findings are held until a sync point, so that a loss reported after the
 * records that completed them (the live side places a marker only when it
 * sees the next record of the dropping CPU, and reads missed kretprobes once
 * a second) withholds them instead of letting a gap become a verdict.  The
 * live side emits NQ_EV_SYNC records once every loss up to then is
 * reported; they are recorded in traces too, so a replay reaches the same
 * verdicts.  nq_engine_sync is the same for callers without such records.
 */
void nq_engine_sync(struct nq_engine *e);
/* Close open checks at the end of a stream (replay EOF, live shutdown); syncs. */
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
