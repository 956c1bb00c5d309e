/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Thread -> (vCPU, VM) associations learnt from events that name their
 * vCPU, so that events whose probe cannot see the vCPU
 * (kvm_nested_vmexit_inject has no vcpu argument) still reach the right
 * state.  Also tgid -> VM, so that an event without a VM id finds the VM
 * when its process hosts exactly one.  Direct-mapped and fixed size: a
 * collision forgets the older entry, which only costs a lookup miss.
 */
#ifndef NESTIRQ_TID_MAP_H
#define NESTIRQ_TID_MAP_H

#include <stdbool.h>
#include <stdint.h>

#define NQ_TID_MAP_SLOTS 8192
#define NQ_VM_MAP_SLOTS	 1024

struct tid_slot {
	uint32_t tgid;
	uint32_t tid;
	uint32_t vcpu_id; /* NQ_VCPU_UNKNOWN = empty */
	uint32_t vm_id;	  /* 0 = unknown */
};

struct vm_slot {
	uint32_t tgid; /* 0 = empty */
	uint32_t vm_id;
	bool several; /* the process hosts more than one VM */
};

struct tid_map {
	struct tid_slot *slots;
	struct vm_slot *vms;
};

int tid_map_init(struct tid_map *m);
void tid_map_destroy(struct tid_map *m);
void tid_map_learn(struct tid_map *m, uint32_t tgid, uint32_t tid, uint32_t vcpu_id,
		   uint32_t vm_id);
/* NULL when the thread was never seen with a vCPU. */
const struct tid_slot *tid_map_lookup(const struct tid_map *m, uint32_t tgid, uint32_t tid);
/*
 * The VM of a process: its id (>0) when exactly one was seen, 0 when none
 * was, and *several set when more than one was (the caller cannot choose).
 */
uint32_t tid_map_vm_of(const struct tid_map *m, uint32_t tgid, bool *several);
/* Forget a process (it exited; its pid may be reused). */
void tid_map_forget(struct tid_map *m, uint32_t tgid);

#endif /* NESTIRQ_TID_MAP_H */
