// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Replays every NAME.jsonl of tests/scenarios (hand-written, modelled on the
 * kernel flows) and tests/data (recorded on real kernels) through the engine
 * and holds it to NAME.expect, line by line:
 *   violation KIND N          exactly N violations of KIND; unlisted kinds must be 0
 *   info KIND N               exactly N informational findings of KIND; unlisted: 0
 *   stat NAME N               the engine counter NAME is exactly N
 *   at KIND vm=V vcpu=C       every KIND finding names this VM and vCPU
 *   evidence KIND EVENTKIND   every KIND finding carries an event of EVENTKIND
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nestirq/engine.h"
#include "nestirq/trace.h"

#define MAX_SEEN 64

struct run {
	unsigned int n;
	struct nq_violation seen[MAX_SEEN];
};

static void collect(const struct nq_violation *v, void *ctx)
{
	struct run *r = ctx;

	if (r->n < MAX_SEEN)
		r->seen[r->n++] = *v;
}

static const char *dir;
static const char *scenario;

/* A finding's kind by name: violations first, then informational ones. */
static bool finding_is(const struct nq_violation *v, const char *name)
{
	return !strcmp(nq_finding_name(v), name);
}

static bool finding_known(const char *name)
{
	return nq_violation_from_name(name) >= 0 || nq_info_from_name(name) >= 0;
}

static int has_evidence(const struct nq_violation *v, int kind)
{
	for (unsigned int i = 0; i < v->n_evidence; i++)
		if (v->evidence[i].h.kind == kind)
			return 1;
	return 0;
}

