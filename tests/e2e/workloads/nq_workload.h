/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nestirq end-to-end workloads: the host side shared by nq_vmx_irq and
 * nq_svm_irq.  Built at test time against the KVM selftests library of
 * Debian's linux-source package (tests/e2e/build-workloads.sh); this file
 * is nestirq's own code, no kernel code is copied here.
 *
 * The protocol: L1 runs an L2 that spins, bumping shared.l2_beats.  The
 * host thread fires MSIs at vCPU 0 with KVM_SIGNAL_MSI while L2 runs, so
 * that L0's KVM synthesizes nested external-interrupt VM-exits; L1 counts
 * the vector of each exit (from the exit information with VMX
 * ack-interrupt-on-exit, from its IDT otherwise), checks it against what
 * the host sent, EOIs and resumes L2.  Mode changes go through a VMCALL /
 * VMMCALL from L2 (shared.stop), so every step is exact.
 *
 * Output: one line
 *   NQ_WORKLOAD isa=vmx sent=N exits_ack=N exits_noack=N idt_irqs=N
 *       exit_vectors=V,V,... idt_vectors=V,... bad=N result=PASS|FAIL
 * (vectors in hex, in the order L1 saw them).
 */
#ifndef NQ_WORKLOAD_H
#define NQ_WORKLOAD_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NQ_LOG 512

struct nq_shared {
	volatile uint64_t l2_beats;  /* L2 heartbeat */
	volatile uint32_t stop;	     /* host -> L2: leave via VMCALL now */
	volatile uint32_t quit;	     /* host -> L1: finish at the next VMCALL */
	volatile uint32_t want_ack;  /* host -> L1: ack-interrupt-on-exit for the next epoch */
	volatile uint32_t epoch;     /* L1 -> host: VMCALLs handled */
	volatile uint32_t sent[256]; /* host: MSIs fired per vector */
	volatile uint32_t seen[256]; /* L1: interrupts taken per vector */
	volatile uint32_t exits_ack, exits_noack, idt_irqs, bad;
	volatile uint32_t bad_info; /* last offending exit information */
	volatile uint32_t nexitlog, nidtlog;
	volatile uint8_t exitlog[NQ_LOG], idtlog[NQ_LOG];
};

struct nq_shared shared;

/* L1 side: record an interrupt taken with vector v (exit info or IDT). */
static inline void nq_l1_seen(uint32_t v, int from_exit)
{
	if (shared.seen[v] >= shared.sent[v])
		shared.bad++;
	shared.seen[v]++;
	if (from_exit) {
		if (shared.nexitlog < NQ_LOG)
			shared.exitlog[shared.nexitlog++] = v;
	} else {
		shared.idt_irqs++;
		if (shared.nidtlog < NQ_LOG)
			shared.idtlog[shared.nidtlog++] = v;
	}
}

/* L2: spin until the host asks to leave, then hypercall (VMCALL/VMMCALL). */
#define NQ_L2_LOOP(hypercall)                                                                      \
	for (;;) {                                                                                 \
		shared.l2_beats++;                                                                 \
		if (shared.stop)                                                                   \
			hypercall;                                                                 \
	}

/* ---- host side ---- */

static struct kvm_vm *nq_vm;
static struct kvm_vcpu *nq_vcpu;
static struct nq_shared *hs; /* host view of `shared` */
static volatile int nq_guest_done, nq_guest_failed;
static double nq_step_timeout = 120.0;

static double nq_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *nq_vcpu_thread(void *arg)
{
	struct ucall uc;
	(void)arg;
	for (;;) {
		vcpu_run(nq_vcpu);
		TEST_ASSERT(nq_vcpu->run->exit_reason == KVM_EXIT_IO, "unexpected exit %u (%s)",
			    nq_vcpu->run->exit_reason, exit_reason_str(nq_vcpu->run->exit_reason));
		switch (get_ucall(nq_vcpu, &uc)) {
		case UCALL_ABORT:
			nq_guest_failed = 1;
			REPORT_GUEST_ASSERT_2(uc, "values: %#lx, %#lx");
			break;
		case UCALL_DONE:
			nq_guest_done = 1;
			return NULL;
		case UCALL_SYNC:
			break;
		default:
			TEST_FAIL("unknown ucall %lu", uc.cmd);
		}
	}
}

