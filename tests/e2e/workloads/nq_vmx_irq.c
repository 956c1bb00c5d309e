// SPDX-License-Identifier: GPL-2.0-only
/*
 * nq_vmx_irq: nested VMX external-interrupt exits for nestirq's end-to-end
 * tests.  L1 enables external-interrupt exiting and (per epoch)
 * acknowledge-interrupt-on-exit, runs an L2 that spins, and takes the MSIs
 * the host fires while L2 runs:
 *  - with ack-on-exit the vector comes in VM_EXIT_INTR_INFO (valid,
 *    external-interrupt type); L1 checks it is one the host sent and EOIs;
 *  - without it the exit information carries no vector; L1 takes the
 *    interrupt through its IDT (sti; nop; cli) and EOIs there.
 * Usage: nq_vmx_irq [ROUNDS [ackonly]]   (env NQ_STEP_TIMEOUT: seconds per step)
 */
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"
#include "apic.h"

#include "nq_workload.h"

#define L2_STACK 256

static void l2_code(void)
{
	NQ_L2_LOOP(vmcall());
}

static void l1_irq_handler(struct ex_regs *regs)
{
	nq_l1_seen(regs->vector, 0);
	x2apic_write_reg(APIC_EOI, 0);
}

static void l1_set_ack(int ack)
{
	uint64_t c = vmreadz(VM_EXIT_CONTROLS);
	if (ack)
		c |= VM_EXIT_ACK_INTR_ON_EXIT;
	else
		c &= ~(uint64_t)VM_EXIT_ACK_INTR_ON_EXIT;
	GUEST_ASSERT(!vmwrite(VM_EXIT_CONTROLS, c));
}

static void l1_code(struct vmx_pages *vmx)
{
	unsigned long l2_stack[L2_STACK];
	int ack = 1;

	x2apic_enable();
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, l2_code, &l2_stack[L2_STACK]);
	GUEST_ASSERT(!vmwrite(PIN_BASED_VM_EXEC_CONTROL,
			      vmreadz(PIN_BASED_VM_EXEC_CONTROL) | PIN_BASED_EXT_INTR_MASK));
	l1_set_ack(ack);
	/*
	 * L2 runs with RFLAGS.IF=1.  With external-interrupt exiting its IF
	 * does not matter architecturally, but Bochs does not deliver the
	 * host's (L0's) interrupts as VM-exits while the guest has IF=0, so
	 * an L2 spinning with IF=0 freezes L0 (see docs/e2e.md).
	 */
	GUEST_ASSERT(!vmwrite(GUEST_RFLAGS, 0x202));

	GUEST_ASSERT(!vmlaunch());
	for (;;) {
		uint32_t reason = vmreadz(VM_EXIT_REASON) & 0xffff;

		if (reason == EXIT_REASON_EXTERNAL_INTERRUPT) {
			uint32_t info = vmreadz(VM_EXIT_INTR_INFO);

			if (ack) {
				/* valid, type external interrupt (0), vector >= 16 */
				if ((info & 0x80000700) != 0x80000000 || (info & 0xff) < 16) {
					shared.bad++;
					shared.bad_info = info;
				} else {
					nq_l1_seen(info & 0xff, 1);
					x2apic_write_reg(APIC_EOI, 0);
				}
				shared.exits_ack++;
			} else {
				if (info & 0x80000000) {
					shared.bad++;
					shared.bad_info = info;
				}
				shared.exits_noack++;
				/* The IRQ is still pending in L1's IRR: take it. */
				asm volatile("sti; nop; nop; cli" ::: "memory");
			}
		} else if (reason == EXIT_REASON_VMCALL) {
			if (shared.quit)
				break;
			ack = shared.want_ack;
			l1_set_ack(ack);
			shared.stop = 0;
			shared.epoch++;
			GUEST_ASSERT(!vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) +
								 vmreadz(VM_EXIT_INSTRUCTION_LEN)));
		} else {
			GUEST_ASSERT_2(0, reason, vmreadz(EXIT_QUALIFICATION));
		}
		GUEST_ASSERT(!vmresume());
	}
	GUEST_DONE();
}

static vm_vaddr_t alloc_vmx(struct kvm_vm *vm)
{
	vm_vaddr_t gva;
	vcpu_alloc_vmx(vm, &gva);
	for (int v = 32; v < 256; v++)
		vm_install_exception_handler(vm, v, l1_irq_handler);
	return gva;
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	nq_host_main(argc, argv, l1_code, alloc_vmx, "vmx", 1);
	return 0;
}
