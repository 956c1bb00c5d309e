// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor for the storm benchmark: the least a BPF tracer can do on
 * kvm:kvm_apic_accept_irq, i.e. count per vector in a per-CPU array.  Two
 * attach flavours, so that nestirq can be compared on the same hook: the raw
 * tracepoint (TP_PROTO arguments) and the classic tracepoint (the record).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Like nestirq's -p: only this process (0: every process). */
const volatile __u32 filter_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} per_vector SEC(".maps");

static __always_inline int count(__u32 vec)
{
	__u64 *c;

	if (filter_tgid && (bpf_get_current_pid_tgid() >> 32) != filter_tgid)
		return 0;
	c = bpf_map_lookup_elem(&per_vector, &vec);

	if (c)
		*c += 1;
	return 0;
}

/* args: apicid, dm, tm, vec */
SEC("raw_tp/kvm_apic_accept_irq")
int bare_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return count((__u8)ctx->args[3]);
}

/* The record of kvm_apic_accept_irq: 8-byte common header, then
 * apicid (u32), dm (u16), tm (u16), vec (u8). */
struct accept_rec {
	__u64 common;
	__u32 apicid;
	__u16 dm;
	__u16 tm;
	__u8 vec;
};

SEC("tracepoint/kvm/kvm_apic_accept_irq")
int bare_tp(struct accept_rec *ctx)
{
	return count(ctx->vec);
}
