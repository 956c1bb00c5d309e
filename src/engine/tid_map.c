// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>

#include "nestirq/abi.h"
#include "tid_map.h"

static uint32_t slot_of(uint32_t tgid, uint32_t tid)
{
	return ((tid * 2654435761u) ^ tgid) & (NQ_TID_MAP_SLOTS - 1);
}

int tid_map_init(struct tid_map *m)
{
	m->slots = malloc(NQ_TID_MAP_SLOTS * sizeof(*m->slots));
	if (!m->slots)
		return -1;
	for (uint32_t i = 0; i < NQ_TID_MAP_SLOTS; i++)
		m->slots[i] = (struct tid_slot){0, 0, NQ_VCPU_UNKNOWN};
	return 0;
}

void tid_map_destroy(struct tid_map *m)
{
	free(m->slots);
	m->slots = NULL;
}

void tid_map_learn(struct tid_map *m, uint32_t tgid, uint32_t tid, uint32_t vcpu_id)
{
	struct tid_slot *s = &m->slots[slot_of(tgid, tid)];

	s->tgid = tgid;
	s->tid = tid;
	s->vcpu_id = vcpu_id;
}

uint32_t tid_map_lookup(const struct tid_map *m, uint32_t tgid, uint32_t tid)
{
	const struct tid_slot *s = &m->slots[slot_of(tgid, tid)];

	return s->tgid == tgid && s->tid == tid ? s->vcpu_id : NQ_VCPU_UNKNOWN;
}
