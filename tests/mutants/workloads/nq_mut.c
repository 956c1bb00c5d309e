// SPDX-License-Identifier: GPL-2.0-only
/*
 * nq_mut: nested-VMX workloads that reach the bugs the mutant kernels of
 * tests/mutants re-introduce.  Built at test time against the KVM selftests
 * library of Debian's linux-source-6.1 (tests/mutants/run.sh), like the e2e
 * workloads; nestirq's own code, no kernel code copied.
 *
 * Usage: nq_mut ROUNDS MODE   (the e2e guest-init passes nq.rounds and
 * nq.wlmode; in the mutant initramfs this binary is /bin/nq_vmx_irq)
 *
 *   toctou  L1: external-interrupt exiting + ack-on-exit, L2 spins.  The host
 *           fires MSI 0x41 and, 3 ms later, the higher-priority 0x92: a
 *           kernel that re-acquires the vector at the ack (after a sleep in
 *           the check-to-ack window) acks 0x92 but reports 0x41.
 *   l2eoi   L1 (x2APIC) self-IPIs 0x31 and enters L2: the IRQ becomes an
 *           ack-on-exit VM-exit, so 0x31 is in service in L1's APIC.  L1
 *           does not EOI it; L2 does, with WRMSR(x2APIC EOI) that L1 does
 *           not intercept (MSR bitmap all zero, no APIC virtualization for
 *           L2): L0 emulates L1's EOI while L2 is active (Chao Gao's bug:
 *           the SVI update must not go to vmcs02).
 *   pinv    L1 enables posted interrupts for L2 (VID, TPR shadow, NV 0x55),
 *           raises its own TPR to 0xf0, self-IPIs 0x55 (masked, stays in
 *           its IRR through VM-entry) and enters L2; L2 lowers L1's TPR with
 *           WRMSR(x2APIC TPR), which L0 emulates: L2's notification vector
 *           becomes deliverable while L2 runs.  Correct KVM processes it as
 *           a posted interrupt (no VM-exit); without 6e0b456547f4 L1 gets an
 *           external-interrupt exit for 0x55.
 *   pi      L1 enables posted interrupts for L2 exactly as in pinv (VID, TPR
 *           shadow, NV 0x55, ack-on-exit, external-interrupt exiting) but
 *           with nothing pending; while L2 runs the host fires ordinary
 *           MSIs (0x31, then the pair 0x41 + 0x92).  They are not L2's NV:
 *           each must be an ack-on-exit external-interrupt exit to L1 with
 *           that vector (the pair in either order); L1 EOIs each.
 *   single  L1 self-IPIs 0x31 and enters L2: exactly one ack-on-exit
 *           VM-exit (0x31), L1 EOIs it, done.  For kernels that break L1's
 *           interrupt state after the first exit (the v1 regression with
 *           APICv leaves SVI stale in vmcs01), where a longer plan hangs.
 *
 * Output: NQ_WORKLOAD isa=vmx mode=M exits=N exit_vectors=V,... msr_exits=N
 *         l2_done=0|1 result=PASS|FAIL
 * The workload only has to reach the path: the verdict is nestirq's.  It
 * fails only when the guest asserts or a step times out.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"
#include "apic.h"

#define L2_STACK	256
#define MODE_TOCTOU	1
#define MODE_L2EOI	2
#define MODE_PINV	3
#define MODE_SINGLE	4
#define MODE_PI		5
#define NQ_NV		0x55
#define NQ_EOI_VEC	0x31
#define X2APIC_MSR(reg) (APIC_BASE_MSR + ((reg) >> 4))
#define NQ_LOG		64

struct mut_shared {
	volatile uint64_t l2_beats;
	volatile uint32_t mode;
	volatile uint32_t stop, quit, epoch;
	volatile uint32_t l2_do_eoi, l2_did_eoi;
	volatile uint32_t l2_do_tpr, l2_did_tpr;
	volatile uint32_t nexits, msr_exits, other_exits, other_reason;
	volatile uint8_t exitvec[NQ_LOG];
	volatile uint64_t vapic_gpa, pidesc_gpa;
};

struct mut_shared m;

static void l2_code(void)
{
	for (;;) {
		m.l2_beats++;
		if (m.l2_do_eoi && !m.l2_did_eoi) {
			wrmsr(X2APIC_MSR(APIC_EOI), 0);
			m.l2_did_eoi = 1;
		}
		if (m.l2_do_tpr && !m.l2_did_tpr) {
			wrmsr(X2APIC_MSR(APIC_TASKPRI), 0);
			m.l2_did_tpr = 1;
		}
		if (m.stop)
			vmcall();
	}
}

static void l1_irq_handler(struct ex_regs *regs)
{
	(void)regs;
	x2apic_write_reg(APIC_EOI, 0);
}

static void l1_code(struct vmx_pages *vmx)
{
	unsigned long l2_stack[L2_STACK];
	uint64_t pin;

	x2apic_enable();
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, l2_code, &l2_stack[L2_STACK]);
	pin = vmreadz(PIN_BASED_VM_EXEC_CONTROL) | PIN_BASED_EXT_INTR_MASK;
	GUEST_ASSERT(!vmwrite(PIN_BASED_VM_EXEC_CONTROL, pin));
	GUEST_ASSERT(
		!vmwrite(VM_EXIT_CONTROLS, vmreadz(VM_EXIT_CONTROLS) | VM_EXIT_ACK_INTR_ON_EXIT));
	/* MSR bitmap (all zero): L2's x2APIC MSR writes do not exit to L1. */
	GUEST_ASSERT(!vmwrite(CPU_BASED_VM_EXEC_CONTROL,
			      vmreadz(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_USE_MSR_BITMAPS));
	/* L2 with IF=1: Bochs holds L0's interrupts while the guest has IF=0. */
	GUEST_ASSERT(!vmwrite(GUEST_RFLAGS, 0x202));

	if (m.mode == MODE_PINV || m.mode == MODE_PI) {
		GUEST_ASSERT(!vmwrite(CPU_BASED_VM_EXEC_CONTROL,
				      vmreadz(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_TPR_SHADOW |
					      CPU_BASED_ACTIVATE_SECONDARY_CONTROLS));
		GUEST_ASSERT(!vmwrite(SECONDARY_VM_EXEC_CONTROL,
				      vmreadz(SECONDARY_VM_EXEC_CONTROL) |
					      SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY));
		GUEST_ASSERT(!vmwrite(VIRTUAL_APIC_PAGE_ADDR, m.vapic_gpa));
		GUEST_ASSERT(!vmwrite(TPR_THRESHOLD, 0));
		GUEST_ASSERT(!vmwrite(GUEST_INTR_STATUS, 0));
		GUEST_ASSERT(!vmwrite(POSTED_INTR_NV, NQ_NV));
		GUEST_ASSERT(!vmwrite(POSTED_INTR_DESC_ADDR, m.pidesc_gpa));
		GUEST_ASSERT(!vmwrite(PIN_BASED_VM_EXEC_CONTROL, pin | PIN_BASED_POSTED_INTR));
	}
	if (m.mode == MODE_PINV) {
		/* NV pending in L1's IRR but masked by L1's TPR at VM-entry. */
		x2apic_write_reg(APIC_TASKPRI, 0xf0);
		x2apic_write_reg(APIC_ICR, APIC_DEST_SELF | NQ_NV);
		m.l2_do_tpr = 1;
	} else if (m.mode == MODE_L2EOI || m.mode == MODE_SINGLE) {
		x2apic_write_reg(APIC_ICR, APIC_DEST_SELF | NQ_EOI_VEC);
	}

	GUEST_ASSERT(!vmlaunch());
	for (;;) {
		uint32_t reason = vmreadz(VM_EXIT_REASON) & 0xffff;

		if (reason == EXIT_REASON_EXTERNAL_INTERRUPT) {
			uint32_t info = vmreadz(VM_EXIT_INTR_INFO);
			uint8_t vec = info & 0xff;

			if (m.nexits < NQ_LOG)
				m.exitvec[m.nexits] = vec;
			m.nexits++;
			if (m.mode == MODE_L2EOI && vec == NQ_EOI_VEC && !m.l2_do_eoi)
				m.l2_do_eoi = 1; /* leave 0x31 in service: L2 EOIs it */
			else if (info & 0x80000000)
				x2apic_write_reg(APIC_EOI, 0);
		} else if (reason == EXIT_REASON_VMCALL) {
			if (m.quit)
				break;
			m.stop = 0;
			m.epoch++;
			GUEST_ASSERT(!vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) +
								 vmreadz(VM_EXIT_INSTRUCTION_LEN)));
		} else if (reason == EXIT_REASON_MSR_WRITE) {
			/* Not expected (bitmap): emulate as L1's own write. */
			m.msr_exits++;
			GUEST_ASSERT(!vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) +
								 vmreadz(VM_EXIT_INSTRUCTION_LEN)));
		} else {
			m.other_exits++;
			m.other_reason = reason;
			GUEST_ASSERT_2(0, reason, vmreadz(EXIT_QUALIFICATION));
		}
		GUEST_ASSERT(!vmresume());
	}
	GUEST_DONE();
}

