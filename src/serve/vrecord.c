// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Structured violation records (see vrecord.h).  The MESSAGE_IDs are
 * random 128-bit ids chosen once (docs/production.md lists them); they
 * never change, so `journalctl MESSAGE_ID=...` and log-pipeline routes keep
 * working across versions.  A new kind gets a new id, never a reused one.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "common/json_writer.h"
#include "nestirq/report.h"
#include "nestirq/trace.h"
#include "serve/vrecord.h"

/* Retired, never to be reused: 0d315ee2beff41419c674db4e0a5af67 (ack_not_accepted). */
static const char *const message_ids[NQ_RL_KINDS + 1] = {
	[NQ_V_VECTOR_MISMATCH] = "c5edeb054b69472793a9e7e5d513b9c7",
	[NQ_V_ACK_IN_VMCS02] = "949fdad420ab4706bcd1af16cc079745",
	[NQ_V_SVI_IN_VMCS02] = "52ca44577d704ced9293af498afde793",
	[NQ_V_INVALID_VECTOR] = "e9114393f6c94003af71df3bba4383ba",
	[NQ_V_NESTED_PI_NV] = "7d2ca91591da455da88cb4eebf034c77",
	[NQ_V_MULTIPLE_ACKS] = "b3cc7923dace4c37a4b3aaa98183addb",
	[NQ_V_SVI_DEFERRED_LOST] = "801d0925bc8d44f388f58b90d8c3fb7d",
	[NQ_V__MAX + NQ_INFO_RACE_WINDOW] = "a91b7aee79f341f98b70feedf4ef3251",
	[NQ_RL_KINDS] = "e838d80789854607bbd5384c8819e169", /* suppressed */
};
_Static_assert(NQ_V__MAX == 7 && NQ_INFO__MAX == 1,
	       "a new finding kind needs a new MESSAGE_ID here and in docs/production.md");

const char *nq_vrec_message_id(unsigned int kind)
{
	return kind < NQ_RL_KINDS ? message_ids[kind] : message_ids[NQ_RL_KINDS];
}

static int priority(const struct nq_violation *v)
{
	return v->severity == NQ_SEV_INFO ? LOG_NOTICE : LOG_ERR;
}

/*
 * The evidence array alone, for the journal's NESTIRQ_EVIDENCE field: the
 * same event objects as a JSON-lines trace, so a record's evidence can be
 * replayed.
 */
