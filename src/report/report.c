// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Text and JSON renderings shared by replay, watch and check. */
#include <inttypes.h>
#include <string.h>

#include "common/json_writer.h"
#include "common/text.h"
#include "nestirq/report.h"

#define NS_PER_SEC UINT64_C(1000000000)

/* The VMCS by its ABI name, "?" when unknown. */
static const char *vmcs_str(uint8_t vmcs)
{
	const char *n = vmcs != NQ_VMCS_UNKNOWN ? nq_name_of(&nq_vmcs_names, vmcs) : NULL;

	return n ? n : "?";
}

static const char *vcpu_str(uint32_t vcpu, char *buf, size_t len)
{
	if (vcpu == NQ_VCPU_UNKNOWN)
		return "?";
	snprintf(buf, len, "%u", vcpu);
	return buf;
}

int nq_format_event(const struct nq_event *ev, char *buf, size_t len)
{
	char vb[16];
	uint64_t ts = ev->h.ts_ns;
	int n = snprintf(buf, len, "%" PRIu64 ".%09" PRIu64 " vm=%u tid=%u vcpu=%s cpu=%u %s",
			 ts / NS_PER_SEC, ts % NS_PER_SEC, ev->h.tgid, ev->h.tid,
			 vcpu_str(ev->h.vcpu_id, vb, sizeof(vb)), ev->h.cpu,
			 nq_kind_name(ev->h.kind));
	size_t off = n < 0 ? 0 : (size_t)n < len ? (size_t)n : len;
	char *p = buf + off;
	size_t left = len - off;

	switch (ev->h.kind) {
	case NQ_EV_IRQ_ACCEPT:
		n = snprintf(p, left, " vector=0x%02x apicid=%u dm=%u tm=%u", ev->accept.vector,
			     ev->accept.apicid, ev->accept.delivery_mode, ev->accept.trigger_mode);
		break;
	case NQ_EV_CHECK_ENTER:
		n = snprintf(p, left, " vmcs=%s ctls=0x%x pi_nv=0x%x",
			     vmcs_str(ev->check_enter.vmcs), ev->check_enter.ctls,
			     ev->check_enter.posted_intr_nv);
		break;
	case NQ_EV_CHECK_EXIT:
		n = snprintf(p, left, " ret=%d", ev->check_exit.ret);
		break;
	case NQ_EV_PEEK:
		n = snprintf(p, left, " vector=%d vmcs=%s%s", ev->peek.vector,
			     vmcs_str(ev->peek.vmcs),
			     ev->peek.flags & NQ_PEEK_F_IN_ACK ? " in_ack" : "");
		break;
	case NQ_EV_ACK:
		n = snprintf(p, left, " vector=%d vmcs=%s", ev->ack.vector, vmcs_str(ev->ack.vmcs));
		break;
	case NQ_EV_HW_NESTED_VMEXIT:
		n = snprintf(p, left, " reason=%u intr_info=0x%08x qual=0x%" PRIx64,
			     ev->hw_exit.reason, ev->hw_exit.intr_info,
			     (uint64_t)ev->hw_exit.info1);
		break;
	case NQ_EV_VMEXIT_INJECT:
		n = snprintf(p, left, " exit_code=0x%" PRIx64 " exit_int_info=0x%08x",
			     (uint64_t)ev->inject.exit_code, ev->inject.exit_int_info);
		break;
	case NQ_EV_SVI_UPDATE:
		n = snprintf(p, left, " max_isr=%d vmcs=%s %s%s", ev->svi.max_isr,
			     vmcs_str(ev->svi.vmcs),
			     ev->svi.outcome == NQ_SVI_DEFERRED ? "deferred" : "written",
			     ev->svi.origin == NQ_SVI_ORIGIN_L2_STATE ? " l2_state" : "");
		break;
	case NQ_EV_VMCS_SWITCH:
		n = snprintf(p, left, " to=%s", vmcs_str(ev->vmcs_switch.to));
		break;
	case NQ_EV_NESTED_PI:
		n = snprintf(p, left, " pi_nv=0x%x pi_enabled=%u pi_pending=%u",
			     ev->pi.posted_intr_nv, ev->pi.pi_enabled, ev->pi.pi_pending);
		break;
	case NQ_EV_LOST:
		n = snprintf(p, left, " count=%" PRIu64, (uint64_t)ev->lost.count);
		break;
	default:
		n = 0;
	}
	return (int)off + (n > 0 ? n : 0);
}

void nq_report_finding_head(struct nq_json *w, const struct nq_violation *v)
{
	bool info = v->severity == NQ_SEV_INFO;

	nq_json_kstr(w, "severity", nq_severity_name(v->severity));
	nq_json_kstr(w, "kind", nq_finding_name(v));
	nq_json_kstr(w, "invariant", info ? "-" : nq_violation_invariant(v->kind));
	nq_json_ku64(w, "vm", v->tgid);
	nq_json_ku64(w, "vm_id", v->vm_id);
}

