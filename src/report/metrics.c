// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Prometheus text format 0.0.4.  Every family gets HELP and TYPE; label
 * values are escaped; histograms come straight from the engine's log2
 * buckets, whose bounds are exact powers of two nanoseconds, so the `le`
 * values are printed exactly (integer arithmetic, no float rounding).
 */
#include <inttypes.h>
#include <string.h>

#include "nestirq/metrics.h"

struct nq_vm_slot *nq_vm_table_count(struct nq_vm_table *t, uint32_t tgid, int kind)
{
	if (kind < 0 || kind >= NQ_V__MAX)
		return NULL;
	for (unsigned int i = 0; i < t->n; i++)
		if (t->vm[i].tgid == tgid) {
			t->vm[i].by_kind[kind]++;
			return NULL;
		}
	if (t->n < NQ_METRICS_TOP_VMS) {
		struct nq_vm_slot *s = &t->vm[t->n++];

		memset(s, 0, sizeof(*s));
		s->tgid = tgid;
		s->by_kind[kind] = 1;
		return s;
	}
	t->other_by_kind[kind]++;
	return NULL;
}

void nq_metrics_label_value(FILE *out, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\')
			fputs("\\\\", out);
		else if (*v == '"')
			fputs("\\\"", out);
		else if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
}

/* HELP text escapes only backslash and newline. */
static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s ", name);
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	fprintf(out, "\n# TYPE %s %s\n", name, type);
}

static void label(FILE *out, const char *sep, const char *name, const char *value)
{
	fprintf(out, "%s%s=\"", sep, name);
	nq_metrics_label_value(out, value);
	fputc('"', out);
}

/* A duration in nanoseconds as exact decimal seconds ("0.000000512"). */
static void seconds(FILE *out, uint64_t ns)
{
	uint64_t s = ns / 1000000000u, f = ns % 1000000000u;
	char frac[16];
	int n;

	if (!f) {
		fprintf(out, "%" PRIu64, s);
		return;
	}
	n = snprintf(frac, sizeof(frac), "%09" PRIu64, f);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	fprintf(out, "%" PRIu64 ".%s", s, frac);
}

static void scalar(FILE *out, const char *name, const char *type, const char *help, uint64_t v)
{
	family(out, name, type, help);
	fprintf(out, "%s %" PRIu64 "\n", name, v);
}

/*
 * Bucket i counts [2^i, 2^(i+1)) ns, so "<= 2^(i+1) ns" is exactly the sum
 * of buckets 0..i.  The engine's last bucket also holds everything larger,
 * so it is only represented by +Inf.
 */
static void histogram(FILE *out, const char *name, const char *help, const struct nq_hist *h)
{
	uint64_t cum = 0;

	family(out, name, "histogram", help);
	for (unsigned int i = 0; i + 1 < NQ_HIST_BUCKETS; i++) {
		cum += h->bucket[i];
		fprintf(out, "%s_bucket{le=\"", name);
		seconds(out, 2ull << i);
		fprintf(out, "\"} %" PRIu64 "\n", cum);
	}
	fprintf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, h->count);
	fprintf(out, "%s_sum ", name);
	seconds(out, h->sum_ns);
	fprintf(out, "\n%s_count %" PRIu64 "\n", name, h->count);
}

static void build_info(FILE *out, const struct nq_metrics_snap *s)
{
	family(out, "nestirq_build_info", "gauge",
	       "nestirq version, traced kernel release, detected KVM flow and nested ISA");
	fputs("nestirq_build_info", out);
	label(out, "{", "version", s->version);
	label(out, ",", "kernel", s->kernel);
	label(out, ",", "flow", s->flow);
	label(out, ",", "isa", s->isa);
	fputs("} 1\n", out);
	family(out, "nestirq_start_time_seconds", "gauge",
	       "when this nestirq process started, Unix time");
	fprintf(out, "nestirq_start_time_seconds %.3f\n", s->start_time);
}

static void events(FILE *out, const struct nq_stats *st)
{
	family(out, "nestirq_events_total", "counter", "events consumed by the engine, by kind");
	for (unsigned int k = 1; k < NQ_EV__MAX; k++) {
		fputs("nestirq_events_total", out);
		label(out, "{", "kind", nq_kind_name(k));
		fprintf(out, "} %" PRIu64 "\n", st->by_kind[k]);
	}
}

static void exit_reasons(FILE *out, const struct nq_stats *st)
{
	static const char *const src[2] = {"hw", "injected"};
	const uint64_t *tab[2] = {st->hw_exit_reasons, st->inject_exit_reasons};

	family(out, "nestirq_nested_vmexits_total", "counter",
	       "nested VM-exits by exit reason: hw (kvm_nested_vmexit, from L2) and injected "
	       "(kvm_nested_vmexit_inject, reported to L1); reasons >= 127 share one series");
	for (int t = 0; t < 2; t++)
		for (unsigned int r = 0; r < NQ_EXIT_REASONS; r++) {
			char reason[16];

			if (!tab[t][r])
				continue;
			if (r == NQ_EXIT_REASONS - 1)
				snprintf(reason, sizeof(reason), ">=%u", r);
			else
				snprintf(reason, sizeof(reason), "%u", r);
			fputs("nestirq_nested_vmexits_total", out);
			label(out, "{", "source", src[t]);
			label(out, ",", "reason", reason);
			fprintf(out, "} %" PRIu64 "\n", tab[t][r]);
		}
}

