// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The probe plan as data: its one text form (binary meta lines, replay's
 * text) and its one JSON form (JSON-lines header, replay --json), and the
 * old string form of JSON-lines headers that recorded traces still carry.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "nestirq/plan.h"
#include "nestirq/report.h"
#include "nestirq/trace.h"

static void test_text_form_roundtrip(void)
{
	struct nq_plan_data pd = {0};
	struct nq_plan_entry e;
	char line[NQ_PLAN_LINE_MAX];
	int n;

	CHECK_EQ(nq_plan_add(&pd, "ack", NQ_PS_ATTACHED, "kprobe kvm_apic_ack_interrupt", ""), 0);
	CHECK_EQ(nq_plan_add(&pd, "check_svm", NQ_PS_UNAVAILABLE, "kprobe svm_check_nested_events",
			     "module kvm_amd not loaded: really"),
		 0);
	n = nq_plan_entry_format(&pd.pt[0], line, sizeof(line));
	CHECK(n > 0 && !strcmp(line, "ack\tattached\tkprobe kvm_apic_ack_interrupt"));
	CHECK_EQ(nq_plan_entry_parse(line, (size_t)n, &e), 0);
	CHECK(!strcmp(e.name, "ack") && e.status == NQ_PS_ATTACHED && !e.reason[0]);
	n = nq_plan_entry_format(&pd.pt[1], line, sizeof(line));
	CHECK(!strcmp(line, "check_svm\tunavailable\tkprobe svm_check_nested_events: module "
			    "kvm_amd not loaded: really"));
	CHECK_EQ(nq_plan_entry_parse(line, (size_t)n, &e), 0);
	CHECK(!strcmp(e.variant, "kprobe svm_check_nested_events"));
	CHECK(!strcmp(e.reason, "module kvm_amd not loaded: really"));
	CHECK_EQ(nq_plan_entry_format(&pd.pt[1], line, 20), -1);
}

static void test_text_form_parse(void)
{
	struct nq_plan_entry e;

	/* A fourth field is the reason too. */
	CHECK_EQ(nq_plan_entry_parse("p\tfailed\tv: x\twhy", 18, &e), 0);
	CHECK(e.status == NQ_PS_FAILED && !strcmp(e.variant, "v: x") && !strcmp(e.reason, "why"));
	CHECK_EQ(nq_plan_entry_parse("p\tmissing\tv", 11, &e), -1); /* unknown status */
	CHECK_EQ(nq_plan_entry_parse("p\tattached", 10, &e), -1);   /* no variant field */
	CHECK_EQ(nq_plan_entry_parse("\tattached\tv", 11, &e), -1); /* no name */
	/* Only len bytes count. */
	CHECK_EQ(nq_plan_entry_parse("p\tready\tvX", 9, &e), 0);
	CHECK(!strcmp(e.variant, "v") && e.status == NQ_PS_READY);
}

