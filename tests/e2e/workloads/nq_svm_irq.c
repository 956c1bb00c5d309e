// SPDX-License-Identifier: GPL-2.0-only
/*
 * nq_svm_irq: nested SVM INTR exits for nestirq's end-to-end tests.  L1
 * intercepts INTR (with V_INTR_MASKING, so L1's IF at VMRUN decides), runs
 * an L2 that spins, and takes the MSIs the host fires while L2 runs: SVM
 * has no acknowledge-on-exit, so after each #VMEXIT(INTR) L1 opens GIF and
 * takes the interrupt through its IDT, checks the vector is one the host
 * sent, and EOIs.
 * Usage: nq_svm_irq [ROUNDS]   (env NQ_STEP_TIMEOUT: seconds per step)
 */
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "svm_util.h"
#include "apic.h"

#include "nq_workload.h"

#define L2_STACK 256

static void l2_code(struct svm_test_data *svm)
{
	(void)svm;
	NQ_L2_LOOP(asm volatile("vmmcall" ::: "memory"));
}

static void l1_irq_handler(struct ex_regs *regs)
{
	nq_l1_seen(regs->vector, 0);
	x2apic_write_reg(APIC_EOI, 0);
}

static void l1_code(struct svm_test_data *svm)
{
	unsigned long l2_stack[L2_STACK];
	struct vmcb *vmcb = svm->vmcb;

	x2apic_enable();
	generic_svm_setup(svm, l2_code, &l2_stack[L2_STACK]);
	vmcb->control.intercept |= BIT_ULL(INTERCEPT_INTR);
	vmcb->control.int_ctl |= V_INTR_MASKING_MASK;

	for (;;) {
		/* GIF=0, IF=1: interrupts wait until L2 runs (or until stgi). */
		asm volatile("clgi; sti" ::: "memory");
		run_guest(vmcb, svm->vmcb_gpa);
		uint64_t code = vmcb->control.exit_code;

		if (code == SVM_EXIT_INTR) {
			shared.exits_noack++;
			/* Open GIF: the pending IRQ goes through L1's IDT. */
			asm volatile("stgi; nop; nop; cli" ::: "memory");
		} else if (code == SVM_EXIT_VMMCALL) {
			asm volatile("stgi; cli" ::: "memory");
			if (shared.quit)
				break;
			shared.stop = 0;
			shared.epoch++;
			vmcb->save.rip += 3; /* vmmcall */
		} else {
			asm volatile("stgi; cli" ::: "memory");
			GUEST_ASSERT_2(0, code, vmcb->control.exit_info_1);
		}
	}
	GUEST_DONE();
}

static vm_vaddr_t alloc_svm(struct kvm_vm *vm)
{
	vm_vaddr_t gva;
	vcpu_alloc_svm(vm, &gva);
	for (int v = 32; v < 256; v++)
		vm_install_exception_handler(vm, v, l1_irq_handler);
	return gva;
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_SVM));
	nq_host_main(argc, argv, l1_code, alloc_svm, "svm", 0);
	return 0;
}