static char *evidence_json(const struct nq_violation *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct nq_json w;
	int rc;

	if (!f)
		return NULL;
	nq_json_init(&w, f);
	nq_report_evidence_json(&w, v);
	rc = nq_json_finish(&w);
	if (fclose(f) || rc) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void rfc3339(char *buf, size_t len, int64_t wall_ns)
{
	time_t s = (time_t)(wall_ns / 1000000000);
	struct tm tm;
	char t[32];

	gmtime_r(&s, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06dZ", t, (int)(wall_ns % 1000000000 / 1000));
}

char *nq_vrec_json(const struct nq_violation *v, const struct nq_vrec_ctx *c)
{
	char *buf = NULL, ts[48];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct nq_json w;
	int rc;

	if (!f)
		return NULL;
	rfc3339(ts, sizeof(ts), c->wall_ns);
	nq_json_init(&w, f);
	nq_json_begin_object(&w);
	/* As replay --json: a violation, or an informational "finding". */
	nq_json_kstr(&w, "type", v->severity == NQ_SEV_INFO ? "finding" : "violation");
	nq_json_ku64(&w, "seq", c->seq);
	nq_json_kstr(&w, "time", ts);
	nq_report_finding_head(&w, v);
	nq_json_kstr(&w, "vm_label", c->label);
	nq_report_finding_tail(&w, v);
	nq_json_end_object(&w);
	rc = nq_json_finish(&w);
	if (fclose(f) || rc) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *nq_vrec_suppressed_json(const struct nq_rl_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	nq_ratelimit_print(f, r, true);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = 0;
	return buf;
}

static int add(struct nq_jfields *jf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add(struct nq_jfields *jf, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (jf->n >= NQ_JF_MAX)
		return -1;
	va_start(ap, fmt);
	rc = vasprintf(&jf->f[jf->n], fmt, ap);
	va_end(ap);
	if (rc < 0) {
		jf->f[jf->n] = NULL;
		return -1;
	}
	jf->n++;
	return 0;
}

int nq_jfields_violation(struct nq_jfields *jf, const struct nq_violation *v,
			 const struct nq_vrec_ctx *c)
{
	char *ev = evidence_json(v), vcpu[16] = "?";
	int rc = 0;

	memset(jf, 0, sizeof(*jf));
	if (!ev)
		return -1;
	if (v->vcpu_id != NQ_VCPU_UNKNOWN)
		snprintf(vcpu, sizeof(vcpu), "%" PRIu32, v->vcpu_id);
	rc |= add(jf, "MESSAGE=%s %s (%s) vm=%" PRIu32 "%s%s%s vcpu=%s: %s",
		  nq_severity_name(v->severity), nq_finding_name(v),
		  v->severity == NQ_SEV_INFO ? "info" : nq_rl_kind_invariant(nq_rl_kind(v)),
		  v->tgid, c->label && *c->label ? " (" : "", c->label ? c->label : "",
		  c->label && *c->label ? ")" : "", vcpu, v->message);
	rc |= add(jf, "MESSAGE_ID=%s", nq_vrec_message_id(nq_rl_kind(v)));
	rc |= add(jf, "PRIORITY=%d", priority(v));
	rc |= add(jf, "SYSLOG_IDENTIFIER=nestirq");
	rc |= add(jf, "NESTIRQ_SEVERITY=%s", nq_severity_name(v->severity));
	rc |= add(jf, "NESTIRQ_KIND=%s", nq_finding_name(v));
	rc |= add(jf, "NESTIRQ_INVARIANT=%s", nq_rl_kind_invariant(nq_rl_kind(v)));
	rc |= add(jf, "NESTIRQ_VM=%" PRIu32, v->tgid);
	if (v->vm_id)
		rc |= add(jf, "NESTIRQ_VM_ID=%" PRIu32, v->vm_id);
	if (c->label && *c->label)
		rc |= add(jf, "NESTIRQ_VM_LABEL=%s", c->label);
	/* Unknown vCPU: no field, rather than a value that looks like an id. */
	if (v->vcpu_id != NQ_VCPU_UNKNOWN)
		rc |= add(jf, "NESTIRQ_VCPU=%" PRIu32, v->vcpu_id);
	rc |= add(jf, "NESTIRQ_TS_NS=%" PRIu64, v->ts_ns);
	rc |= add(jf, "NESTIRQ_SEQ=%" PRIu64, c->seq);
	rc |= add(jf, "NESTIRQ_EVIDENCE=%s", ev);
	free(ev);
	if (rc) {
		nq_jfields_free(jf);
		return -1;
	}
	return 0;
}

int nq_jfields_suppressed(struct nq_jfields *jf, const struct nq_rl_report *r)
{
	char line[256];
	int rc = 0;

	memset(jf, 0, sizeof(*jf));
	nq_ratelimit_format(line, sizeof(line), r);
	rc |= add(jf, "MESSAGE=%s", line);
	rc |= add(jf, "MESSAGE_ID=%s", nq_vrec_message_id(NQ_RL_KINDS));
	rc |= add(jf, "PRIORITY=%d", LOG_WARNING);
	rc |= add(jf, "SYSLOG_IDENTIFIER=nestirq");
	rc |= add(jf, "NESTIRQ_KIND=%s", nq_rl_kind_name(r->kind));
	rc |= add(jf, "NESTIRQ_INVARIANT=%s", nq_rl_kind_invariant(r->kind));
	if (r->vm != NQ_RL_OTHER_VMS)
		rc |= add(jf, "NESTIRQ_VM=%" PRIu32, r->vm);
	rc |= add(jf, "NESTIRQ_SUPPRESSED=%" PRIu64, r->count);
	rc |= add(jf, "NESTIRQ_SUPPRESSED_TOTAL=%" PRIu64, r->total);
	if (rc) {
		nq_jfields_free(jf);
		return -1;
	}
	return 0;
}

void nq_jfields_free(struct nq_jfields *jf)
{
	for (unsigned int i = 0; i < jf->n; i++)
		free(jf->f[i]);
	jf->n = 0;
}
