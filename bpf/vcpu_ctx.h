/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A vCPU's accept history, kept in the kernel (event ABI 3): which vectors
 * were accepted, which since their last ack, and when the first of them
 * came.  The accept programs write it; the peek and ack programs read it
 * into their records, so that accepts outside a check need not be streamed.
 * Included by nestirq.bpf.c only.
 */
#ifndef NESTIRQ_BPF_VCPU_CTX_H
#define NESTIRQ_BPF_VCPU_CTX_H

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NQ_VCPU_CTX_SLOTS);
	__type(key, __u32);
	__type(value, struct nq_vcpu_ctx);
} vcpu_ctx SEC(".maps");

/* The initial value of a slot (a map value may be copied from, the stack may not hold it). */
struct nq_vcpu_ctx ctx_zero;

static __always_inline struct nq_vcpu_ctx *ctx_slot(__u32 slot)
{
	return bpf_map_lookup_elem(&vcpu_ctx, &slot);
}

/* The vCPU's history if it has one (peek, ack, check exit: never claim a slot). */
static __always_inline struct nq_vcpu_ctx *ctx_find(__u64 key)
{
	__u32 set = nq_ctx_set(key);
	struct nq_vcpu_ctx *c;

#pragma unroll
	for (__u32 w = 0; w < NQ_VCPU_CTX_WAYS; w++) {
		c = ctx_slot(set + w);
		if (c && c->key == key)
			return c;
	}
	return NULL;
}

/*
 * A vector as an index the verifier can bound: the compiler may check a copy
 * of the register it then indexes with, so mask after a barrier.
 */
static __always_inline __u32 vec_index(int vector)
{
	__u32 v = (__u32)vector;

	barrier_var(v);
	return v & 255;
}

/*
 * The history of a vCPU, its slot claimed on first use.  vm_id 0 (unknown)
 * matches any owner; a known different owner means the vcpu memory was
 * reused by another VM, whose history starts empty.
 */
static __always_inline struct nq_vcpu_ctx *ctx_get(__u64 key, __u32 vm_id)
{
	__u32 set = nq_ctx_set(key), slot = NQ_VCPU_CTX_SLOTS;
	struct nq_vcpu_ctx *c;

#pragma unroll
	for (__u32 w = 0; w < NQ_VCPU_CTX_WAYS; w++) {
		c = ctx_slot(set + w);
		if (!c)
			continue;
		if (c->key == key) {
			if (vm_id && c->vm_id && c->vm_id != vm_id) {
				slot = set + w; /* reused by another VM: start afresh */
				break;
			}
			if (!c->vm_id)
				c->vm_id = vm_id;
			return c;
		}
		if (!c->key && slot == NQ_VCPU_CTX_SLOTS)
			slot = set + w;
	}
	if (slot == NQ_VCPU_CTX_SLOTS) { /* a full set: evict one at random */
		slot = set + (bpf_get_prandom_u32() & (NQ_VCPU_CTX_WAYS - 1));
		__sync_fetch_and_add(
			&cpu_ctr[bpf_get_smp_processor_id() & (NQ_BSS_CPUS - 1)][NQ_CTR_CTX_EVICT],
			1);
	}
	/* A racing claim of the same slot loses one history: context only, never a verdict. */
	bpf_map_update_elem(&vcpu_ctx, &slot, &ctx_zero, BPF_ANY);
	c = ctx_slot(slot);
	if (!c)
		return NULL;
	c->key = key;
	c->vm_id = vm_id;
	return c;
}

/*
 * An accept of vector on the vCPU: 1 if a check is open there (stream it).
 * The hottest path of all: the clock is read and an atomic paid only when
 * the vector's state changes (first accept since its ack), not per accept.
 */
static __always_inline int ctx_accept(__u64 key, __u32 vm_id, __u16 dm, __u8 vec)
{
	struct nq_vcpu_ctx *c = ctx_get(key, vm_id);
	__u32 v = vec_index(vec), w = v >> 6;
	__u64 bit = 1ull << (v & 63);

	if (!c)
		return 0;
	/* INIT, SIPI, NMI, SMI and ExtINT deliveries set no IRR bit. */
	if ((dm & NQ_APIC_DM_MASK) == NQ_APIC_DM_FIXED ||
	    (dm & NQ_APIC_DM_MASK) == NQ_APIC_DM_LOWEST) {
		/* Atomic: the vCPU's own CPU may be acking while another accepts. */
		if (!(c->accepted[w] & bit))
			__sync_fetch_and_or(&c->accepted[w], bit);
		if (!(c->pending[w] & bit))
			__sync_fetch_and_or(&c->pending[w], bit);
		if (!c->first_ts[v])
			c->first_ts[v] = bpf_ktime_get_ns();
	}
	return c->in_check != 0;
}

static __always_inline void ctx_check(__u64 key, __u32 vm_id, __u32 open)
{
	struct nq_vcpu_ctx *c;

	if (open) {
		c = ctx_get(key, vm_id);
		if (c)
			c->in_check = 1;
		return;
	}
	c = ctx_find(key);
	if (c)
		c->in_check = 0;
}

/* The first accept of vector since its last ack, for a peek record (0: none). */
static __always_inline __u64 ctx_peek(__u64 key, int vector)
{
	struct nq_vcpu_ctx *c;

	if (vector < 0 || vector > 255)
		return 0;
	c = ctx_find(key);
	return c ? c->first_ts[vec_index(vector)] : 0;
}

/* The ack of vector: the IRR verdict and the first accept, both consumed. */
static __always_inline __u8 ctx_ack(__u64 key, int vector, __u64 *accept_ts)
{
	struct nq_vcpu_ctx *c;
	__u64 bit, old;
	__u32 v, w;

	*accept_ts = 0;
	if (vector < 0 || vector > 255)
		return NQ_ACK_IRR_UNKNOWN;
	c = ctx_find(key);
	if (!c)
		return NQ_ACK_IRR_UNKNOWN;
	v = vec_index(vector);
	bit = 1ull << (v & 63);
	w = v >> 6;
	old = __sync_fetch_and_and(&c->pending[w], ~bit);
	*accept_ts = __sync_lock_test_and_set(&c->first_ts[v], 0);
	if (old & bit)
		return NQ_ACK_IRR_PENDING;
	return (c->accepted[w] & bit) ? NQ_ACK_IRR_NOT_PENDING : NQ_ACK_IRR_NEVER;
}

#endif /* NESTIRQ_BPF_VCPU_CTX_H */
