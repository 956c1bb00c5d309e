// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Prometheus exposition: every line parses as text format 0.0.4, every
 * sample belongs to a family declared with HELP and TYPE, label values are
 * escaped, histogram buckets are cumulative and end at the count, and the
 * vm label stays bounded however many VMs violate.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nestirq/metrics.h"

struct sample {
	char name[128];
	char labels[512]; /* as written, escapes kept */
	char le[32];	  /* unescaped "le" value, if any */
	char vm[128];	  /* unescaped "vm" value, if any */
	double value;
};

/* Bounded copy without snprintf's truncation warnings. */
static void cpy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

static char *render(const struct nq_metrics_snap *s, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	if (nq_metrics_render(f, s)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

static int name_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* Parses one sample line; returns 0 or -1 with *why set. */
static int parse_sample(const char *line, struct sample *s, const char **why)
{
	const char *p = line;
	size_t n = 0;
	char *end;

	memset(s, 0, sizeof(*s));
	if (!name_char(*p, 1))
		return *why = "bad metric name", -1;
	while (name_char(*p, 0) && n + 1 < sizeof(s->name))
		s->name[n++] = *p++;
	if (*p == '{') {
		const char *start = ++p;

		while (*p != '}') {
			char lname[64], val[256];
			size_t ln = 0, vn = 0;

			if (!name_char(*p, 1))
				return *why = "bad label name", -1;
			while (name_char(*p, 0) && ln + 1 < sizeof(lname))
				lname[ln++] = *p++;
			lname[ln] = 0;
			if (p[0] != '=' || p[1] != '"')
				return *why = "label without =\"", -1;
			p += 2;
			while (*p != '"') {
				char c = *p;

				if (!c || c == '\n')
					return *why = "unterminated label value", -1;
				if (c == '\\') {
					p++;
					if (*p == 'n')
						c = '\n';
					else if (*p == '\\' || *p == '"')
						c = *p;
					else
						return *why = "bad escape in label value", -1;
				}
				if (vn + 1 < sizeof(val))
					val[vn++] = c;
				p++;
			}
			val[vn] = 0;
			p++;
			if (!strcmp(lname, "le"))
				cpy(s->le, sizeof(s->le), val);
			if (!strcmp(lname, "vm"))
				cpy(s->vm, sizeof(s->vm), val);
			if (*p == ',')
				p++;
			else if (*p != '}')
				return *why = "junk between labels", -1;
		}
		snprintf(s->labels, sizeof(s->labels), "%.*s", (int)(p - start), start);
		p++;
	}
	if (*p != ' ')
		return *why = "no space before the value", -1;
	s->value = strtod(p + 1, &end);
	if (end == p + 1 || *end)
		return *why = "bad value", -1;
	return 0;
}

struct family {
	char name[128];
	char type[16];
	int help;
};

/*
 * Validates the whole text; returns NULL or a reason.  Collects samples
 * into out (up to max) for the content checks.
 */
static const char *validate(char *text, struct sample *out, int max, int *nout)
{
	static struct family fam[256];
	int nfam = 0;
	char *save = NULL;

	*nout = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7)) {
			char name[128], rest[256];
			int i;

			if (sscanf(line + 7, "%127s %255[^\n]", name, rest) != 2)
				return "HELP or TYPE without text";
			for (i = 0; i < nfam && strcmp(fam[i].name, name); i++)
				;
			if (i == nfam) {
				if (nfam == 256)
					return "too many families";
				memset(&fam[nfam], 0, sizeof(fam[0]));
				cpy(fam[nfam].name, sizeof(fam[0].name), name);
				nfam++;
			}
			if (line[2] == 'H')
				fam[i].help++;
			else {
				if (fam[i].type[0])
					return "TYPE twice";
				if (strcmp(rest, "counter") && strcmp(rest, "gauge") &&
				    strcmp(rest, "histogram"))
					return "unknown TYPE";
				cpy(fam[i].type, sizeof(fam[i].type), rest);
			}
			continue;
		}
		if (line[0] == '#')
			return "stray comment";
		{
			struct sample s;
			const char *why = NULL;
			char base[128];
			int i;

			if (parse_sample(line, &s, &why))
				return why;
			cpy(base, sizeof(base), s.name);
			for (i = 0; i < nfam && strcmp(fam[i].name, base); i++)
				;
			if (i == nfam) {
				/* histogram series */
				char *suf = strrchr(base, '_');

				if (suf)
					*suf = 0;
				for (i = 0; i < nfam && strcmp(fam[i].name, base); i++)
					;
				if (i == nfam || strcmp(fam[i].type, "histogram"))
					return "sample of an undeclared family";
			}
			if (!fam[i].type[0] || fam[i].help != 1)
				return "family without exactly one HELP and a TYPE";
			if (!strcmp(fam[i].type, "counter") &&
			    strcmp(s.name + strlen(s.name) - 6, "_total"))
				return "counter without _total";
			for (int j = 0; j < *nout; j++)
				if (!strcmp(out[j].name, s.name) &&
				    !strcmp(out[j].labels, s.labels))
					return "duplicate series";
			if (*nout < max)
				out[(*nout)++] = s;
		}
	}
	return NULL;
}