void nq_report_finding_tail(struct nq_json *w, const struct nq_violation *v)
{
	nq_json_key(w, "vcpu");
	if (v->vcpu_id == NQ_VCPU_UNKNOWN)
		nq_json_null(w);
	else
		nq_json_u64(w, v->vcpu_id);
	nq_json_ku64(w, "ts", v->ts_ns);
	nq_json_kstr(w, "message", v->message);
	nq_json_key(w, "evidence");
	nq_report_evidence_json(w, v);
}

void nq_report_evidence_json(struct nq_json *w, const struct nq_violation *v)
{
	nq_json_begin_array(w);
	for (unsigned int i = 0; i < v->n_evidence && i < NQ_EVIDENCE_MAX; i++)
		nq_jsonl_write_event(w, &v->evidence[i]);
	nq_json_end_array(w);
}

static void violation_json(FILE *out, const struct nq_violation *v)
{
	struct nq_json w;

	nq_json_init(&w, out);
	nq_json_begin_object(&w);
	nq_json_kstr(&w, "type", v->severity == NQ_SEV_INFO ? "finding" : "violation");
	nq_report_finding_head(&w, v);
	nq_report_finding_tail(&w, v);
	nq_json_end_object(&w);
	fputc('\n', out);
}

void nq_report_violation(FILE *out, const struct nq_violation *v, bool json)
{
	char line[512];
	bool info = v->severity == NQ_SEV_INFO;
	const char *invariant = info ? "-" : nq_violation_invariant(v->kind);

	if (json) {
		violation_json(out, v);
		return;
	}
	fprintf(out, "%s %s (%s) vm=%u vcpu=%s at %" PRIu64 ".%09" PRIu64 ": %s\n",
		info ? "INFO" : "VIOLATION", nq_finding_name(v), invariant, v->tgid,
		v->vcpu_id == NQ_VCPU_UNKNOWN ? "?" : (snprintf(line, 16, "%u", v->vcpu_id), line),
		v->ts_ns / NS_PER_SEC, v->ts_ns % NS_PER_SEC, v->message);
	for (unsigned int i = 0; i < v->n_evidence; i++) {
		nq_format_event(&v->evidence[i], line, sizeof(line));
		fprintf(out, "    evidence: %s\n", line);
	}
}

static void hist_text(FILE *out, const char *name, const struct nq_hist *h)
{
	char p50[32], p99[32], max[32];

	if (!h->count) {
		fprintf(out, "  %-22s (none)\n", name);
		return;
	}
	nq_format_ns(p50, sizeof(p50), nq_hist_quantile(h, 0.5));
	nq_format_ns(p99, sizeof(p99), nq_hist_quantile(h, 0.99));
	nq_format_ns(max, sizeof(max), h->max_ns);
	fprintf(out, "  %-22s n=%" PRIu64 " p50<=%s p99<=%s max=%s\n", name, h->count, p50, p99,
		max);
}

static void hist_json(struct nq_json *w, const char *name, const struct nq_hist *h)
{
	nq_json_key(w, name);
	nq_json_begin_object(w);
	nq_json_ku64(w, "count", h->count);
	nq_json_ku64(w, "sum_ns", h->sum_ns);
	nq_json_ku64(w, "max_ns", h->max_ns);
	nq_json_ku64(w, "p50_ns", nq_hist_quantile(h, 0.5));
	nq_json_ku64(w, "p99_ns", nq_hist_quantile(h, 0.99));
	nq_json_end_object(w);
}

/* "name":{"reason":count,...} for the reasons that occurred. */
static void reasons_json(struct nq_json *w, const char *name, const uint64_t *table)
{
	nq_json_key(w, name);
	nq_json_begin_object(w);
	for (unsigned int r = 0; r < NQ_EXIT_REASONS; r++)
		if (table[r]) {
			char key[16];

			snprintf(key, sizeof(key), "%u", r);
			nq_json_ku64(w, key, table[r]);
		}
	nq_json_end_object(w);
}

