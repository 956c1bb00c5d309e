// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * KVM MSI helper for the CLI tests (tests/cli/live_*.sh), and its own
 * self-test when run without arguments (tests/run.sh does that).
 *
 *   kvm_msi serve NVCPUS N   create a VM, print "ready PID", wait for a line
 *                            on stdin, fire N MSIs (vector 0x30 + i % 0xc0 at
 *                            vCPU i % NVCPUS), print "fired N", exit
 *   kvm_msi verify FILE NVCPUS N PID
 *                            check a `nestirq record` trace: exactly N accepts
 *                            from PID with those vectors and vCPUs, in order,
 *                            no lost records
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "kvm_vm.h"
#include "nestirq/trace.h"

static int serve(int nvcpus, int n)
{
	struct tvm vm;
	char err[256], line[64];
	int fired = 0;

	if (tvm_open(&vm, nvcpus, err, sizeof(err))) {
		fprintf(stderr, "kvm_msi: %s\n", err);
		return 2;
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin)) {
		tvm_close(&vm);
		return 3;
	}
	for (int i = 0; i < n; i++)
		if (tvm_msi(&vm, tvm_seq_vcpu(i, nvcpus), tvm_seq_vector(i)) >= 0)
			fired++;
	printf("fired %d\n", fired);
	fflush(stdout);
	tvm_close(&vm);
	return fired == n ? 0 : 1;
}

static int verify(const char *path, int nvcpus, int n, unsigned pid)
{
	char err[NQ_TRACE_ERR_LEN];
	struct nq_trace_reader *r = nq_trace_reader_open(path, err, sizeof(err));
	const struct nq_trace_meta *m;
	const struct nq_plan_entry *pt;
	struct nq_event ev;
	enum nq_read_status st;
	int accepts = 0, bad = 0, lost = 0, other = 0;

	if (!r) {
		printf("FAIL: verify: %s: %s\n", path, err);
		return 1;
	}
	m = nq_trace_reader_meta(r);
	pt = m ? nq_plan_find(&m->plan, "accept") : NULL;
	if (!m || !m->kernel[0] || !pt || pt->status != NQ_PS_ATTACHED) {
		printf("FAIL: verify: header lacks kernel or an attached accept point\n");
		nq_trace_reader_close(r);
		return 1;
	}
	while ((st = nq_trace_read(r, &ev)) == NQ_READ_EVENT) {
		if (ev.h.kind == NQ_EV_LOST) {
			lost++;
			continue;
		}
		if (ev.h.kind != NQ_EV_IRQ_ACCEPT || ev.h.tgid != pid) {
			other++;
			continue;
		}
		if (accepts < n && (ev.accept.vector != tvm_seq_vector(accepts) ||
				    ev.h.vcpu_id != (unsigned)tvm_seq_vcpu(accepts, nvcpus) ||
				    ev.accept.apicid != (unsigned)tvm_seq_vcpu(accepts, nvcpus))) {
			if (!bad)
				printf("# accept %d: vector 0x%x vcpu %u, expected 0x%x vcpu %d\n",
				       accepts, ev.accept.vector, ev.h.vcpu_id,
				       tvm_seq_vector(accepts), tvm_seq_vcpu(accepts, nvcpus));
			bad++;
		}
		accepts++;
	}
	nq_trace_reader_close(r);
	if (st == NQ_READ_ERROR) {
		printf("FAIL: verify: trace damaged\n");
		return 1;
	}
	if (accepts != n || bad || lost || other) {
		printf("FAIL: verify: %d accepts (expected %d), %d wrong, %d lost markers, %d "
		       "other "
		       "records\n",
		       accepts, n, bad, lost, other);
		return 1;
	}
	printf("PASS: verify: %d accepts with the right vectors and vCPUs, no drops\n", n);
	return 0;
}

static void test_msi_ioctls(void)
{
	struct tvm vm;
	char err[256];

	if (geteuid() != 0)
		SKIP("not root");
	if (access("/dev/kvm", R_OK | W_OK))
		SKIP("no /dev/kvm");
	CHECK_EQ(tvm_open(&vm, 2, err, sizeof(err)), 0);
	for (int i = 0; i < 64; i++) {
		int r = tvm_msi(&vm, tvm_seq_vcpu(i, 2), tvm_seq_vector(i));

		if (r < 0)
			tvm_close(&vm);
		CHECK(r >= 0);
	}
	tvm_close(&vm);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]), atoi(argv[3]));
	if (argc == 6 && !strcmp(argv[1], "verify"))
		return verify(argv[2], atoi(argv[3]), atoi(argv[4]), (unsigned)atoi(argv[5]));
	if (argc != 1) {
		fprintf(stderr, "usage: kvm_msi [serve NVCPUS N | verify FILE NVCPUS N PID]\n");
		return 2;
	}
	RUN(test_msi_ioctls);
	TEST_EXIT();
}
