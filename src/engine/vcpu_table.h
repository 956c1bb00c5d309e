/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A bounded map from (VM, vCPU) to per-vCPU state.  A fixed pool, chained
 * hashing and an LRU list: when the pool is full the least recently used
 * vCPU is recycled, so memory never grows with the trace.
 */
#ifndef NESTIRQ_VCPU_TABLE_H
#define NESTIRQ_VCPU_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "vcpu_state.h"

struct vcpu_table {
	struct vcpu_state *pool;
	uint32_t *buckets; /* index+1 into pool, 0 = empty */
	uint32_t nbuckets; /* power of two */
	uint32_t capacity;
	uint32_t used;
	uint32_t lru_head;	 /* most recent, index+1 */
	uint32_t lru_tail;	 /* least recent, index+1 */
	uint32_t free_head;	 /* removed slots, index+1, chained by hash_next */
	struct vcpu_state *last; /* one-entry cache: events come in runs per vCPU */
};

int vcpu_table_init(struct vcpu_table *t, uint32_t capacity);
void vcpu_table_destroy(struct vcpu_table *t);

/*
 * Finds or creates the state of (VM key, vcpu_id).  *evicted is set when an
 * older vCPU was recycled to make room; the caller must have been given the
 * chance to close it, so eviction hands the victim to the callback first.
 */
struct vcpu_state *vcpu_table_get(struct vcpu_table *t, uint64_t key, uint32_t vcpu_id,
				  void (*on_evict)(struct vcpu_state *victim, void *ctx),
				  void *ctx);

/* Forgets one vCPU (its VM went away); the slot is reused. */
void vcpu_table_remove(struct vcpu_table *t, struct vcpu_state *s);

/* Calls fn on every live vCPU state; fn may remove the state it is given. */
void vcpu_table_for_each(struct vcpu_table *t, void (*fn)(struct vcpu_state *s, void *ctx),
			 void *ctx);

#endif /* NESTIRQ_VCPU_TABLE_H */
