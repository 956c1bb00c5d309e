// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `nestirq check` renderings: TAP 13 points, directives and YAML blocks;
 * JUnit counts and escaping, including characters XML 1.0 forbids.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nestirq/gate.h"

static char *render(const struct nq_gate *g, int junit)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (junit)
		nq_gate_junit(f, g);
	else
		nq_gate_tap(f, g);
	fclose(f);
	return buf;
}

static void sample(struct nq_gate *g)
{
	struct nq_violation v;

	nq_gate_init(g, "suite <&>");
	nq_gate_prop(g, "kernel", "6.1 \"x\" <y>");
	for (int k = 0; k < NQ_V__MAX; k++)
		nq_gate_add(g, nq_violation_name(k), nq_violation_invariant(k), k);
	nq_gate_skip(nq_gate_find_kind(g, NQ_V_SVI_IN_VMCS02), "needs probe svi # really");
	memset(&v, 0, sizeof(v));
	v.kind = NQ_V_VECTOR_MISMATCH;
	v.tgid = 42;
	snprintf(v.message, sizeof(v.message), "peeked 49 \"acked\" 65\n<&>\x01");
	v.n_evidence = 1;
	v.evidence[0].h.kind = NQ_EV_ACK;
	for (int i = 0; i < 5; i++)
		nq_gate_violation(g, &v);
	nq_gate_add(g, "no_lost_events", NULL, -1);
}

static void test_tap(void)
{
	struct nq_gate g;
	char *t;

	sample(&g);
	t = render(&g, 0);
	CHECK(t);
	CHECK(!strncmp(t, "TAP version 13\n# kernel: 6.1 \"x\" <y>\n1..8\n", 41));
	CHECK_STR_CONTAINS(t, "\nnot ok 1 - vector_mismatch (I3)\n  ---\n");
	CHECK_STR_CONTAINS(t, "  message: \"5 violations of vector_mismatch\"\n");
	CHECK_STR_CONTAINS(t, "  violations: 5\n");
	CHECK_STR_CONTAINS(t, "      message: \"peeked 49 \\\"acked\\\" 65\\n<&>\\u0001\"\n");
	CHECK_STR_CONTAINS(t, "\nok 3 - svi_in_vmcs02 (I1) # SKIP needs probe svi \\# really\n");
	CHECK_STR_CONTAINS(t, "\nok 8 - no_lost_events\n");
	CHECK_STR_CONTAINS(t, "# 6 passed, 1 failed, 1 skipped\n");
	/* evidence is kept for the first 3 only */
	{
		int n = 0;

		for (const char *p = t; (p = strstr(p, "- vm_pid: 42")); p++)
			n++;
		CHECK_EQ(n, NQ_GATE_EVIDENCE);
	}
	free(t);
}

static void test_junit(void)
{
	struct nq_gate g;
	char *x;

	sample(&g);
	x = render(&g, 1);
	CHECK(x);
	CHECK_STR_CONTAINS(x,
			   "<testsuites name=\"nestirq\" tests=\"8\" failures=\"1\" errors=\"0\" "
			   "skipped=\"1\"");
	CHECK_STR_CONTAINS(x, "<testsuite name=\"suite &lt;&amp;&gt;\"");
	CHECK_STR_CONTAINS(x, "value=\"6.1 &quot;x&quot; &lt;y&gt;\"");
	CHECK_STR_CONTAINS(x, "<skipped message=\"needs probe svi # really\"/>");
	CHECK_STR_CONTAINS(x, "peeked 49 &quot;acked&quot; 65\n&lt;&amp;&gt;\n");
	CHECK(!strchr(x, '\x01'));
	CHECK_STR_CONTAINS(x, "classname=\"nestirq.run\" name=\"no_lost_events\"");
	free(x);
}

static void test_skip_all(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f);
	nq_gate_tap_skip_all(f, "no BPF # here\nsecond");
	fclose(f);
	CHECK(!strcmp(buf, "TAP version 13\n1..0 # SKIP no BPF \\# here second\n"));
	free(buf);
}

static void test_bounded_points(void)
{
	struct nq_gate g;

	nq_gate_init(&g, "s");
	for (int i = 0; i < NQ_GATE_POINTS; i++)
		CHECK(nq_gate_add(&g, "p", NULL, -1));
	CHECK(!nq_gate_add(&g, "one too many", NULL, -1));
	for (int i = 0; i < 20; i++)
		nq_gate_diag(&g.pt[0], "k", "%d", i);
	CHECK_EQ(g.pt[0].ndiag, NQ_GATE_DIAG);
}

int main(void)
{
	RUN(test_tap);
	RUN(test_junit);
	RUN(test_skip_all);
	RUN(test_bounded_points);
	TEST_EXIT();
}
