/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Thread -> vCPU associations learnt from events that name their vCPU, so
 * that events whose probe cannot see the vCPU (kvm_nested_vmexit_inject has
 * no vcpu argument) still reach the right state.  Direct-mapped and fixed
 * size: a collision forgets the older thread, which only costs a lookup miss.
 */
#ifndef NESTIRQ_TID_MAP_H
#define NESTIRQ_TID_MAP_H

#include <stdint.h>

#define NQ_TID_MAP_SLOTS 8192

struct tid_slot {
	uint32_t tgid;
	uint32_t tid;
	uint32_t vcpu_id; /* NQ_VCPU_UNKNOWN = empty */
};

struct tid_map {
	struct tid_slot *slots;
};

int tid_map_init(struct tid_map *m);
void tid_map_destroy(struct tid_map *m);
void tid_map_learn(struct tid_map *m, uint32_t tgid, uint32_t tid, uint32_t vcpu_id);
/* NQ_VCPU_UNKNOWN when the thread was never seen with a vCPU. */
uint32_t tid_map_lookup(const struct tid_map *m, uint32_t tgid, uint32_t tid);

#endif /* NESTIRQ_TID_MAP_H */