static struct sample samples[4096];

static void fill_live(struct nq_metrics_snap *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->version, sizeof(s->version), "0.1.0");
	snprintf(s->kernel, sizeof(s->kernel), "6.18.0 \"test\"\\x");
	snprintf(s->flow, sizeof(s->flow), "6.12+");
	snprintf(s->isa, sizeof(s->isa), "vmx");
	s->start_time = 1700000000.25;
	s->live = true;
	s->ncpus = 2;
	s->stats.by_info[NQ_INFO_RACE_WINDOW] = 5;
	s->stats.race_window_hits = 5;
	s->drops_cpu[1] = 5;
	s->drops_total = 5;
	s->nprobes = 2;
	snprintf(s->probe[0].name, sizeof(s->probe[0].name), "accept");
	s->probe[0].attached = true;
	snprintf(s->probe[1].name, sizeof(s->probe[1].name), "ack");
	s->nprogs = 1;
	snprintf(s->prog[0].name, sizeof(s->prog[0].name), "tp_accept");
	s->prog[0].run_time_ns = 1500000000ull;
	s->prog[0].run_cnt = 7;
	s->bpf_stats_enabled = 1;
	s->stats.by_kind[NQ_EV_IRQ_ACCEPT] = 42;
	s->stats.hw_exit_reasons[1] = 3;
	s->stats.inject_exit_reasons[NQ_EXIT_REASONS - 1] = 2;
}

static const struct sample *find(int n, const char *name, const char *labels)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(samples[i].name, name) && !strcmp(samples[i].labels, labels))
			return &samples[i];
	return NULL;
}