static void run_scenario(void)
{
	char path[512], err[NQ_TRACE_ERR_LEN], line[256];
	uint64_t want_violations[NQ_V__MAX] = {0};
	uint64_t want_infos[NQ_INFO__MAX] = {0};
	struct nq_engine_config cfg = {0};
	static struct run run;
	struct nq_trace_reader *r;
	struct nq_engine *e;
	const struct nq_stats *st;
	struct nq_event ev;
	enum nq_read_status rs;
	FILE *expect;
	int lineno = 0;

	memset(&run, 0, sizeof(run));
	snprintf(path, sizeof(path), "%s/%s.jsonl", dir, scenario);
	r = nq_trace_reader_open(path, err, sizeof(err));
	if (!r)
		printf("    %s: %s\n", path, err);
	CHECK(r != NULL);
	cfg.on_violation = collect;
	cfg.on_info = collect;
	cfg.ctx = &run;
	e = nq_engine_new(&cfg);
	CHECK(e != NULL);
	while ((rs = nq_trace_read(r, &ev)) == NQ_READ_EVENT)
		nq_engine_feed(e, &ev);
	if (rs == NQ_READ_ERROR)
		printf("    %s: %s\n", path, nq_trace_reader_error(r));
	nq_engine_finish(e);
	nq_trace_reader_close(r);
	st = nq_engine_stats(e);
	/* The engine outlives the CHECKs below only through copies. */
	static struct nq_stats stats;
	stats = *st;
	nq_engine_free(e);
	CHECK_EQ(rs, NQ_READ_EOF);

	snprintf(path, sizeof(path), "%s/%s.expect", dir, scenario);
	expect = fopen(path, "r");
	CHECK(expect != NULL);
	while (fgets(line, sizeof(line), expect)) {
		char a[64], b[64], c[64];
		unsigned long long n;
		uint64_t got;
		int k, fields;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		fields = sscanf(line, "%63s %63s %63s", a, b, c);
		if (!strcmp(a, "violation") && fields == 3) {
			k = nq_violation_from_name(b);
			n = strtoull(c, NULL, 0);
			if (k < 0)
				printf("    %s:%d: unknown violation '%s'\n", path, lineno, b);
			CHECK(k >= 0);
			want_violations[k] = n;
		} else if (!strcmp(a, "info") && fields == 3) {
			k = nq_info_from_name(b);
			if (k < 0)
				printf("    %s:%d: unknown finding '%s'\n", path, lineno, b);
			CHECK(k >= 0);
			want_infos[k] = strtoull(c, NULL, 0);
		} else if (!strcmp(a, "stat") && fields == 3) {
			int found = nq_stats_lookup(&stats, b, &got);

			if (found)
				printf("    %s:%d: unknown stat '%s'\n", path, lineno, b);
			CHECK_EQ(found, 0);
			if (got != strtoull(c, NULL, 0))
				printf("    stat %s: got %llu, want %s\n", b,
				       (unsigned long long)got, c);
			CHECK_EQ(got, strtoull(c, NULL, 0));
		} else if (!strcmp(a, "at") && fields == 3) {
			unsigned int vm, vcpu;

			CHECK_EQ(sscanf(line, "at %*s vm=%u vcpu=%u", &vm, &vcpu), 2);
			CHECK(finding_known(b));
			for (unsigned int i = 0; i < run.n; i++) {
				if (!finding_is(&run.seen[i], b))
					continue;
				CHECK_EQ(run.seen[i].tgid, vm);
				CHECK_EQ(run.seen[i].vcpu_id, vcpu);
			}
		} else if (!strcmp(a, "evidence") && fields == 3) {
			int want = nq_kind_from_name(c);

			CHECK(finding_known(b) && want > 0);
			for (unsigned int i = 0; i < run.n; i++)
				if (finding_is(&run.seen[i], b) &&
				    !has_evidence(&run.seen[i], want)) {
					printf("    %s violation lacks %s evidence\n", b, c);
					CHECK(0);
				}
		} else {
			printf("    %s:%d: cannot parse '%s'\n", path, lineno, line);
			CHECK(0);
		}
	}
	fclose(expect);

	for (int kind = 0; kind < NQ_V__MAX; kind++) {
		if (stats.by_violation[kind] != want_violations[kind])
			printf("    %s: %s violations: got %llu, want %llu\n", scenario,
			       nq_violation_name(kind),
			       (unsigned long long)stats.by_violation[kind],
			       (unsigned long long)want_violations[kind]);
		CHECK_EQ(stats.by_violation[kind], want_violations[kind]);
	}
	for (int kind = 0; kind < NQ_INFO__MAX; kind++) {
		if (stats.by_info[kind] != want_infos[kind])
			printf("    %s: %s findings: got %llu, want %llu\n", scenario,
			       nq_info_name(kind), (unsigned long long)stats.by_info[kind],
			       (unsigned long long)want_infos[kind]);
		CHECK_EQ(stats.by_info[kind], want_infos[kind]);
	}
	/* Every finding reported must carry the evidence that proves it. */
	for (unsigned int i = 0; i < run.n; i++)
		CHECK(run.seen[i].n_evidence >= 1 && run.seen[i].message[0]);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every scenario of one directory; returns how many there were. */
static int run_dir(const char *path, const char *prefix)
{
	char *names[256];
	char label[300];
	int n = 0;
	struct dirent *d;
	DIR *dp;

	dir = path;
	dp = opendir(dir);
	if (!dp) {
		printf("FAIL: scenarios: cannot open %s\n", dir);
		nq_t_failed_cases++;
		return 0;
	}
	while ((d = readdir(dp)) && n < 256) {
		size_t len = strlen(d->d_name);

		if (len > 6 && !strcmp(d->d_name + len - 6, ".jsonl"))
			names[n++] = strndup(d->d_name, len - 6);
	}
	closedir(dp);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
	for (int i = 0; i < n; i++) {
		scenario = names[i];
		snprintf(label, sizeof(label), "%s_%s", prefix, names[i]);
		nq_t_case = label;
		nq_t_case_failed = 0;
		run_scenario();
		if (nq_t_case_failed > 0)
			nq_t_failed_cases++;
		else if (!nq_t_case_failed)
			printf("PASS: %s\n", label);
		free(names[i]);
	}
	return n;
}

int main(void)
{
	const char *root = getenv("NQ_TESTS_DIR") ? getenv("NQ_TESTS_DIR") : "tests";
	char path[256];
	int n;

	snprintf(path, sizeof(path), "%s/scenarios", root);
	n = run_dir(path, "scenario");
	if (n < 10) {
		printf("FAIL: scenarios: only %d scenarios found in %s\n", n, path);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/data", root);
	n = run_dir(path, "recorded");
	if (n < 1) {
		printf("FAIL: scenarios: no recorded trace found in %s\n", path);
		return 1;
	}
	TEST_EXIT();
}
