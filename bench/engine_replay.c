// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Engine replay throughput, side by side with a baseline in one run.
 *
 * A realistic 6.12+ event stream (4 VMs x 4 vCPUs, accept/check/peek/switch/
 * inject/ack/svi/exit per nested exit) is generated once into memory.  Then,
 * alternating rounds:
 *   baseline  a consumer that only touches each event (the floor)
 *   engine    nq_engine_feed() on every event
 *   file      the same events read back from a binary trace on disk, fed to the engine
 * Medians over the rounds are printed as events/s and ns/event.  Max RSS is
 * sampled after a short and after a long run to show memory does not grow
 * with the trace's length.  Nothing here is asserted: it prints figures.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "nestirq/engine.h"
#include "nestirq/trace.h"

#define PER_EXIT 9

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct nq_event ev_of(uint64_t *ts, uint32_t vm, uint32_t vcpu, uint8_t kind)
{
	struct nq_event e;

	memset(&e, 0, sizeof(e));
	e.h.ts_ns = (*ts += 37);
	e.h.tgid = vm;
	e.h.tid = vm + 8 + vcpu;
	e.h.vcpu_id = vcpu;
	e.h.cpu = (uint16_t)(vcpu & 1);
	e.h.kind = kind;
	e.h.isa = NQ_ISA_VMX;
	return e;
}

/* One nested external-interrupt exit on the 6.12+ flow. */
static size_t gen_exit(struct nq_event *out, uint64_t *ts, uint32_t vm, uint32_t vcpu, int vec)
{
	size_t n = 0;

	out[n] = ev_of(ts, vm, vcpu, NQ_EV_IRQ_ACCEPT);
	out[n].h.tid = vm + 1;
	out[n].accept.apicid = vcpu;
	out[n++].accept.vector = (uint8_t)vec;
	out[n] = ev_of(ts, vm, vcpu, NQ_EV_CHECK_ENTER);
	out[n].check_enter.vmcs = NQ_VMCS_02;
	out[n].check_enter.ctls = NQ_CTL_KNOWN | NQ_CTL_EXIT_ON_INTR | NQ_CTL_ACK_ON_EXIT;
	out[n++].check_enter.posted_intr_nv = 0xffff;
	out[n] = ev_of(ts, vm, vcpu, NQ_EV_PEEK);
	out[n++].peek.vector = vec;
	out[n] = ev_of(ts, vm, vcpu, NQ_EV_VMCS_SWITCH);
	out[n++].vmcs_switch.to = NQ_VMCS_01;
	out[n] = ev_of(ts, vm, vcpu, NQ_EV_VMEXIT_INJECT);
	out[n].h.vcpu_id = NQ_VCPU_UNKNOWN;
	out[n].inject.exit_code = NQ_VMX_EXIT_EXTERNAL_INTERRUPT;
	out[n++].inject.exit_int_info = NQ_INTR_INFO_VALID | (uint32_t)vec;
	out[n] = ev_of(ts, vm, vcpu, NQ_EV_ACK);
	out[n].ack.vector = vec;
	out[n++].ack.vmcs = NQ_VMCS_01;
	out[n] = ev_of(ts, vm, vcpu, NQ_EV_SVI_UPDATE);
	out[n].svi.max_isr = vec;
	out[n++].svi.vmcs = NQ_VMCS_01;
	out[n] = ev_of(ts, vm, vcpu, NQ_EV_CHECK_EXIT);
	out[n++].check_exit.ret = 0;
	out[n] = ev_of(ts, vm, vcpu, NQ_EV_VMCS_SWITCH);
	out[n++].vmcs_switch.to = NQ_VMCS_02;
	return n;
}

static size_t generate(struct nq_event *evs, size_t max)
{
	uint64_t ts = 1;
	size_t n = 0;

	for (unsigned int i = 0; n + PER_EXIT <= max; i++) {
		uint32_t vm = 1000 + (i % 4) * 100, vcpu = (i / 4) % 4;

		n += gen_exit(evs + n, &ts, vm, vcpu, 0x30 + (int)(i % 128));
	}
	return n;
}

static volatile uint64_t sink;

static double run_baseline(const struct nq_event *evs, size_t n, size_t passes)
{
	double t0 = now_s();
	uint64_t acc = 0;

	for (size_t p = 0; p < passes; p++)
		for (size_t i = 0; i < n; i++)
			acc += evs[i].h.kind + evs[i].h.vcpu_id;
	sink = acc;
	return now_s() - t0;
}

