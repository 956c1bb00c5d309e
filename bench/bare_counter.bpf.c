// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor for the storm benchmark: the least a BPF tracer can do on
 * kvm:kvm_apic_accept_irq, i.e. count per vector in a per-CPU array.  Two
 * attach flavours, so that nestirq can be compared on the same hook: the raw
 * tracepoint (TP_PROTO arguments) and the classic tracepoint (the record).
 *
 * Three more raw_tp programs price what streaming an event needs, piece by
 * piece (bench/progcost.sh): the counter plus bpf_ktime_get_ns(); plus a
 * ring-buffer reserve and discard; plus a 64-byte record filled and
 * submitted (batched wakeups, like nestirq).
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

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8u << 20);
} ring SEC(".maps");

__u64 tsum;		/* keeps the clock read */
__u64 produced[256][8]; /* per CPU, one cache line each */

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

SEC("raw_tp/kvm_apic_accept_irq")
int bare_ktime(struct bpf_raw_tracepoint_args *ctx)
{
	if (filter_tgid && (bpf_get_current_pid_tgid() >> 32) != filter_tgid)
		return 0;
	tsum += bpf_ktime_get_ns();
	return count((__u8)ctx->args[3]);
}

SEC("raw_tp/kvm_apic_accept_irq")
int bare_rb_discard(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 *e;

	if (filter_tgid && (bpf_get_current_pid_tgid() >> 32) != filter_tgid)
		return 0;
	e = bpf_ringbuf_reserve(&ring, 64, 0);
	if (e)
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
	return count((__u8)ctx->args[3]);
}

SEC("raw_tp/kvm_apic_accept_irq")
int bare_rb_submit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 cpu = bpf_get_smp_processor_id();
	volatile __u64 *e;
	__u64 *c, flags = BPF_RB_NO_WAKEUP;

	if (filter_tgid && (pid_tgid >> 32) != filter_tgid)
		return 0;
	e = bpf_ringbuf_reserve(&ring, 64, 0);
	if (!e)
		return 0;
	e[0] = bpf_ktime_get_ns();
	e[1] = pid_tgid;
	e[2] = cpu;
	e[3] = ctx->args[0];
	e[4] = ctx->args[3];
	e[5] = 0;
	e[6] = 0;
	e[7] = 0;
	c = &produced[cpu & 255][0];
	if (!(++*c & 1023))
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit((void *)e, flags);
	return count((__u8)ctx->args[3]);
}