static void test_add_sanitizes_and_bounds(void)
{
	struct nq_plan_data pd = {0};
	char longer[400];

	memset(longer, 'r', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = 0;
	CHECK_EQ(nq_plan_add(&pd, "a\tb", NQ_PS_READY, "v\nw", longer), 0);
	CHECK(!strcmp(pd.pt[0].name, "a b") && !strcmp(pd.pt[0].variant, "v w"));
	CHECK_EQ(strlen(pd.pt[0].reason), sizeof(pd.pt[0].reason) - 1);
	for (int i = 1; i < NQ_PLAN_MAX_POINTS; i++)
		CHECK_EQ(nq_plan_add(&pd, "x", NQ_PS_READY, "", ""), 0);
	CHECK_EQ(nq_plan_add(&pd, "full", NQ_PS_READY, "", ""), -1);
	CHECK(nq_plan_find(&pd, "a b") == &pd.pt[0]);
	CHECK(nq_plan_find(&pd, "none") == NULL);
}

/* Cuts keep UTF-8 valid, and never eat a run of stray bytes (the fuzzer's find). */
static void test_utf8_cuts(void)
{
	struct nq_plan_data pd = {0};
	char name[40], line[4096], again[4096], err[NQ_TRACE_ERR_LEN];
	struct nq_trace_meta m = {0};
	struct nq_trace_reader *r;
	int n;

	memset(name, 0xae, sizeof(name) - 1); /* continuation bytes only */
	name[sizeof(name) - 1] = 0;
	nq_plan_add(&pd, name, NQ_PS_READY, "", "");
	CHECK_EQ(strlen(pd.pt[0].name), sizeof(pd.pt[0].name) - 1);
	memset(name, 'a', sizeof(name));
	memcpy(name + 30, "\xc3\xa9", 3); /* "é" across the 31-byte cut */
	nq_plan_add(&pd, name, NQ_PS_READY, "", "");
	CHECK_EQ(strlen(pd.pt[1].name), 30);
	memcpy(name + 29, "\xe2\x82\xac", 4); /* "€" across the cut */
	nq_plan_add(&pd, name, NQ_PS_READY, "", "");
	CHECK_EQ(strlen(pd.pt[2].name), 29);

	/* The header line is a fixpoint: format -> parse -> format. */
	m.plan = pd;
	n = nq_jsonl_format_meta(&m, line, sizeof(line));
	CHECK(n > 0);
	r = nq_trace_reader_open_mem(line, (size_t)n, err, sizeof(err));
	CHECK(r);
	CHECK_EQ(nq_jsonl_format_meta(nq_trace_reader_meta(r), again, sizeof(again)), n);
	CHECK(!strcmp(line, again));
	nq_trace_reader_close(r);
}

static struct nq_trace_reader *open_text(const char *text, char *err)
{
	return nq_trace_reader_open_mem(text, strlen(text), err, NQ_TRACE_ERR_LEN);
}

/* Traces recorded before the object form hold the text form as strings. */
static void test_jsonl_old_string_form(void)
{
	static const char text[] =
		"{\"nestirq_trace\":1,\"plan\":[\"accept\\tattached\\traw_tp "
		"kvm:kvm_apic_accept_irq\","
		"\"check_svm\\tunavailable\\tkprobe+kretprobe svm_check_nested_events: module "
		"kvm_amd not loaded\"]}\n";
	char err[NQ_TRACE_ERR_LEN];
	struct nq_trace_reader *r = open_text(text, err);
	const struct nq_plan_data *pd;

	if (!r)
		printf("  %s\n", err);
	CHECK(r);
	pd = &nq_trace_reader_meta(r)->plan;
	CHECK_EQ(pd->n, 2);
	CHECK(!strcmp(pd->pt[0].variant, "raw_tp kvm:kvm_apic_accept_irq"));
	CHECK(pd->pt[1].status == NQ_PS_UNAVAILABLE);
	CHECK(!strcmp(pd->pt[1].variant, "kprobe+kretprobe svm_check_nested_events"));
	CHECK(!strcmp(pd->pt[1].reason, "module kvm_amd not loaded"));
	nq_trace_reader_close(r);
}

static void expect_header_error(const char *plan, const char *want)
{
	char text[512], err[NQ_TRACE_ERR_LEN];
	struct nq_trace_reader *r;

	snprintf(text, sizeof(text), "{\"nestirq_trace\":1,\"plan\":%s}\n", plan);
	r = open_text(text, err);
	if (r)
		nq_trace_reader_close(r);
	CHECK(!r);
	if (strcmp(err, want))
		printf("  got \"%s\"\n", err);
	CHECK(!strcmp(err, want));
}

static void test_jsonl_plan_errors(void)
{
	expect_header_error("[{\"name\":\"a\",\"status\":\"gone\"}]",
			    "line 1: plan entry 1: unknown status 'gone' (expected one of: "
			    "unavailable, ready, attached, failed)");
	expect_header_error("[{\"name\":\"a\",\"status\":\"ready\",\"why\":\"\"}]",
			    "line 1: plan entry 1: unknown key 'why'");
	expect_header_error("[{\"name\":\"a\"}]",
			    "line 1: plan entry 1: needs a name and a status");
	expect_header_error("[{\"name\":\"a\",\"status\":1}]",
			    "line 1: plan entry 1: key 'status': expected a string");
	expect_header_error("[{\"name\":\"a\",\"status\":\"ready\"},\"x\"]",
			    "line 1: plan entry 2: expected an object or a "
			    "\"name\\tstatus\\tvariant\" string");
	expect_header_error("{}", "line 1: key 'plan': expected an array");
}

/* replay --json and the JSON-lines header show the plan in the same shape. */
static void test_one_json_shape(void)
{
	struct nq_trace_meta m = {0};
	char header[4096], *rep = NULL;
	size_t replen = 0;
	FILE *f = open_memstream(&rep, &replen);
	const char *a, *b;

	CHECK(f);
	nq_plan_add(&m.plan, "peek", NQ_PS_ATTACHED, "kretprobe kvm_apic_has_interrupt", "");
	nq_plan_add(&m.plan, "svi", NQ_PS_UNAVAILABLE, "kprobe", "symbol \"x\" absent");
	CHECK(nq_jsonl_format_meta(&m, header, sizeof(header)) > 0);
	nq_report_meta(f, &m, true);
	fclose(f);
	a = strstr(header, "\"plan\":[");
	b = strstr(rep, "\"plan\":[");
	CHECK(a && b);
	CHECK(!strncmp(a, b, strlen(a) - 1)); /* the header ends in "}", the report in "}\n" */
	CHECK_STR_CONTAINS(rep, "{\"name\":\"svi\",\"status\":\"unavailable\",\"variant\":"
				"\"kprobe\",\"reason\":\"symbol \\\"x\\\" absent\"}]}\n");
	free(rep);
}

int main(void)
{
	RUN(test_text_form_roundtrip);
	RUN(test_text_form_parse);
	RUN(test_add_sanitizes_and_bounds);
	RUN(test_utf8_cuts);
	RUN(test_jsonl_old_string_form);
	RUN(test_jsonl_plan_errors);
	RUN(test_one_json_shape);
	TEST_EXIT();
}