static void nq_fail(const char *why)
{
	printf("NQ_WORKLOAD_ERROR %s (beats=%lu epoch=%u exits_ack=%u exits_noack=%u idt=%u)\n",
	       why, (unsigned long)hs->l2_beats, hs->epoch, hs->exits_ack, hs->exits_noack,
	       hs->idt_irqs);
	fflush(stdout);
	exit(1);
}

static uint32_t nq_total(volatile uint32_t *a)
{
	uint32_t n = 0;
	for (int i = 0; i < 256; i++)
		n += a[i];
	return n;
}

/* Wait until cond() or fail after the step timeout. */
#define NQ_WAIT(cond, what)                                                                        \
	do {                                                                                       \
		double _t0 = nq_now();                                                             \
		while (!(cond)) {                                                                  \
			if (nq_guest_failed || nq_guest_done)                                      \
				nq_fail("guest ended while waiting for " what);                    \
			if (nq_now() - _t0 > nq_step_timeout)                                      \
				nq_fail("timeout waiting for " what);                              \
			usleep(200);                                                               \
		}                                                                                  \
	} while (0)

static int nq_verbose;
#define NQ_STEP(...)                                                                               \
	do {                                                                                       \
		if (nq_verbose) {                                                                  \
			printf("NQ_WORKLOAD_STEP " __VA_ARGS__);                                   \
			fflush(stdout);                                                            \
		}                                                                                  \
	} while (0)

static void nq_wait_l2(void)
{
	uint64_t b = hs->l2_beats;
	NQ_WAIT(hs->l2_beats != b, "L2 to run");
}

static void nq_msi(uint8_t vector)
{
	struct kvm_msi msi = {.address_lo = 0xfee00000, .data = vector};
	hs->sent[vector]++;
	__sync_synchronize();
	int r = ioctl(nq_vm->fd, KVM_SIGNAL_MSI, &msi);
	TEST_ASSERT(r >= 0, "KVM_SIGNAL_MSI: %s", strerror(errno));
}

/* Fire vectors back to back while L2 runs; wait until L1 saw all of them. */
static void nq_fire(const uint8_t *v, int n)
{
	nq_wait_l2();
	NQ_STEP("fire %#x%s (beats %lu)\n", v[0], n > 1 ? " + more" : "",
		(unsigned long)hs->l2_beats);
	for (int i = 0; i < n; i++)
		nq_msi(v[i]);
	NQ_WAIT(nq_total(hs->seen) == nq_total(hs->sent), "L1 to take the interrupts");
}

/* New epoch: L2 leaves via hypercall, L1 applies want_ack, resumes L2. */
static void nq_set_mode(int ack)
{
	uint32_t e = hs->epoch;
	NQ_STEP("mode ack=%d (epoch %u)\n", ack, e);
	hs->want_ack = ack;
	__sync_synchronize();
	hs->stop = 1;
	NQ_WAIT(hs->epoch != e, "L1 to handle the mode change");
}