static void test_format_is_valid(void)
{
	struct nq_metrics_snap *s = calloc(1, sizeof(*s));
	const char *why;
	size_t len;
	char *text;
	int n;

	CHECK(s);
	fill_live(s);
	text = render(s, &len);
	CHECK(text && len > 0 && text[len - 1] == '\n');
	why = validate(text, samples, 4096, &n);
	if (why)
		printf("  invalid: %s\n", why);
	CHECK(!why);
	CHECK(find(n, "nestirq_events_total", "kind=\"irq_accept\"")->value == 42);
	CHECK(find(n, "nestirq_findings_total", "kind=\"race_window\"")->value == 5);
	CHECK(find(n, "nestirq_engine_race_window_hits_total", "")->value == 5);
	CHECK(find(n, "nestirq_nested_vmexits_total", "source=\"hw\",reason=\"1\"")->value == 3);
	CHECK(find(n, "nestirq_nested_vmexits_total", "source=\"injected\",reason=\">=127\""));
	CHECK(find(n, "nestirq_ringbuf_cpu_drops_total", "cpu=\"1\"")->value == 5);
	CHECK(find(n, "nestirq_probe_attached", "probe=\"ack\"")->value == 0);
	CHECK(find(n, "nestirq_bpf_prog_run_time_seconds_total", "prog=\"tp_accept\"")->value ==
	      1.5);
	CHECK(find(n, "nestirq_bpf_prog_runs_total", "prog=\"tp_accept\"")->value == 7);
	CHECK(find(n, "nestirq_violations_total", "kind=\"vector_mismatch\",vm=\"other\""));
	/* every scalar counter of the engine, by its stable name */
	for (size_t i = 0; i < nq_stat_fields_count; i++) {
		char name[128];

		snprintf(name, sizeof(name), "nestirq_engine_%s_total", nq_stat_fields[i].name);
		CHECK(find(n, name, ""));
	}
	free(text);
	free(s);
}

static void test_label_values_escaped(void)
{
	struct nq_metrics_snap *s = calloc(1, sizeof(*s));
	struct nq_vm_slot *slot;
	size_t len;
	char *text;
	int n;

	CHECK(s);
	fill_live(s);
	slot = nq_vm_table_count(&s->vms, 77, NQ_V_ACK_IN_VMCS02);
	CHECK(slot);
	snprintf(slot->label, sizeof(slot->label), "pid 77 (a \"b\"\\c\nd)");
	text = render(s, &len);
	CHECK(text);
	CHECK_STR_CONTAINS(text, "kernel=\"6.18.0 \\\"test\\\"\\\\x\"");
	CHECK_STR_CONTAINS(text, "vm=\"pid 77 (a \\\"b\\\"\\\\c\\nd)\"} 1\n");
	CHECK(!validate(text, samples, 4096, &n));
	CHECK(find(n, "nestirq_violations_total",
		   "kind=\"ack_in_vmcs02\",vm=\"pid 77 (a \\\"b\\\"\\\\c\\nd)\""));
	free(text);
	free(s);
}

static void check_hist(int n, const char *name, const struct nq_hist *h)
{
	char bucket[128], count[128];
	double prev = -1;
	int nb = 0;

	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	snprintf(count, sizeof(count), "%s_count", name);
	for (int i = 0; i < n; i++) {
		if (strcmp(samples[i].name, bucket))
			continue;
		nb++;
		if (samples[i].value < prev) {
			printf("  %s le=%s decreases\n", name, samples[i].le);
			nq_t_case_failed = 1;
		}
		prev = samples[i].value;
	}
	if (nb != NQ_HIST_BUCKETS || prev != (double)h->count || !find(n, count, "") ||
	    find(n, count, "")->value != (double)h->count) {
		printf("  %s: %d buckets, last %f, count %llu\n", name, nb, prev,
		       (unsigned long long)h->count);
		nq_t_case_failed = 1;
	}
}