static void violations(FILE *out, const struct nq_metrics_snap *s)
{
	const struct nq_vm_table *t = &s->vms;

	family(out, "nestirq_violations_total", "counter",
	       "invariant violations by kind and VM; the first 8 VMs that violate keep their own "
	       "vm label, later ones are counted as vm=\"other\"");
	for (int k = 0; k < NQ_V__MAX; k++) {
		for (unsigned int i = 0; i < t->n; i++) {
			char fallback[32];
			const char *vm = t->vm[i].label;

			if (!t->vm[i].by_kind[k])
				continue;
			if (!vm[0]) {
				snprintf(fallback, sizeof(fallback), "pid %" PRIu32, t->vm[i].tgid);
				vm = fallback;
			}
			fputs("nestirq_violations_total", out);
			label(out, "{", "kind", nq_violation_name(k));
			label(out, ",", "vm", vm);
			fprintf(out, "} %" PRIu64 "\n", t->vm[i].by_kind[k]);
		}
		/* Always present, so alerts and rate() see every kind from the start. */
		fputs("nestirq_violations_total", out);
		label(out, "{", "kind", nq_violation_name(k));
		label(out, ",", "vm", "other");
		fprintf(out, "} %" PRIu64 "\n", t->other_by_kind[k]);
	}
}

/* Informational findings: never a violation, worth a graph (the <= 6.11 race window). */
static void infos(FILE *out, const struct nq_metrics_snap *s)
{
	family(out, "nestirq_findings_total", "counter",
	       "informational findings by kind (never a violation, never fail a gate)");
	for (int k = 0; k < NQ_INFO__MAX; k++) {
		fputs("nestirq_findings_total", out);
		label(out, "{", "kind", nq_info_name(k));
		fprintf(out, "} %" PRIu64 "\n", s->stats.by_info[k]);
	}
}

static void engine_scalars(FILE *out, const struct nq_stats *st)
{
	for (size_t i = 0; i < nq_stat_fields_count; i++) {
		char name[96];

		snprintf(name, sizeof(name), "nestirq_engine_%s_total", nq_stat_fields[i].name);
		scalar(out, name, "counter", nq_stat_fields[i].help, nq_stats_field(st, i));
	}
}

static void live_side(FILE *out, const struct nq_metrics_snap *s)
{
	unsigned int ncpus = s->ncpus < NQ_METRICS_MAX_CPUS ? s->ncpus : NQ_METRICS_MAX_CPUS;

	scalar(out, "nestirq_ringbuf_drops_total", "counter",
	       "records the BPF side could not put into the ring buffer (buffer full)",
	       s->drops_total);
	family(out, "nestirq_ringbuf_cpu_drops_total", "counter",
	       "ring-buffer drops by the CPU the event happened on");
	for (unsigned int c = 0; c < ncpus; c++)
		fprintf(out, "nestirq_ringbuf_cpu_drops_total{cpu=\"%u\"} %" PRIu64 "\n", c,
			s->drops_cpu[c]);
	if (s->ncpus > NQ_METRICS_MAX_CPUS)
		fprintf(out, "nestirq_ringbuf_cpu_drops_total{cpu=\"other\"} %" PRIu64 "\n",
			s->drops_cpu_other);

	family(out, "nestirq_probe_attached", "gauge",
	       "1 if the probe point is attached, 0 if it is unavailable or failed (see doctor)");
	for (unsigned int i = 0; i < s->nprobes && i < NQ_METRICS_MAX_PROBES; i++) {
		fputs("nestirq_probe_attached", out);
		label(out, "{", "probe", s->probe[i].name);
		fprintf(out, "} %d\n", s->probe[i].attached ? 1 : 0);
	}

	family(out, "nestirq_bpf_stats_enabled", "gauge",
	       "kernel.bpf_stats_enabled: 1 on, 0 off (run time and counts stay 0), -1 unknown");
	fprintf(out, "nestirq_bpf_stats_enabled %d\n", s->bpf_stats_enabled);
	family(out, "nestirq_bpf_prog_run_time_seconds_total", "counter",
	       "time spent in each loaded BPF program (bpf_prog_info.run_time_ns)");
	for (unsigned int i = 0; i < s->nprogs && i < NQ_METRICS_MAX_PROGS; i++) {
		fputs("nestirq_bpf_prog_run_time_seconds_total", out);
		label(out, "{", "prog", s->prog[i].name);
		fputs("} ", out);
		seconds(out, s->prog[i].run_time_ns);
		fputc('\n', out);
	}
	family(out, "nestirq_bpf_prog_runs_total", "counter",
	       "runs of each loaded BPF program (bpf_prog_info.run_cnt)");
	for (unsigned int i = 0; i < s->nprogs && i < NQ_METRICS_MAX_PROGS; i++) {
		fputs("nestirq_bpf_prog_runs_total", out);
		label(out, "{", "prog", s->prog[i].name);
		fprintf(out, "} %" PRIu64 "\n", s->prog[i].run_cnt);
	}
}

int nq_metrics_render(FILE *out, const struct nq_metrics_snap *s)
{
	build_info(out, s);
	events(out, &s->stats);
	exit_reasons(out, &s->stats);
	violations(out, s);
	infos(out, s);
	histogram(out, "nestirq_accept_to_ack_seconds",
		  "latency from kvm_apic_accept_irq to the ack of the same vector",
		  &s->stats.accept_to_ack);
	histogram(out, "nestirq_peek_to_ack_seconds",
		  "latency from the decision peek to the ack in one nested-event check",
		  &s->stats.peek_to_ack);
	engine_scalars(out, &s->stats);
	if (s->live)
		live_side(out, s);
	return ferror(out) ? -1 : 0;
}