static void nq_report(const char *isa)
{
	uint32_t sent = nq_total(hs->sent), seen = nq_total(hs->seen);
	int ok = !hs->bad && sent == seen && nq_guest_done && !nq_guest_failed;
	for (int i = 0; i < 256; i++)
		if (hs->sent[i] != hs->seen[i])
			ok = 0;
	printf("NQ_WORKLOAD isa=%s sent=%u seen=%u exits_ack=%u exits_noack=%u idt_irqs=%u "
	       "exit_vectors=",
	       isa, sent, seen, hs->exits_ack, hs->exits_noack, hs->idt_irqs);
	for (uint32_t i = 0; i < hs->nexitlog && i < NQ_LOG; i++)
		printf("%s%x", i ? "," : "", hs->exitlog[i]);
	printf(" idt_vectors=");
	for (uint32_t i = 0; i < hs->nidtlog && i < NQ_LOG; i++)
		printf("%s%x", i ? "," : "", hs->idtlog[i]);
	printf(" sent_vectors=");
	for (int i = 0, k = 0; i < 256; i++)
		if (hs->sent[i])
			printf("%s%x:%u", k++ ? "," : "", i, hs->sent[i]);
	printf(" bad=%u bad_info=%#x result=%s\n", hs->bad, hs->bad_info, ok ? "PASS" : "FAIL");
	fflush(stdout);
	if (!ok)
		exit(1);
}

/* The test plan, shared by both ISAs.  `ack` modes are skipped on SVM. */
static const uint8_t nq_singles[] = {0x31, 0x52, 0xe3, 0x74};
static const uint8_t nq_pairs[][2] = {{0x41, 0x92}, {0xa1, 0x61}};

/* have_ack_mode: 1 both VMX modes, 2 only ack-on-exit, 0 none (SVM). */
static void nq_run_plan(int have_ack_mode, int rounds)
{
	int lowest = have_ack_mode == 2 ? 1 : 0;
	NQ_STEP("waiting for L2\n");
	nq_wait_l2();
	NQ_STEP("L2 runs\n");
	for (int r = 0; r < rounds; r++) {
		for (int ack = have_ack_mode ? 1 : 0; ack >= lowest; ack--) {
			if (have_ack_mode)
				nq_set_mode(ack);
			for (unsigned i = 0; i < sizeof(nq_singles); i++)
				nq_fire(&nq_singles[i], 1);
			for (unsigned i = 0; i < sizeof(nq_pairs) / sizeof(nq_pairs[0]); i++)
				nq_fire(nq_pairs[i], 2);
		}
	}
	hs->quit = 1;
	__sync_synchronize();
	hs->stop = 1;
	double t0 = nq_now();
	while (!nq_guest_done) {
		if (nq_guest_failed)
			nq_fail("guest assertion");
		if (nq_now() - t0 > nq_step_timeout)
			nq_fail("timeout waiting for L1 to finish");
		usleep(1000);
	}
}

static void nq_host_main(int argc, char **argv, void *l1_code, vm_vaddr_t (*alloc)(struct kvm_vm *),
			 const char *isa, int have_ack_mode)
{
	pthread_t th;
	int rounds = 1;
	const char *e = getenv("NQ_STEP_TIMEOUT");
	if (e)
		nq_step_timeout = atof(e);
	nq_verbose = getenv("NQ_VERBOSE") != NULL;
	if (argc > 1)
		rounds = atoi(argv[1]);
	if (rounds < 1)
		rounds = 1;
	if (argc > 2 && !strcmp(argv[2], "ackonly") && have_ack_mode)
		have_ack_mode = 2;

	nq_vm = vm_create_with_one_vcpu(&nq_vcpu, l1_code);
	vm_init_descriptor_tables(nq_vm);
	vcpu_init_descriptor_tables(nq_vcpu);
	vm_vaddr_t gva = alloc(nq_vm);
	vcpu_args_set(nq_vcpu, 1, gva);
	hs = addr_gva2hva(nq_vm, (vm_vaddr_t)&shared);
	printf("NQ_WORKLOAD_START isa=%s pid=%d rounds=%d\n", isa, getpid(), rounds);
	fflush(stdout);

	pthread_create(&th, NULL, nq_vcpu_thread, NULL);
	nq_run_plan(have_ack_mode, rounds);
	pthread_join(th, NULL);
	nq_report(isa);
	kvm_vm_free(nq_vm);
}

#endif