static void test_histogram_cumulative(void)
{
	struct nq_metrics_snap *s = calloc(1, sizeof(*s));
	const struct sample *b;
	size_t len;
	char *text;
	int n;

	CHECK(s);
	fill_live(s);
	/* 1 ns, 3 ns, 1000 ns (bucket 9: [512,1024)), 1 s, and 10^4 s (last bucket) */
	nq_hist_add(&s->stats.accept_to_ack, 1);
	nq_hist_add(&s->stats.accept_to_ack, 3);
	nq_hist_add(&s->stats.accept_to_ack, 1000);
	nq_hist_add(&s->stats.accept_to_ack, 1000000000ull);
	nq_hist_add(&s->stats.accept_to_ack, 10000000000000ull);
	text = render(s, &len);
	CHECK(text);
	CHECK(!validate(text, samples, 4096, &n));
	check_hist(n, "nestirq_accept_to_ack_seconds", &s->stats.accept_to_ack);
	check_hist(n, "nestirq_peek_to_ack_seconds", &s->stats.peek_to_ack);
	CHECK(!nq_t_case_failed);
	b = find(n, "nestirq_accept_to_ack_seconds_bucket", "le=\"0.000000002\"");
	CHECK(b && b->value == 1);
	b = find(n, "nestirq_accept_to_ack_seconds_bucket", "le=\"0.000000004\"");
	CHECK(b && b->value == 2);
	b = find(n, "nestirq_accept_to_ack_seconds_bucket", "le=\"0.000000512\"");
	CHECK(b && b->value == 2);
	b = find(n, "nestirq_accept_to_ack_seconds_bucket", "le=\"0.000001024\"");
	CHECK(b && b->value == 3);
	b = find(n, "nestirq_accept_to_ack_seconds_bucket", "le=\"1.073741824\"");
	CHECK(b && b->value == 4);
	b = find(n, "nestirq_accept_to_ack_seconds_bucket", "le=\"+Inf\"");
	CHECK(b && b->value == 5);
	b = find(n, "nestirq_accept_to_ack_seconds_sum", "");
	CHECK(b && b->value > 10001.0 && b->value < 10001.1);
	free(text);
	free(s);
}

static void test_vm_labels_bounded(void)
{
	struct nq_metrics_snap *s = calloc(1, sizeof(*s));
	uint64_t other = 0, total = 0;
	size_t len;
	char *text;
	int n, vms = 0;

	CHECK(s);
	fill_live(s);
	/* 1000 VMs violate; VM i violates i%5+1 times */
	for (uint32_t vm = 1; vm <= 1000; vm++)
		for (uint32_t j = 0; j <= vm % 5; j++) {
			struct nq_vm_slot *slot =
				nq_vm_table_count(&s->vms, vm, NQ_V_VECTOR_MISMATCH);

			if (slot)
				snprintf(slot->label, sizeof(slot->label), "pid %u (vm%u)", vm, vm);
			total++;
		}
	text = render(s, &len);
	CHECK(text);
	CHECK(!validate(text, samples, 4096, &n));
	for (int i = 0; i < n; i++) {
		if (strcmp(samples[i].name, "nestirq_violations_total"))
			continue;
		if (!strcmp(samples[i].vm, "other")) {
			if (strstr(samples[i].labels, "vector_mismatch"))
				other = (uint64_t)samples[i].value;
		} else {
			vms++;
		}
		if (strstr(samples[i].labels, "vector_mismatch"))
			total -= (uint64_t)samples[i].value;
	}
	CHECK_EQ(vms, NQ_METRICS_TOP_VMS);
	CHECK(other > 0);
	CHECK_EQ(total, 0); /* nothing lost in the aggregation */
	/* The first VMs keep their slot: counters never move between labels. */
	CHECK(find(n, "nestirq_violations_total", "kind=\"vector_mismatch\",vm=\"pid 1 (vm1)\"")
		      ->value == 2);
	free(text);
	free(s);
}

static void test_no_live_side_without_bpf(void)
{
	struct nq_metrics_snap *s = calloc(1, sizeof(*s));
	size_t len;
	char *text;
	int n;

	CHECK(s);
	text = render(s, &len);
	CHECK(text);
	CHECK(!strstr(text, "nestirq_ringbuf_drops_total"));
	CHECK(!validate(text, samples, 4096, &n));
	CHECK(find(n, "nestirq_build_info", "version=\"\",kernel=\"\",flow=\"\",isa=\"\""));
	free(text);
	free(s);
}

int main(void)
{
	RUN(test_format_is_valid);
	RUN(test_label_values_escaped);
	RUN(test_histogram_cumulative);
	RUN(test_vm_labels_bounded);
	RUN(test_no_live_side_without_bpf);
	TEST_EXIT();
}