static void summary_json(FILE *out, const struct nq_stats *s, const char *damage)
{
	struct nq_json w;

	nq_json_init(&w, out);
	nq_json_begin_object(&w);
	nq_json_kstr(&w, "type", "summary");
	for (size_t i = 0; i < nq_stat_fields_count; i++)
		nq_json_ku64(&w, nq_stat_fields[i].name, nq_stats_field(s, i));
	nq_json_key(&w, "events_by_kind");
	nq_json_begin_object(&w);
	for (unsigned int k = 1; k < NQ_EV__MAX; k++)
		nq_json_ku64(&w, nq_kind_name(k), s->by_kind[k]);
	nq_json_end_object(&w);
	nq_json_key(&w, "violations_by_kind");
	nq_json_begin_object(&w);
	for (unsigned int k = 0; k < NQ_V__MAX; k++)
		nq_json_ku64(&w, nq_violation_name(k), s->by_violation[k]);
	nq_json_end_object(&w);
	nq_json_key(&w, "infos_by_kind");
	nq_json_begin_object(&w);
	for (unsigned int k = 0; k < NQ_INFO__MAX; k++)
		nq_json_ku64(&w, nq_info_name(k), s->by_info[k]);
	nq_json_end_object(&w);
	reasons_json(&w, "inject_exit_reasons", s->inject_exit_reasons);
	reasons_json(&w, "hw_exit_reasons", s->hw_exit_reasons);
	hist_json(&w, "accept_to_ack", &s->accept_to_ack);
	hist_json(&w, "peek_to_ack", &s->peek_to_ack);
	nq_json_kstr(&w, "verdict", damage ? "damaged" : s->violations ? "fail" : "pass");
	nq_json_key(&w, "damaged");
	if (damage)
		nq_json_str(&w, damage);
	else
		nq_json_null(&w);
	nq_json_end_object(&w);
	fputc('\n', out);
}

static void verdict_text(FILE *out, const struct nq_stats *s, const char *damage)
{
	if (damage)
		fprintf(out,
			"verdict: DAMAGED trace: %s; the %" PRIu64
			" records before the damage were analysed%s\n",
			damage, s->events, s->violations ? " and show violations" : "");
	else
		fprintf(out, "verdict: %s\n", s->violations ? "FAIL (violations found)" : "PASS");
}

void nq_report_summary(FILE *out, const struct nq_stats *s, bool json)
{
	nq_report_summary_damaged(out, s, json, NULL);
}

void nq_report_summary_damaged(FILE *out, const struct nq_stats *s, bool json, const char *damage)
{
	if (json) {
		summary_json(out, s, damage);
		return;
	}
	fprintf(out, "summary:\n");
	/* The first five always; the others only when they say something. */
	for (size_t i = 0; i < nq_stat_fields_count; i++)
		if (i < 5 || nq_stats_field(s, i))
			fprintf(out, "  %-22s %" PRIu64 "\n", nq_stat_fields[i].name,
				nq_stats_field(s, i));
	fprintf(out, "  events by kind:");
	for (unsigned int k = 1; k < NQ_EV__MAX; k++)
		if (s->by_kind[k])
			fprintf(out, " %s=%" PRIu64, nq_kind_name(k), s->by_kind[k]);
	fprintf(out, "\n");
	if (s->violations) {
		fprintf(out, "  violations by kind:");
		for (unsigned int k = 0; k < NQ_V__MAX; k++)
			if (s->by_violation[k])
				fprintf(out, " %s=%" PRIu64, nq_violation_name(k),
					s->by_violation[k]);
		fprintf(out, "\n");
	}
	hist_text(out, "latency accept->ack", &s->accept_to_ack);
	hist_text(out, "latency peek->ack", &s->peek_to_ack);
	if (s->infos) {
		fprintf(out, "  findings by kind (info):");
		for (unsigned int k = 0; k < NQ_INFO__MAX; k++)
			if (s->by_info[k])
				fprintf(out, " %s=%" PRIu64, nq_info_name(k), s->by_info[k]);
		fprintf(out, "\n");
	}
	verdict_text(out, s, damage);
}

void nq_report_meta(FILE *out, const struct nq_trace_meta *m, bool json)
{
	if (json) {
		struct nq_json w;

		nq_json_init(&w, out);
		nq_json_begin_object(&w);
		nq_json_kstr(&w, "type", "trace");
		nq_json_kstr(&w, "kernel", m->kernel);
		nq_json_kstr(&w, "host", m->host);
		nq_json_kstr(&w, "flow", m->flow);
		nq_json_kstr(&w, "isa", m->isa);
		nq_json_key(&w, "plan");
		nq_plan_json(&w, &m->plan);
		nq_json_end_object(&w);
		fputc('\n', out);
		return;
	}
	fprintf(out, "trace: kernel %s, host %s, flow %s, isa %s\n", m->kernel[0] ? m->kernel : "?",
		m->host[0] ? m->host : "?", m->flow[0] ? m->flow : "?", m->isa[0] ? m->isa : "?");
	if (m->plan.n)
		fprintf(out, "probe plan:\n");
	for (unsigned int i = 0; i < m->plan.n && i < NQ_PLAN_MAX_POINTS; i++) {
		char line[NQ_PLAN_LINE_MAX];

		if (nq_plan_entry_format(&m->plan.pt[i], line, sizeof(line)) > 0)
			fprintf(out, "  %s\n", line);
	}
}
