// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>

#include "nestirq/abi.h"
#include "tid_map.h"

static uint32_t slot_of(uint32_t tgid, uint32_t tid)
{
	return ((tid * 2654435761u) ^ tgid) & (NQ_TID_MAP_SLOTS - 1);
}

static uint32_t vm_slot_of(uint32_t tgid)
{
	return (tgid * 2654435761u) & (NQ_VM_MAP_SLOTS - 1);
}

int tid_map_init(struct tid_map *m)
{
	m->slots = malloc(NQ_TID_MAP_SLOTS * sizeof(*m->slots));
	m->vms = calloc(NQ_VM_MAP_SLOTS, sizeof(*m->vms));
	if (!m->slots || !m->vms) {
		tid_map_destroy(m);
		return -1;
	}
	for (uint32_t i = 0; i < NQ_TID_MAP_SLOTS; i++)
		m->slots[i] = (struct tid_slot){0, 0, NQ_VCPU_UNKNOWN, 0};
	return 0;
}

void tid_map_destroy(struct tid_map *m)
{
	free(m->slots);
	free(m->vms);
	m->slots = NULL;
	m->vms = NULL;
}

static void learn_vm(struct tid_map *m, uint32_t tgid, uint32_t vm_id)
{
	struct vm_slot *v = &m->vms[vm_slot_of(tgid)];

	if (v->tgid != tgid) {
		*v = (struct vm_slot){.tgid = tgid, .vm_id = vm_id};
		return;
	}
	if (v->vm_id != vm_id)
		v->several = true;
}

void tid_map_learn(struct tid_map *m, uint32_t tgid, uint32_t tid, uint32_t vcpu_id, uint32_t vm_id)
{
	struct tid_slot *s = &m->slots[slot_of(tgid, tid)];

	s->tgid = tgid;
	s->tid = tid;
	s->vcpu_id = vcpu_id;
	s->vm_id = vm_id;
	if (vm_id)
		learn_vm(m, tgid, vm_id);
}

const struct tid_slot *tid_map_lookup(const struct tid_map *m, uint32_t tgid, uint32_t tid)
{
	const struct tid_slot *s = &m->slots[slot_of(tgid, tid)];

	return s->tgid == tgid && s->tid == tid && s->vcpu_id != NQ_VCPU_UNKNOWN ? s : NULL;
}

uint32_t tid_map_vm_of(const struct tid_map *m, uint32_t tgid, bool *several)
{
	const struct vm_slot *v = &m->vms[vm_slot_of(tgid)];

	*several = v->tgid == tgid && v->several;
	return v->tgid == tgid && !v->several ? v->vm_id : 0;
}

void tid_map_forget(struct tid_map *m, uint32_t tgid)
{
	struct vm_slot *v = &m->vms[vm_slot_of(tgid)];

	if (v->tgid == tgid)
		memset(v, 0, sizeof(*v));
	for (uint32_t i = 0; i < NQ_TID_MAP_SLOTS; i++)
		if (m->slots[i].tgid == tgid)
			m->slots[i] = (struct tid_slot){0, 0, NQ_VCPU_UNKNOWN, 0};
}
