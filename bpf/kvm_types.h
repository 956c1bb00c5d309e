/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Minimal CO-RE flavours of the kernel types nestirq reads.  Only the
 * fields we use are declared; libbpf matches them by name against the
 * running kernel's BTF (vmlinux and module BTF) and relocates offsets and
 * sizes.  "___nq" is the current layout, "___old" and friends are older
 * layouts that the programs select with bpf_core_field_exists/size.
 */
#ifndef NESTIRQ_BPF_KVM_TYPES_H
#define NESTIRQ_BPF_KVM_TYPES_H

#include <linux/types.h>

#define __nq_core __attribute__((preserve_access_index))

/* ---- classic tracepoint records ---- */

/* kvm:kvm_apic_accept_irq (>= 5.x: tm is __u16, no coalesced) */
struct trace_event_raw_kvm_apic_accept_irq___nq {
	__u32 apicid;
	__u16 dm;
	__u16 tm;
	__u8 vec;
} __nq_core;

/* older: tm was __u8 and a bool coalesced followed vec */
struct trace_event_raw_kvm_apic_accept_irq___old {
	__u32 apicid;
	__u16 dm;
	__u8 tm;
	__u8 vec;
	_Bool coalesced;
} __nq_core;

/* kvm:kvm_nested_vmexit, common kvm_exit layout (2020+) */
struct trace_event_raw_kvm_nested_vmexit___nq {
	unsigned int exit_reason;
	__u32 isa;
	__u64 info1;
	__u64 info2;
	__u32 intr_info;
	__u32 error_code;
	unsigned int vcpu_id;
} __nq_core;

/* kvm:kvm_nested_vmexit before the common definition (no vcpu_id) */
struct trace_event_raw_kvm_nested_vmexit___old {
	__u32 exit_code;
	__u64 exit_info1;
	__u64 exit_info2;
	__u32 exit_int_info;
	__u32 exit_int_info_err;
	__u32 isa;
} __nq_core;

/* kvm:kvm_nested_vmexit_inject; exit_code is __u32 today, __u64 later */
struct trace_event_raw_kvm_nested_vmexit_inject___nq {
	__u32 exit_code;
	__u64 exit_info1;
	__u64 exit_info2;
	__u32 exit_int_info;
	__u32 exit_int_info_err;
	__u32 isa;
} __nq_core;

struct trace_event_raw_kvm_nested_vmexit_inject___u64 {
	__u64 exit_code;
} __nq_core;

/* kvm:kvm_nested_intr_vmexit (nSVM) */
struct trace_event_raw_kvm_nested_intr_vmexit___nq {
	__u64 rip;
} __nq_core;

/* ---- KVM structures (vmlinux or the kvm module) ---- */

struct kvm_vcpu___nq;

/* struct kvm_lapic lives in the kvm module's BTF (lapic.h). */
struct kvm_lapic___nq {
	struct kvm_vcpu___nq *vcpu;
	_Bool apicv_active; /* moved here from kvm_vcpu_arch in ~6.1 */
} __nq_core;

struct kvm_vcpu_arch___nq {
	__u32 hflags;
	struct kvm_lapic___nq *apic;
	_Bool apicv_active; /* older kernels */
} __nq_core;

struct kvm_vcpu___nq {
	void *kvm; /* struct kvm *: the VM, hashed into the records' vm_id */
	int vcpu_id;
	struct kvm_vcpu_arch___nq arch;
} __nq_core;

/* ---- kvm_intel module ---- */

struct loaded_vmcs___nq {
	void *vmcs;
} __nq_core;

struct vmcs12___nq {
	__u32 pin_based_vm_exec_control;
	__u32 vm_exit_controls;
} __nq_core;

struct nested_vmx___nq {
	struct vmcs12___nq *cached_vmcs12;
	struct loaded_vmcs___nq vmcs02;
	_Bool pi_pending;
	__u16 posted_intr_nv;
	_Bool update_vmcs01_hwapic_isr; /* 6.14 .. 6.19 */
} __nq_core;

struct vcpu_vmx___nq {
	struct kvm_vcpu___nq vcpu;
	struct loaded_vmcs___nq vmcs01;
	struct loaded_vmcs___nq *loaded_vmcs;
	struct nested_vmx___nq nested;
} __nq_core;

/* vmcs12 control bits (SDM) */
#define NQ_PIN_BASED_EXT_INTR_MASK  0x00000001u
#define NQ_PIN_BASED_POSTED_INTR    0x00000080u
#define NQ_VM_EXIT_ACK_INTR_ON_EXIT 0x00008000u

#endif /* NESTIRQ_BPF_KVM_TYPES_H */
