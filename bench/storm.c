// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The MSI storm for the live benchmarks (bench/storm.sh, capacity.sh,
 * progcost.sh, footprint.sh), and the bare counting tracer they compare
 * nestirq against.
 *
 *   storm fire [-t THREADS] [-v VCPUS] [-k VECTORS] [-s SECONDS | -n COUNT]
 *              [-r RATE] [-w]
 *       Each thread owns a VM (in-kernel irqchip, VCPUS vCPUs, no guest
 *       code) and fires KVM_SIGNAL_MSI in a tight loop: MSI i goes to vCPU
 *       i % VCPUS with vector 0x30 + i % VECTORS.  Every MSI is one
 *       kvm:kvm_apic_accept_irq.  -r paces each thread to RATE MSIs/s
 *       (0: as fast as it can).  -w prints "ready PID" and waits for a line
 *       on stdin before firing.  Prints one line:
 *       "msis N seconds S rate R threads T failed F cpu_ns_per_msi C"
 *       (R = N / S over all threads; C = the firing threads' CPU time per
 *       MSI, which includes every BPF program run in their context and is
 *       not inflated when other processes take the CPUs away).
 *
 *   storm bare [raw|tp|ktime|rb-discard|rb-submit [PID]]
 *       Loads bench/bare_counter.bpf.c (raw_tp or classic tracepoint, or one
 *       of the priced streaming pieces on raw_tp, see there; only process
 *       PID's events when given, like nestirq -p),
 *       prints "ready PID", counts until SIGINT or SIGTERM, then
 *       prints "bare events N vectors K run_time_ns T run_cnt C" (T and C
 *       from bpf_prog_info: non-zero while kernel.bpf_stats_enabled is 1).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../tests/live/kvm_vm.h"
#include "bare_counter.skel.h"

#define MAX_THREADS 16

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct fire_opts {
	int threads, vcpus, vectors;
	double seconds, rate;
	uint64_t count; /* per run, split over the threads; 0: fixed time */
};

struct worker {
	pthread_t th;
	const struct fire_opts *o;
	struct tvm vm;
	uint64_t quota; /* fixed count: this thread's share */
	uint64_t fired, failed;
	double cpu_s; /* this thread's CPU time while firing (user + system) */
};

static volatile int stop_firing;
static pthread_barrier_t start_line;

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *fire_thread(void *arg)
{
	struct worker *w = arg;
	const struct fire_opts *o = w->o;
	double t0, c0, period = o->rate > 0 ? 1.0 / o->rate : 0;
	uint64_t i = 0;

	pthread_barrier_wait(&start_line);
	t0 = now_s();
	c0 = thread_cpu_s();
	while (!stop_firing && (!o->count || i < w->quota)) {
		/* Batches of 64 between clock and pacing checks. */
		for (int b = 0; b < 64 && (!o->count || i < w->quota); b++, i++) {
			int vcpu = (int)(i % (uint64_t)o->vcpus);
			int vec = 0x30 + (int)(i % (uint64_t)o->vectors);

			if (tvm_msi(&w->vm, vcpu, vec) < 0)
				w->failed++;
		}
		if (period > 0) {
			double due = t0 + (double)i * period;

			while (!stop_firing && now_s() < due) {
				double left = due - now_s();

				if (left > 200e-6)
					usleep((useconds_t)(left * 1e6 / 2));
			}
		}
	}
	w->fired = i;
	w->cpu_s = thread_cpu_s() - c0;
	return NULL;
}

static int fire(int argc, char **argv)
{
	struct fire_opts o = {.threads = 1, .vcpus = 2, .vectors = 16, .seconds = 2};
	struct worker w[MAX_THREADS];
	bool wait_line = false;
	uint64_t total = 0, failed = 0;
	double t0, dt, cpu = 0;
	char err[256];
	int c;

	while ((c = getopt(argc, argv, "t:v:k:s:n:r:w")) != -1) {
		switch (c) {
		case 't':
			o.threads = atoi(optarg);
			break;
		case 'v':
			o.vcpus = atoi(optarg);
			break;
		case 'k':
			o.vectors = atoi(optarg);
			break;
		case 's':
			o.seconds = atof(optarg);
			break;
		case 'n':
			o.count = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			o.rate = atof(optarg);
			break;
		case 'w':
			wait_line = true;
			break;
		default:
			return 2;
		}
	}
	if (o.threads < 1 || o.threads > MAX_THREADS || o.vcpus < 1 || o.vcpus > TVM_MAX_VCPUS ||
	    o.vectors < 1 || o.vectors > 0xc0 || (o.seconds <= 0 && !o.count)) {
		fprintf(stderr, "storm fire: bad arguments\n");
		return 2;
	}
	memset(w, 0, sizeof(w));
	for (int t = 0; t < o.threads; t++) {
		w[t].o = &o;
		w[t].quota = o.count / (uint64_t)o.threads +
			     ((uint64_t)t < o.count % (uint64_t)o.threads ? 1 : 0);
		if (tvm_open(&w[t].vm, o.vcpus, err, sizeof(err))) {
			fprintf(stderr, "storm fire: %s\n", err);
			return 3;
		}
	}
	if (wait_line) {
		char line[64];

		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 3;
	}
	pthread_barrier_init(&start_line, NULL, (unsigned)o.threads + 1);
	for (int t = 0; t < o.threads; t++)
		pthread_create(&w[t].th, NULL, fire_thread, &w[t]);
	pthread_barrier_wait(&start_line);
	t0 = now_s();
	if (!o.count) {
		while (now_s() - t0 < o.seconds)
			usleep(10000);
		stop_firing = 1;
	}
	for (int t = 0; t < o.threads; t++) {
		pthread_join(w[t].th, NULL);
		total += w[t].fired;
		failed += w[t].failed;
		cpu += w[t].cpu_s;
	}
	dt = now_s() - t0;
	for (int t = 0; t < o.threads; t++)
		tvm_close(&w[t].vm);
	printf("msis %llu seconds %.4f rate %.0f threads %d failed %llu cpu_ns_per_msi %.1f\n",
	       (unsigned long long)total, dt, (double)total / dt, o.threads,
	       (unsigned long long)failed, total ? cpu * 1e9 / (double)total : 0.0);
	return failed ? 1 : 0;
}

static volatile sig_atomic_t bare_stop;

static void on_stop(int sig)
{
	(void)sig;
	bare_stop = 1;
}

static uint64_t drained;

static int drain(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	drained += size > 0;
	return 0;
}

static int bare(const char *mode, const char *pid)
{
	struct bare_counter_bpf *s;
	struct bpf_program *prog;
	struct bpf_link *link;
	struct bpf_prog_info info;
	__u32 infolen = sizeof(info);
	struct sigaction sa;
	uint64_t total = 0;
	int ncpu = libbpf_num_possible_cpus(), vectors = 0;
	uint64_t *vals;
	static const char *const modes[] = {"raw", "tp", "ktime", "rb-discard", "rb-submit"};
	struct ring_buffer *rb = NULL;
	bool raw = !mode || strcmp(mode, "tp");
	int m = -1;

	for (int i = 0; i < (int)(sizeof(modes) / sizeof(modes[0])); i++)
		if (!strcmp(mode ? mode : "raw", modes[i]))
			m = i;
	if (m < 0) {
		fprintf(stderr, "storm bare: mode is raw, tp, ktime, rb-discard or rb-submit\n");
		return 2;
	}
	s = bare_counter_bpf__open();
	if (!s) {
		fprintf(stderr, "storm bare: open: %s\n", strerror(errno));
		return 3;
	}
	{
		struct bpf_program *all[] = {s->progs.bare_raw, s->progs.bare_tp,
					     s->progs.bare_ktime, s->progs.bare_rb_discard,
					     s->progs.bare_rb_submit};

		for (int i = 0; i < (int)(sizeof(all) / sizeof(all[0])); i++)
			bpf_program__set_autoload(all[i], i == m);
		prog = all[m];
	}
	s->rodata->filter_tgid = pid ? (__u32)strtoul(pid, NULL, 10) : 0;
	if (bare_counter_bpf__load(s)) {
		fprintf(stderr, "storm bare: load: %s\n", strerror(errno));
		bare_counter_bpf__destroy(s);
		return 3;
	}
	link = raw ? bpf_program__attach_raw_tracepoint(prog, "kvm_apic_accept_irq")
		   : bpf_program__attach_tracepoint(prog, "kvm", "kvm_apic_accept_irq");
	if (!link) {
		fprintf(stderr, "storm bare: attach: %s\n", strerror(errno));
		bare_counter_bpf__destroy(s);
		return 3;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (m == 4)
		rb = ring_buffer__new(bpf_map__fd(s->maps.ring), drain, NULL, NULL);
	while (!bare_stop) {
		if (!rb) {
			pause();
			continue;
		}
		ring_buffer__poll(rb, 100);
		ring_buffer__consume(rb);
	}
	ring_buffer__free(rb);
	bpf_link__destroy(link);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &infolen))
		memset(&info, 0, sizeof(info));
	vals = calloc((size_t)ncpu, sizeof(*vals));
	for (__u32 v = 0; vals && v < 256; v++) {
		uint64_t sum = 0;

		if (bpf_map_lookup_elem(bpf_map__fd(s->maps.per_vector), &v, vals))
			continue;
		for (int cpu = 0; cpu < ncpu; cpu++)
			sum += vals[cpu];
		total += sum;
		vectors += sum != 0;
	}
	free(vals);
	printf("bare events %llu vectors %d run_time_ns %llu run_cnt %llu\n",
	       (unsigned long long)total, vectors, (unsigned long long)info.run_time_ns,
	       (unsigned long long)info.run_cnt);
	bare_counter_bpf__destroy(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "fire"))
		return fire(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "bare"))
		return bare(argc > 2 ? argv[2] : NULL, argc > 3 ? argv[3] : NULL);
	fprintf(stderr, "usage: storm fire [-t THREADS] [-v VCPUS] [-k VECTORS] "
			"[-s SECONDS | -n COUNT] [-r RATE] [-w]\n"
			"       storm bare [raw|tp|ktime|rb-discard|rb-submit [PID]]\n");
	return 2;
}
