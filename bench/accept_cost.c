// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * accept_cost: the price of one accept in each of nestirq's accept modes,
 * against the bare counter, as BPF program run time (BPF_ENABLE_STATS),
 * side by side in one run.  The programs are driven with BPF_PROG_TEST_RUN
 * on their raw tracepoint, so no VM, no kprobe and no MSI is needed: what
 * differs between the configurations is only the program body.
 *
 *   bare         bench/bare_counter.bpf.c: a per-vector per-CPU count
 *   count        nestirq, nothing to pair accepts with (watch, serve here)
 *   context      nestirq on a host with pairing probes (NESTIRQ_STREAM_ACCEPTS=1):
 *                the vCPU's history updated in the kernel, the accept counted
 *   context-chk  the same while a check is open on the vCPU: streamed
 *   stream       every accept through the ring buffer (the pre-ABI-3 path)
 *
 * Rounds alternate the configurations; the median over rounds of each
 * configuration's mean ns per run is printed, with its ratio to bare.
 * Usage: accept_cost [ROUNDS [RUNS_PER_ROUND]]; exit 4 if BPF is missing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "nestirq/probes.h"
#include "bare_counter.skel.h"
#include "nestirq.skel.h"

enum cfg { C_BARE, C_COUNT, C_CONTEXT, C_CONTEXT_CHECK, C_STREAM, C__N };
static const char *const cfg_name[C__N] = {"bare", "count", "context", "context-chk", "stream"};

#define NVCPU	   4
#define NVEC	   16
#define MAX_ROUNDS 64

struct subject {
	struct nestirq_bpf *nq;
	struct bare_counter_bpf *bare;
	struct ring_buffer *rb;
	int fd;
};

static int consume_one(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN && getenv("NESTIRQ_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

/* nestirq's raw_tp accept program alone, in one accept mode. */
static int open_nestirq(struct subject *s, enum cfg c)
{
	struct bpf_program *p;

	s->nq = nestirq_bpf__open();
	if (!s->nq)
		return -errno;
	bpf_object__for_each_program(p, s->nq->obj) bpf_program__set_autoload(p, false);
	bpf_program__set_autoload(s->nq->progs.raw_accept, true);
	s->nq->rodata->accept_mode = c == C_COUNT    ? NQ_ACCEPTS_COUNT
				     : c == C_STREAM ? NQ_ACCEPTS_STREAM
						     : NQ_ACCEPTS_CONTEXT;
	s->nq->rodata->wakeup_every = NQ_WAKEUP_EVENTS;
	if (nestirq_bpf__load(s->nq))
		return -errno;
	s->fd = bpf_program__fd(s->nq->progs.raw_accept);
	s->rb = ring_buffer__new(bpf_map__fd(s->nq->maps.events), consume_one, NULL, NULL);
	if (!s->rb)
		return -errno;
	if (c == C_CONTEXT_CHECK) /* a check open on every vCPU: each accept is streamed */
		for (__u64 v = 0; v < NVCPU; v++) {
			struct nq_vcpu_ctx c = {.key = NQ_CTX_KEY_APICID | v, .in_check = 1};
			__u32 slot = nq_ctx_set(c.key); /* the first way of its set */

			if (bpf_map_update_elem(bpf_map__fd(s->nq->maps.vcpu_ctx), &slot, &c,
						BPF_ANY))
				return -errno;
		}
	return 0;
}

static int open_subject(struct subject *s, enum cfg c)
{
	memset(s, 0, sizeof(*s));
	if (c != C_BARE)
		return open_nestirq(s, c);
	s->bare = bare_counter_bpf__open_and_load();
	if (!s->bare)
		return -errno;
	s->fd = bpf_program__fd(s->bare->progs.bare_raw);
	return 0;
}

static void close_subject(struct subject *s)
{
	ring_buffer__free(s->rb);
	nestirq_bpf__destroy(s->nq);
	bare_counter_bpf__destroy(s->bare);
}

static int prog_stats(int fd, __u64 *ns, __u64 *cnt)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*ns = info.run_time_ns;
	*cnt = info.run_cnt;
	return 0;
}

/* Mean ns per program run over `runs` test runs (the reader drains as it goes). */
static double one_round(enum cfg c, int runs)
{
	struct subject s;
	__u64 ns0 = 0, n0 = 0, ns1 = 0, n1 = 0;
	double r = -1;

	if (open_subject(&s, c)) {
		fprintf(stderr, "accept_cost: cannot load %s: %s\n", cfg_name[c], strerror(errno));
		close_subject(&s);
		return -1;
	}
	if (prog_stats(s.fd, &ns0, &n0))
		goto out;
	for (int i = 0; i < runs; i++) {
		__u64 args[4] = {(__u64)(i % NVCPU), 0, 0, 0x30 + (__u64)(i % NVEC)};
		LIBBPF_OPTS(bpf_test_run_opts, t, .ctx_in = args, .ctx_size_in = sizeof(args));

		if (bpf_prog_test_run_opts(s.fd, &t))
			goto out;
		if (s.rb && !(i & 1023))
			ring_buffer__consume(s.rb);
	}
	if (!prog_stats(s.fd, &ns1, &n1) && n1 > n0)
		r = (double)(ns1 - ns0) / (double)(n1 - n0);
out:
	close_subject(&s);
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 7, runs = argc > 2 ? atoi(argv[2]) : 100000;
	static double ns[C__N][MAX_ROUNDS];
	double med[C__N];
	int stats_fd;

	if (rounds < 1 || rounds > MAX_ROUNDS || runs < 1) {
		fprintf(stderr, "usage: accept_cost [ROUNDS (1..%d) [RUNS_PER_ROUND]]\n",
			MAX_ROUNDS);
		return 2;
	}
	libbpf_set_print(libbpf_quiet);
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "accept_cost: skipped: cannot enable BPF run-time stats: %s\n",
			strerror(errno));
		return 4;
	}
	for (int r = 0; r < rounds; r++)
		for (int c = 0; c < C__N; c++) {
			/* Alternate the order each round so that drift hits every configuration. */
			int k = r & 1 ? C__N - 1 - c : c;

			ns[k][r] = one_round((enum cfg)k, runs);
			if (ns[k][r] < 0)
				return 1;
		}
	close(stats_fd);
	for (int c = 0; c < C__N; c++) {
		qsort(ns[c], (size_t)rounds, sizeof(double), cmp_double);
		med[c] = ns[c][rounds / 2];
	}
	printf("== accept program run time (BPF_PROG_TEST_RUN on raw_tp, BPF_ENABLE_STATS), "
	       "%d rounds x %d runs, median of per-round means ==\n",
	       rounds, runs);
	printf("| %-11s | %8s | %6s |\n|---|---|---|\n", "config", "ns/run", "× bare");
	for (int c = 0; c < C__N; c++)
		printf("| %-11s | %8.1f | %6.2f |\n", cfg_name[c], med[c], med[c] / med[C_BARE]);
	return 0;
}
