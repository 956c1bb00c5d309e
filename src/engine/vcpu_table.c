// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>

#include "vcpu_table.h"

static uint32_t hash_key(uint64_t vm, uint32_t vcpu_id)
{
	uint64_t k = (vm * 0x9e3779b97f4a7c15ull) ^ vcpu_id;

	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (uint32_t)k;
}

int vcpu_table_init(struct vcpu_table *t, uint32_t capacity)
{
	memset(t, 0, sizeof(*t));
	if (!capacity)
		capacity = 1;
	t->nbuckets = 1;
	while (t->nbuckets < capacity * 2)
		t->nbuckets <<= 1;
	t->pool = calloc(capacity, sizeof(*t->pool));
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->pool || !t->buckets) {
		vcpu_table_destroy(t);
		return -1;
	}
	t->capacity = capacity;
	return 0;
}

void vcpu_table_destroy(struct vcpu_table *t)
{
	free(t->pool);
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static void lru_unlink(struct vcpu_table *t, struct vcpu_state *s)
{
	if (s->lru_prev)
		t->pool[s->lru_prev - 1].lru_next = s->lru_next;
	else
		t->lru_head = s->lru_next;
	if (s->lru_next)
		t->pool[s->lru_next - 1].lru_prev = s->lru_prev;
	else
		t->lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = 0;
}

static void lru_push_front(struct vcpu_table *t, struct vcpu_state *s)
{
	uint32_t idx = (uint32_t)(s - t->pool) + 1;

	s->lru_prev = 0;
	s->lru_next = t->lru_head;
	if (t->lru_head)
		t->pool[t->lru_head - 1].lru_prev = idx;
	t->lru_head = idx;
	if (!t->lru_tail)
		t->lru_tail = idx;
}

static void hash_remove(struct vcpu_table *t, struct vcpu_state *s)
{
	uint32_t idx = (uint32_t)(s - t->pool) + 1;
	uint32_t *link = &t->buckets[hash_key(s->key, s->vcpu_id) & (t->nbuckets - 1)];

	while (*link && *link != idx)
		link = &t->pool[*link - 1].hash_next;
	if (*link)
		*link = s->hash_next;
	s->hash_next = 0;
}

struct vcpu_state *vcpu_table_get(struct vcpu_table *t, uint64_t key, uint32_t vcpu_id,
				  void (*on_evict)(struct vcpu_state *victim, void *ctx), void *ctx)
{
	struct vcpu_state *s = t->last;
	uint32_t b, i;

	if (s && s->live && s->key == key && s->vcpu_id == vcpu_id)
		return s;

	b = hash_key(key, vcpu_id) & (t->nbuckets - 1);
	for (i = t->buckets[b]; i; i = t->pool[i - 1].hash_next) {
		s = &t->pool[i - 1];
		if (s->key == key && s->vcpu_id == vcpu_id) {
			if (t->lru_head != i) {
				lru_unlink(t, s);
				lru_push_front(t, s);
			}
			t->last = s;
			return s;
		}
	}

	if (t->free_head) {
		s = &t->pool[t->free_head - 1];
		t->free_head = s->hash_next;
	} else if (t->used < t->capacity) {
		s = &t->pool[t->used++];
	} else {
		s = &t->pool[t->lru_tail - 1];
		if (on_evict)
			on_evict(s, ctx);
		hash_remove(t, s);
		lru_unlink(t, s);
	}
	memset(s, 0, sizeof(*s));
	s->key = key;
	s->vcpu_id = vcpu_id;
	s->live = true;
	s->posted_intr_nv = 0xffff;
	s->hash_next = t->buckets[b];
	t->buckets[b] = (uint32_t)(s - t->pool) + 1;
	lru_push_front(t, s);
	t->last = s;
	return s;
}

void vcpu_table_for_each(struct vcpu_table *t, void (*fn)(struct vcpu_state *s, void *ctx),
			 void *ctx)
{
	for (uint32_t i = 0; i < t->used; i++)
		if (t->pool[i].live)
			fn(&t->pool[i], ctx);
}

void vcpu_table_remove(struct vcpu_table *t, struct vcpu_state *s)
{
	if (!s->live)
		return;
	hash_remove(t, s);
	lru_unlink(t, s);
	if (t->last == s)
		t->last = NULL;
	memset(s, 0, sizeof(*s));
	/* hash_next threads the free list while the slot is not live. */
	s->hash_next = t->free_head;
	t->free_head = (uint32_t)(s - t->pool) + 1;
}