static double run_engine(const struct nq_event *evs, size_t n, size_t passes, uint64_t *pairs)
{
	struct nq_engine *e = nq_engine_new(NULL);
	double t0 = now_s(), dt;

	for (size_t p = 0; p < passes; p++)
		for (size_t i = 0; i < n; i++)
			nq_engine_feed(e, &evs[i]);
	nq_engine_finish(e);
	dt = now_s() - t0;
	*pairs = nq_engine_stats(e)->pairs;
	if (nq_engine_stats(e)->violations)
		fprintf(stderr, "bench: unexpected violations in a clean stream\n");
	nq_engine_free(e);
	return dt;
}

static double run_file(const char *path, uint64_t *count)
{
	char err[NQ_TRACE_ERR_LEN];
	struct nq_trace_reader *r = nq_trace_reader_open(path, err, sizeof(err));
	struct nq_engine *e = nq_engine_new(NULL);
	struct nq_event ev;
	double t0 = now_s(), dt;

	*count = 0;
	if (!r || !e) {
		fprintf(stderr, "bench: %s: %s\n", path, r ? "out of memory" : err);
		exit(1);
	}
	while (nq_trace_read(r, &ev) == NQ_READ_EVENT) {
		nq_engine_feed(e, &ev);
		(*count)++;
	}
	dt = now_s() - t0;
	nq_trace_reader_close(r);
	nq_engine_free(e);
	return dt;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static long max_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
	size_t n_mem = 1 << 20; /* 1 Mi events = 64 MiB, replayed `passes` times */
	size_t passes = argc > 1 ? strtoul(argv[1], NULL, 10) : 8;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	struct nq_event *evs = malloc(n_mem * sizeof(*evs));
	double base[16], eng[16], file[16];
	char path[] = "/tmp/nestirq-bench-XXXXXX";
	char err[NQ_TRACE_ERR_LEN];
	uint64_t pairs = 0, file_events = 0;
	long rss_short, rss_long;
	size_t n;
	int fd;

	if (!evs || rounds < 1 || rounds > 16 || !passes) {
		fprintf(stderr, "usage: engine_replay [passes] [rounds<=16]\n");
		return 2;
	}
	n = generate(evs, n_mem);

	/* The file replay reads the same events from disk. */
	fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	struct nq_trace_meta meta = {0};
	snprintf(meta.flow, sizeof(meta.flow), "6.12+");
	struct nq_trace_writer *w = nq_trace_writer_open(path, &meta, err, sizeof(err));
	if (!w) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	for (size_t p = 0; p < passes; p++)
		for (size_t i = 0; i < n; i++)
			nq_trace_write(w, &evs[i]);
	if (nq_trace_writer_close(w, err, sizeof(err))) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}

	/* Memory: a short run, then a run 8x longer; max RSS must not follow. */
	run_engine(evs, n / 8, 1, &pairs);
	rss_short = max_rss_kib();
	for (int r = 0; r < rounds; r++) {
		base[r] = run_baseline(evs, n, passes);
		eng[r] = run_engine(evs, n, passes, &pairs);
		file[r] = run_file(path, &file_events);
	}
	rss_long = max_rss_kib();
	unlink(path);

	double total = (double)n * (double)passes;
	double mb = median(base, rounds), me = median(eng, rounds), mf = median(file, rounds);

	printf("== (e) engine replay: %zu events x %zu passes, %d alternating rounds, medians ==\n",
	       n, passes, rounds);
	printf("| %-34s | %12s | %9s | %9s |\n", "consumer", "events/s", "ns/event", "vs floor");
	printf("|------------------------------------|--------------|-----------|-----------|\n");
	printf("| %-34s | %12.0f | %9.2f | %9s |\n", "baseline (touch each event)", total / mb,
	       mb * 1e9 / total, "1.00x");
	printf("| %-34s | %12.0f | %9.2f | %8.2fx |\n", "engine (in-memory events)", total / me,
	       me * 1e9 / total, me / mb);
	printf("| %-34s | %12.0f | %9.2f | %8.2fx |\n", "engine + binary trace file reader",
	       (double)file_events / mf, mf * 1e9 / (double)file_events, mf / mb);
	printf("pairs per engine pass: %llu (expected %zu)\n", (unsigned long long)pairs,
	       (n / PER_EXIT) * passes);
	printf("max RSS: %ld KiB after %zu events, %ld KiB after %.0f more (includes the %zu MiB "
	       "event buffer)\n",
	       rss_short, n / 8, rss_long, total * rounds * 2, n * sizeof(*evs) >> 20);
	printf("goal: >= 20M events/s on one core for the engine\n");
	free(evs);
	return 0;
}
