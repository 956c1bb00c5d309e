/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A minimal KVM VM for live tests: in-kernel irqchip, vCPUs with their
 * LAPIC software-enabled, and MSIs with known vectors at known vCPUs
 * (KVM_SIGNAL_MSI fires kvm:kvm_apic_accept_irq).  No guest code runs.
 */
#ifndef NESTIRQ_TEST_KVM_VM_H
#define NESTIRQ_TEST_KVM_VM_H

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TVM_MAX_VCPUS 8

struct tvm {
	int kvm, vm;
	int nvcpus;
	int vcpu[TVM_MAX_VCPUS];
};

static void tvm_close(struct tvm *t)
{
	for (int i = 0; i < t->nvcpus; i++)
		if (t->vcpu[i] >= 0)
			close(t->vcpu[i]);
	if (t->vm >= 0)
		close(t->vm);
	if (t->kvm >= 0)
		close(t->kvm);
	t->kvm = t->vm = -1;
	t->nvcpus = 0;
}

/* 0 on success; else fills err. */
static int tvm_open(struct tvm *t, int nvcpus, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->kvm = t->vm = -1;
	if (nvcpus > TVM_MAX_VCPUS)
		nvcpus = TVM_MAX_VCPUS;
	t->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (t->kvm < 0) {
		snprintf(err, errlen, "open /dev/kvm: %s", strerror(errno));
		return -1;
	}
	t->vm = ioctl(t->kvm, KVM_CREATE_VM, 0);
	if (t->vm < 0) {
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		goto fail;
	}
	ioctl(t->vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	if (ioctl(t->vm, KVM_CREATE_IRQCHIP, 0)) {
		snprintf(err, errlen, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
		goto fail;
	}
	for (int i = 0; i < nvcpus; i++) {
		struct kvm_lapic_state lapic;
		unsigned int spiv;

		t->vcpu[i] = ioctl(t->vm, KVM_CREATE_VCPU, i);
		if (t->vcpu[i] < 0) {
			snprintf(err, errlen, "KVM_CREATE_VCPU %d: %s", i, strerror(errno));
			goto fail;
		}
		t->nvcpus = i + 1;
		if (ioctl(t->vcpu[i], KVM_GET_LAPIC, &lapic)) {
			snprintf(err, errlen, "KVM_GET_LAPIC: %s", strerror(errno));
			goto fail;
		}
		spiv = 0x1ff; /* APIC software enable, spurious vector 0xff */
		memcpy(&lapic.regs[0xf0], &spiv, sizeof(spiv));
		if (ioctl(t->vcpu[i], KVM_SET_LAPIC, &lapic)) {
			snprintf(err, errlen, "KVM_SET_LAPIC: %s", strerror(errno));
			goto fail;
		}
	}
	return 0;
fail:
	tvm_close(t);
	return -1;
}

/* Fixed, edge, physical destination = vcpu (its APIC id).  ioctl result. */
static int tvm_msi(struct tvm *t, int vcpu, int vector)
{
	struct kvm_msi msi;

	memset(&msi, 0, sizeof(msi));
	msi.address_lo = 0xfee00000u | ((unsigned)vcpu << 12);
	msi.data = (unsigned)vector & 0xff;
	return ioctl(t->vm, KVM_SIGNAL_MSI, &msi);
}

/* The vector of the i-th MSI of a test sequence and its vCPU. */
static inline int tvm_seq_vector(int i)
{
	return 0x30 + (i % 0xc0);
}

static inline int tvm_seq_vcpu(int i, int nvcpus)
{
	return nvcpus > 1 ? i % nvcpus : 0;
}

#endif /* NESTIRQ_TEST_KVM_VM_H */