/* ---- host ---- */

static struct kvm_vm *vm;
static struct kvm_vcpu *vcpu;
static struct mut_shared *hs;
static volatile int guest_done, guest_failed;
static int wl_bad; /* the workload's own check failed */
static double step_timeout = 30.0;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *vcpu_thread(void *arg)
{
	struct ucall uc;
	(void)arg;
	for (;;) {
		vcpu_run(vcpu);
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO, "unexpected exit %u (%s)",
			    vcpu->run->exit_reason, exit_reason_str(vcpu->run->exit_reason));
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_ABORT:
			guest_failed = 1;
			REPORT_GUEST_ASSERT_2(uc, "values: %#lx, %#lx");
			break;
		case UCALL_DONE:
			guest_done = 1;
			return NULL;
		case UCALL_SYNC:
			break;
		default:
			TEST_FAIL("unknown ucall %lu", uc.cmd);
		}
	}
}

static void report(const char *mode, int ok)
{
	printf("NQ_WORKLOAD isa=vmx mode=%s exits=%u exit_vectors=", mode, hs->nexits);
	for (uint32_t i = 0; i < hs->nexits && i < NQ_LOG; i++)
		printf("%s%x", i ? "," : "", hs->exitvec[i]);
	printf(" msr_exits=%u other_exits=%u l2_did_eoi=%u l2_did_tpr=%u beats=%lu result=%s\n",
	       hs->msr_exits, hs->other_exits, hs->l2_did_eoi, hs->l2_did_tpr,
	       (unsigned long)hs->l2_beats, ok ? "PASS" : "FAIL");
	fflush(stdout);
}

