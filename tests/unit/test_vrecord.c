// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * serve's structured violation records: the journald fields (exact names,
 * one stable MESSAGE_ID per kind, evidence as JSON), the JSON object of
 * --log and /violations, and the bounded /violations ring.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "check.h"
#include "serve/vrecord.h"
#include "serve/vring.h"

static void make_violation(struct nq_violation *v, uint32_t vcpu)
{
	memset(v, 0, sizeof(*v));
	v->kind = NQ_V_SVI_IN_VMCS02;
	v->tgid = 4242;
	v->vcpu_id = vcpu;
	v->ts_ns = 2250;
	snprintf(v->message, sizeof(v->message), "L1's SVI written \"while\" vmcs02 was loaded");
	v->n_evidence = 2;
	for (unsigned int i = 0; i < 2; i++) {
		struct nq_event *e = &v->evidence[i];

		e->h.ts_ns = 2200 + 50 * i;
		e->h.tgid = 4242;
		e->h.tid = 4250;
		e->h.vcpu_id = vcpu;
		e->h.kind = NQ_EV_SVI_UPDATE;
		e->svi.max_isr = 49;
		e->svi.vmcs = 2;
	}
}

static const char *field(const struct nq_jfields *jf, const char *key)
{
	size_t n = strlen(key);

	for (unsigned int i = 0; i < jf->n; i++)
		if (!strncmp(jf->f[i], key, n) && jf->f[i][n] == '=')
			return jf->f[i] + n + 1;
	return NULL;
}

