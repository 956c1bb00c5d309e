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
	bool exit_started; /* vmcs01 was loaded again or the exit was reported */
	uint8_t ctls;
	uint16_t posted_intr_nv;
	unsigned int n_acks;
	struct nq_event enter;
	struct nq_event peek;
	struct nq_event ack; /* the first ack */
	struct nq_event inject;
};

struct vcpu_state {
	uint32_t tgid;
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