#define WAIT(cond, what)                                                                           \
	do {                                                                                       \
		double _t0 = now();                                                                \
		while (!(cond)) {                                                                  \
			if (guest_failed || guest_done || now() - _t0 > step_timeout) {            \
				printf("NQ_WORKLOAD_ERROR waiting for %s\n", what);                \
				report(mode, 0);                                                   \
				exit(1);                                                           \
			}                                                                          \
			usleep(500);                                                               \
		}                                                                                  \
	} while (0)

static void msi(uint8_t vector)
{
	struct kvm_msi msi = {.address_lo = 0xfee00000, .data = vector};
	int r = ioctl(vm->fd, KVM_SIGNAL_MSI, &msi);
	TEST_ASSERT(r >= 0, "KVM_SIGNAL_MSI: %s", strerror(errno));
}

static void settle(double s)
{
	double t0 = now();
	while (now() - t0 < s && !guest_failed && !guest_done)
		usleep(1000);
}

int main(int argc, char *argv[])
{
	const char *mode = argc > 2 ? argv[2] : "toctou";
	int rounds = argc > 1 ? atoi(argv[1]) : 1;
	const char *e = getenv("NQ_STEP_TIMEOUT");
	vm_vaddr_t vmx_gva;
	pthread_t th;

	if (e)
		step_timeout = atof(e);
	if (rounds < 1)
		rounds = 1;
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	vm = vm_create_with_one_vcpu(&vcpu, l1_code);
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);
	vcpu_alloc_vmx(vm, &vmx_gva);
	for (int v = 32; v < 256; v++)
		vm_install_exception_handler(vm, v, l1_irq_handler);
	vcpu_args_set(vcpu, 1, vmx_gva);
	hs = addr_gva2hva(vm, (vm_vaddr_t)&m);
	if (!strcmp(mode, "toctou"))
		hs->mode = MODE_TOCTOU;
	else if (!strcmp(mode, "l2eoi"))
		hs->mode = MODE_L2EOI;
	else if (!strcmp(mode, "pinv"))
		hs->mode = MODE_PINV;
	else if (!strcmp(mode, "single"))
		hs->mode = MODE_SINGLE;
	else if (!strcmp(mode, "pi"))
		hs->mode = MODE_PI;
	else {
		printf("NQ_WORKLOAD_ERROR unknown mode %s\n", mode);
		return 2;
	}
	hs->vapic_gpa = addr_gva2gpa(vm, vm_vaddr_alloc_page(vm));
	hs->pidesc_gpa = addr_gva2gpa(vm, vm_vaddr_alloc_page(vm));
	printf("NQ_WORKLOAD_START isa=vmx mode=%s pid=%d rounds=%d\n", mode, getpid(), rounds);
	fflush(stdout);
	pthread_create(&th, NULL, vcpu_thread, NULL);

	{
		uint64_t b = hs->l2_beats;
		WAIT(hs->l2_beats != b && hs->l2_beats > 1000, "L2 to run");
	}
	switch (hs->mode) {
	case MODE_TOCTOU:
		for (int r = 0; r < rounds; r++) {
			uint32_t n = hs->nexits;
			uint64_t b = hs->l2_beats;

			WAIT(hs->l2_beats != b, "L2 to run");
			msi(0x41);
			usleep(3000);
			msi(0x92);
			/* Correct KVM: 2 exits (0x41, 0x92); the mutant: 0x41 twice. */
			WAIT(hs->nexits >= n + 2, "two exits");
			settle(0.05);
		}
		break;
	case MODE_L2EOI:
		WAIT(hs->l2_did_eoi, "L2's EOI of L1's interrupt");
		settle(0.05);
		break;
	case MODE_SINGLE:
		WAIT(hs->nexits >= 1, "the exit for 0x31");
		settle(0.05);
		break;
	case MODE_PINV:
		WAIT(hs->l2_did_tpr, "L2's write of L1's TPR");
		settle(0.2);
		break;
	case MODE_PI: {
		uint64_t b = hs->l2_beats;

		msi(0x31);
		WAIT(hs->nexits >= 1, "the exit for 0x31");
		b = hs->l2_beats;
		WAIT(hs->l2_beats != b, "L2 to run again");
		msi(0x41);
		msi(0x92);
		WAIT(hs->nexits >= 3, "the exits for 0x41 and 0x92");
		settle(0.05);
		/* Exactly 0x31, then 0x41 and 0x92 in either order. */
		if (hs->nexits != 3 || hs->exitvec[0] != 0x31 ||
		    (hs->exitvec[1] ^ hs->exitvec[2]) != (0x41 ^ 0x92) ||
		    (hs->exitvec[1] != 0x41 && hs->exitvec[1] != 0x92)) {
			printf("NQ_WORKLOAD_ERROR pi: exit vectors are not 31,{41,92}\n");
			wl_bad = 1;
		}
		break;
	}
	}
	hs->quit = 1;
	__sync_synchronize();
	hs->stop = 1;
	WAIT(guest_done, "L1 to finish");
	pthread_join(th, NULL);
	report(mode, !guest_failed && !wl_bad);
	kvm_vm_free(vm);
	return guest_failed || wl_bad;
}
