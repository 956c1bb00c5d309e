/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the engine remembers about one vCPU. */
#ifndef NESTIRQ_VCPU_STATE_H
#define NESTIRQ_VCPU_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "nestirq/abi.h"

#define NQ_ACCEPT_RING 8

/* One vmx/svm_check_nested_events invocation, from entry to return. */
struct check_txn {
	bool open;
	bool have_peek; /* the decision peek: last peek before exit emulation */
	bool have_inject;
	bool have_extint;  /* kvm_cpu_get_extint returned inside this check */
	bool exit_started; /* vmcs01 was loaded again or the exit was reported */
	uint8_t ctls;
	uint16_t posted_intr_nv;
	unsigned int n_acks;
	uint64_t cpus; /* host CPUs (mod 64) that produced this check's records */
	struct nq_event enter;
	struct nq_event peek;
	struct nq_event extint;
	struct nq_event ack; /* the first ack */
	struct nq_event inject;
};

/* An SVI update between the entry probe and the return probe. */
struct svi_txn {
	bool open;
	/*
	 * Event ABI 1 (no return probe): an entry in vmcs02 while L2 runs waits
	 * for the next record of its thread, to see whether the 7.x guard loads
	 * vmcs01 (the only vmcs01 load made while is_guest_mode()).
	 */
	bool legacy;
	uint8_t loads01; /* vmcs01 loads seen in the stream while open */
	struct nq_event entry;
	struct nq_event switch01; /* the first of them, for the evidence */
};

/*
 * 6.14 to 6.19 defer an SVI update made while L2 is active to the nested
 * VM-exit (nested.update_vmcs01_hwapic_isr); it must reach vmcs01 before
 * L1 runs again.
 */
struct svi_deferral {
	bool pending;		  /* observed deferred, not yet applied */
	bool exit_switched;	  /* the nested VM-exit loaded vmcs01 since */
	uint8_t apicv_active;	  /* at that switch: 0, 1 or NQ_BOOL_UNKNOWN */
	struct nq_event deferred; /* the return that showed the flag set */
	struct nq_event exit_switch;
};

struct vcpu_state {
	uint64_t key;	/* the VM: its vm_id when known, else its tgid (see engine.c) */
	uint32_t tgid;	/* label: the hosting process */
	uint32_t vm_id; /* label: 0 when the probes never saw the VM's struct kvm */
	uint32_t vcpu_id;
	uint32_t hash_next; /* index+1 */
	uint32_t lru_prev, lru_next;
	bool live;

	uint64_t last_ts;
	uint8_t vmcs; /* enum nq_vmcs, last known */
	bool have_switch;
	struct nq_event last_switch;

	bool pi_known;
	bool pi_enabled;
	uint16_t posted_intr_nv;

	/* IRR as far as the trace shows it: seen-accepted, and pending since. */
	uint64_t accepted[4];
	uint64_t pending[4];
	uint64_t accept_ts[256]; /* first accept since the last ack, 0 = none */
	struct nq_event accept_ring[NQ_ACCEPT_RING];
	unsigned int accept_head;

	struct check_txn txn;
	struct svi_txn svi;
	struct svi_deferral deferral;
};

static inline bool nq_bit_test(const uint64_t *map, unsigned int bit)
{
	return (map[bit >> 6] >> (bit & 63)) & 1;
}

static inline void nq_bit_set(uint64_t *map, unsigned int bit)
{
	map[bit >> 6] |= 1ull << (bit & 63);
}

static inline void nq_bit_clear(uint64_t *map, unsigned int bit)
{
	map[bit >> 6] &= ~(1ull << (bit & 63));
}

#endif /* NESTIRQ_VCPU_STATE_H */