static unsigned int count(const char *hay, const char *needle)
{
	unsigned int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_journal_fields(void)
{
	struct nq_violation v;
	struct nq_vrec_ctx c = {.seq = 7, .wall_ns = 0, .label = "l1-guest"};
	struct nq_jfields jf;
	const char *ev;
	char prio[8];

	make_violation(&v, 3);
	CHECK(!nq_jfields_violation(&jf, &v, &c));
	snprintf(prio, sizeof(prio), "%d", LOG_ERR);
	CHECK(field(&jf, "MESSAGE_ID") &&
	      !strcmp(field(&jf, "MESSAGE_ID"), nq_vrec_message_id(NQ_V_SVI_IN_VMCS02)));
	CHECK(field(&jf, "PRIORITY") && !strcmp(field(&jf, "PRIORITY"), prio));
	CHECK(field(&jf, "NESTIRQ_KIND") && !strcmp(field(&jf, "NESTIRQ_KIND"), "svi_in_vmcs02"));
	CHECK(field(&jf, "NESTIRQ_INVARIANT") && !strcmp(field(&jf, "NESTIRQ_INVARIANT"), "I1"));
	CHECK(field(&jf, "NESTIRQ_VM") && !strcmp(field(&jf, "NESTIRQ_VM"), "4242"));
	CHECK(field(&jf, "NESTIRQ_VM_LABEL") &&
	      !strcmp(field(&jf, "NESTIRQ_VM_LABEL"), "l1-guest"));
	CHECK(field(&jf, "NESTIRQ_VCPU") && !strcmp(field(&jf, "NESTIRQ_VCPU"), "3"));
	CHECK(field(&jf, "NESTIRQ_SEQ") && !strcmp(field(&jf, "NESTIRQ_SEQ"), "7"));
	CHECK(field(&jf, "SYSLOG_IDENTIFIER") &&
	      !strcmp(field(&jf, "SYSLOG_IDENTIFIER"), "nestirq"));
	CHECK_STR_CONTAINS(field(&jf, "MESSAGE"),
			   "violation svi_in_vmcs02 (I1) vm=4242 (l1-guest) vcpu=3");
	ev = field(&jf, "NESTIRQ_EVIDENCE");
	CHECK(ev && ev[0] == '[' && ev[strlen(ev) - 1] == ']');
	CHECK_EQ(count(ev, "\"kind\":\"svi_update\""), 2);
	CHECK_STR_CONTAINS(ev, "\"ts\":2250");
	CHECK_STR_CONTAINS(ev, "\"vmcs\":\"02\"");
	/* Field names: journald accepts only A-Z, 0-9 and '_'. */
	for (unsigned int i = 0; i < jf.n; i++)
		for (const char *p = jf.f[i]; *p != '='; p++)
			CHECK(isupper((unsigned char)*p) || isdigit((unsigned char)*p) ||
			      *p == '_');
	nq_jfields_free(&jf);

	/* An unknown vCPU is left out rather than given as a number. */
	make_violation(&v, NQ_VCPU_UNKNOWN);
	c.label = NULL;
	CHECK(!nq_jfields_violation(&jf, &v, &c));
	CHECK(!field(&jf, "NESTIRQ_VCPU"));
	CHECK(!field(&jf, "NESTIRQ_VM_LABEL"));
	CHECK_STR_CONTAINS(field(&jf, "MESSAGE"), "vm=4242 vcpu=?");
	nq_jfields_free(&jf);

	/* An informational finding: notice, its own MESSAGE_ID, no invariant. */
	make_violation(&v, 1);
	v.severity = NQ_SEV_INFO;
	v.kind = (enum nq_violation_kind)NQ_INFO_RACE_WINDOW;
	v.vm_id = 17;
	CHECK(!nq_jfields_violation(&jf, &v, &c));
	snprintf(prio, sizeof(prio), "%d", LOG_NOTICE);
	CHECK(!strcmp(field(&jf, "PRIORITY"), prio));
	CHECK(!strcmp(field(&jf, "NESTIRQ_SEVERITY"), "info"));
	CHECK(!strcmp(field(&jf, "NESTIRQ_KIND"), "race_window"));
	CHECK(!strcmp(field(&jf, "NESTIRQ_INVARIANT"), "-"));
	CHECK(!strcmp(field(&jf, "NESTIRQ_VM_ID"), "17"));
	CHECK(!strcmp(field(&jf, "MESSAGE_ID"), "a91b7aee79f341f98b70feedf4ef3251"));
	CHECK_STR_CONTAINS(field(&jf, "MESSAGE"), "info race_window (info) vm=4242");
	nq_jfields_free(&jf);
}

static void test_message_ids_stable_and_distinct(void)
{
	for (unsigned int k = 0; k <= NQ_RL_KINDS; k++) {
		const char *id = nq_vrec_message_id(k);

		CHECK_EQ(strlen(id), 32);
		for (const char *p = id; *p; p++)
			CHECK(isxdigit((unsigned char)*p) && !isupper((unsigned char)*p));
		for (unsigned int j = 0; j < k; j++)
			CHECK(strcmp(id, nq_vrec_message_id(j)));
	}
	/* Published in docs/production.md: never change them. */
	CHECK(!strcmp(nq_vrec_message_id(NQ_V_SVI_IN_VMCS02), "52ca44577d704ced9293af498afde793"));
	CHECK(!strcmp(nq_vrec_message_id(NQ_RL_KINDS), "e838d80789854607bbd5384c8819e169"));
}

static void test_suppressed_fields(void)
{
	struct nq_rl_report r = {.kind = NQ_V_ACK_IN_VMCS02, .vm = 9, .count = 995, .total = 1995};
	struct nq_jfields jf;
	char *obj;

	CHECK(!nq_jfields_suppressed(&jf, &r));
	CHECK(!strcmp(field(&jf, "MESSAGE_ID"), nq_vrec_message_id(NQ_RL_KINDS)));
	CHECK(!strcmp(field(&jf, "NESTIRQ_SUPPRESSED"), "995"));
	CHECK(!strcmp(field(&jf, "NESTIRQ_SUPPRESSED_TOTAL"), "1995"));
	CHECK(!strcmp(field(&jf, "NESTIRQ_KIND"), "ack_in_vmcs02"));
	CHECK(!strcmp(field(&jf, "NESTIRQ_VM"), "9"));
	CHECK_STR_CONTAINS(field(&jf, "MESSAGE"), "suppressed 995 more ack_in_vmcs02");
	nq_jfields_free(&jf);
	obj = nq_vrec_suppressed_json(&r);
	CHECK(obj);
	CHECK(!strcmp(obj, "{\"type\":\"suppressed\",\"severity\":\"violation\","
			   "\"kind\":\"ack_in_vmcs02\",\"invariant\":\"I2\","
			   "\"vm\":9,\"count\":995,\"total\":1995,\"first_ts\":0,\"last_ts\":0}"));
	free(obj);
}

static void test_json_record(void)
{
	struct nq_violation v;
	struct nq_vrec_ctx c = {.seq = 12, .wall_ns = 1700000000123456789, .label = "a\"b"};
	const char *want =
		"{\"type\":\"violation\",\"seq\":12,\"time\":\"2023-11-14T22:13:20.123456Z\","
		"\"severity\":\"violation\",\"kind\":\"svi_in_vmcs02\",\"invariant\":\"I1\","
		"\"vm\":4242,\"vm_id\":0,"
		"\"vm_label\":\"a\\\"b\",\"vcpu\":3,\"ts\":2250,\"message\":"
		"\"L1's SVI written \\\"while\\\" vmcs02 was loaded\",\"evidence\":[{";
	char *o;

	make_violation(&v, 3);
	o = nq_vrec_json(&v, &c);
	CHECK(o);
	CHECK(!strncmp(o, want, strlen(want)));
	CHECK(!strcmp(o + strlen(o) - 3, "}]}"));
	CHECK(!strchr(o, '\n'));
	CHECK_EQ(count(o, "\"kind\":\"svi_update\""), 2);
	free(o);
}

static void test_ring_bounded(void)
{
	struct nq_vring *r = malloc(sizeof(*r));
	char obj[32], *out;
	size_t len;

	CHECK(r);
	nq_vring_init(r);
	out = nq_vring_render(r, &len);
	CHECK(out &&
	      !strcmp(out, "{\"capacity\":256,\"total\":0,\"returned\":0,\"violations\":[\n]}\n"));
	free(out);
	for (unsigned int i = 1; i <= NQ_VRING_CAP + 44; i++) {
		snprintf(obj, sizeof(obj), "{\"n\":%u}", i);
		nq_vring_push(r, strdup(obj));
	}
	out = nq_vring_render(r, &len);
	CHECK(out);
	CHECK_EQ(len, strlen(out));
	CHECK_STR_CONTAINS(out, "{\"capacity\":256,\"total\":300,\"returned\":256,\"violations\":["
				"\n{\"n\":45},\n{\"n\":46}");
	CHECK(!strstr(out, "{\"n\":44}"));
	CHECK_STR_CONTAINS(out, ",\n{\"n\":300}\n]}\n");
	CHECK_EQ(count(out, "{\"n\":"), NQ_VRING_CAP);
	free(out);
	nq_vring_destroy(r);
	free(r);
}

int main(void)
{
	RUN(test_journal_fields);
	RUN(test_message_ids_stable_and_distinct);
	RUN(test_suppressed_fields);
	RUN(test_json_record);
	RUN(test_ring_bounded);
	TEST_EXIT();
}
