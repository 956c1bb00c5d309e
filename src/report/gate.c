// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TAP 13 and JUnit renderings of a check.  Evidence travels as YAML
 * double-quoted strings (by the JSON writer: JSON's escapes are valid
 * there) and as XML text with the five entities escaped; characters XML 1.0
 * forbids are dropped, since a kernel string must never make a CI report
 * unparsable.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "common/json_writer.h"
#include "nestirq/gate.h"
#include "nestirq/report.h"

void nq_gate_init(struct nq_gate *g, const char *suite)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->suite, sizeof(g->suite), "%s", suite);
}

struct nq_gate_point *nq_gate_add(struct nq_gate *g, const char *name, const char *invariant,
				  int violation_kind)
{
	struct nq_gate_point *p;

	if (g->npoints >= NQ_GATE_POINTS)
		return NULL;
	p = &g->pt[g->npoints++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->invariant, sizeof(p->invariant), "%s", invariant ? invariant : "");
	p->violation_kind = violation_kind;
	return p;
}

struct nq_gate_point *nq_gate_find_kind(struct nq_gate *g, int violation_kind)
{
	for (unsigned int i = 0; i < g->npoints; i++)
		if (g->pt[i].violation_kind == violation_kind)
			return &g->pt[i];
	return NULL;
}

void nq_gate_skip(struct nq_gate_point *p, const char *fmt, ...)
{
	va_list ap;

	p->status = NQ_GATE_SKIP;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
}

void nq_gate_fail(struct nq_gate_point *p, const char *fmt, ...)
{
	va_list ap;

	p->status = NQ_GATE_FAIL;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
}

void nq_gate_diag(struct nq_gate_point *p, const char *key, const char *fmt, ...)
{
	struct nq_gate_kv *kv;
	va_list ap;

	if (p->ndiag >= NQ_GATE_DIAG)
		return;
	kv = &p->diag[p->ndiag++];
	snprintf(kv->key, sizeof(kv->key), "%s", key);
	va_start(ap, fmt);
	vsnprintf(kv->value, sizeof(kv->value), fmt, ap);
	va_end(ap);
}

void nq_gate_prop(struct nq_gate *g, const char *key, const char *value)
{
	struct nq_gate_kv *kv;

	if (g->nprops >= NQ_GATE_PROPS)
		return;
	kv = &g->prop[g->nprops++];
	snprintf(kv->key, sizeof(kv->key), "%s", key);
	snprintf(kv->value, sizeof(kv->value), "%s", value);
}

void nq_gate_violation(struct nq_gate *g, const struct nq_violation *v)
{
	struct nq_gate_point *p = nq_gate_find_kind(g, (int)v->kind);

	if (!p)
		return;
	p->violations++;
	if (p->nviol < NQ_GATE_EVIDENCE)
		p->viol[p->nviol++] = *v;
	nq_gate_fail(p, "%" PRIu64 " violation%s of %s", p->violations,
		     p->violations == 1 ? "" : "s", p->name);
}

unsigned int nq_gate_count(const struct nq_gate *g, enum nq_gate_status st)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < g->npoints; i++)
		n += g->pt[i].status == st;
	return n;
}

/* ---- TAP 13 ---- */

/* A YAML double-quoted scalar: JSON's escapes are YAML's, so the one JSON escaper serves. */
static void yaml_str(FILE *out, const char *s)
{
	struct nq_json w;

	nq_json_init(&w, out);
	nq_json_str(&w, s);
}

/* A TAP description or directive reason: one line, '#' escaped. */
static void tap_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '#')
			fputs("\\#", out);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', out);
		else
			fputc(*s, out);
	}
}

static void point_title(FILE *out, const struct nq_gate_point *p)
{
	tap_text(out, p->name);
	if (p->invariant[0])
		fprintf(out, " (%s)", p->invariant);
}

static void tap_yaml(FILE *out, const struct nq_gate_point *p)
{
	fprintf(out, "  ---\n  message: ");
	yaml_str(out, p->reason);
	fprintf(out, "\n  severity: fail\n");
	if (p->invariant[0])
		fprintf(out, "  invariant: %s\n", p->invariant);
	if (p->violation_kind >= 0)
		fprintf(out, "  violations: %" PRIu64 "\n", p->violations);
	for (unsigned int i = 0; i < p->ndiag; i++) {
		fprintf(out, "  %s: ", p->diag[i].key);
		yaml_str(out, p->diag[i].value);
		fputc('\n', out);
	}
	if (p->nviol) {
		fprintf(out, "  evidence:\n");
		for (unsigned int i = 0; i < p->nviol; i++) {
			const struct nq_violation *v = &p->viol[i];

			fprintf(out,
				"    - vm_pid: %" PRIu32 "\n      vcpu: %" PRIu32
				"\n      ts_ns: %llu\n      message: ",
				v->tgid, v->vcpu_id, (unsigned long long)v->ts_ns);
			yaml_str(out, v->message);
			fprintf(out, "\n      events:\n");
			for (unsigned int e = 0; e < v->n_evidence && e < NQ_EVIDENCE_MAX; e++) {
				char line[256];

				nq_format_event(&v->evidence[e], line, sizeof(line));
				fprintf(out, "        - ");
				yaml_str(out, line);
				fputc('\n', out);
			}
		}
	}
	fprintf(out, "  ...\n");
}

void nq_gate_tap(FILE *out, const struct nq_gate *g)
{
	fprintf(out, "TAP version 13\n");
	for (unsigned int i = 0; i < g->nprops; i++) {
		fprintf(out, "# %s: ", g->prop[i].key);
		tap_text(out, g->prop[i].value);
		fputc('\n', out);
	}
	fprintf(out, "1..%u\n", g->npoints);
	for (unsigned int i = 0; i < g->npoints; i++) {
		const struct nq_gate_point *p = &g->pt[i];

		fprintf(out, "%s %u - ", p->status == NQ_GATE_FAIL ? "not ok" : "ok", i + 1);
		point_title(out, p);
		if (p->status == NQ_GATE_SKIP) {
			fputs(" # SKIP ", out);
			tap_text(out, p->reason);
		}
		fputc('\n', out);
		if (p->status == NQ_GATE_FAIL)
			tap_yaml(out, p);
	}
	fprintf(out, "# %u passed, %u failed, %u skipped\n", nq_gate_count(g, NQ_GATE_PASS),
		nq_gate_count(g, NQ_GATE_FAIL), nq_gate_count(g, NQ_GATE_SKIP));
}

void nq_gate_tap_skip_all(FILE *out, const char *reason)
{
	fprintf(out, "TAP version 13\n1..0 # SKIP ");
	tap_text(out, reason);
	fputc('\n', out);
}

/* ---- JUnit XML ---- */

static void xml_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		default:
			/* XML 1.0 allows only tab, LF and CR below 0x20. */
			if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r')
				fputc(c, out);
		}
	}
}

static void junit_evidence(FILE *out, const struct nq_gate_point *p)
{
	xml_text(out, p->reason);
	fputc('\n', out);
	for (unsigned int i = 0; i < p->ndiag; i++) {
		xml_text(out, p->diag[i].key);
		fputs(": ", out);
		xml_text(out, p->diag[i].value);
		fputc('\n', out);
	}
	for (unsigned int i = 0; i < p->nviol; i++) {
		const struct nq_violation *v = &p->viol[i];
		char head[96];

		snprintf(head, sizeof(head), "vm pid %" PRIu32 " vcpu %" PRIu32 ": ", v->tgid,
			 v->vcpu_id);
		xml_text(out, head);
		xml_text(out, v->message);
		fputc('\n', out);
		for (unsigned int e = 0; e < v->n_evidence && e < NQ_EVIDENCE_MAX; e++) {
			char line[256];

			nq_format_event(&v->evidence[e], line, sizeof(line));
			fputs("  evidence: ", out);
			xml_text(out, line);
			fputc('\n', out);
		}
	}
}

void nq_gate_junit(FILE *out, const struct nq_gate *g)
{
	unsigned int fail = nq_gate_count(g, NQ_GATE_FAIL), skip = nq_gate_count(g, NQ_GATE_SKIP);
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(out,
		"<testsuites name=\"nestirq\" tests=\"%u\" failures=\"%u\" errors=\"0\" "
		"skipped=\"%u\" time=\"%.3f\">\n",
		g->npoints, fail, skip, g->duration_s);
	fprintf(out, "  <testsuite name=\"");
	xml_text(out, g->suite);
	fprintf(out,
		"\" tests=\"%u\" failures=\"%u\" errors=\"0\" skipped=\"%u\" time=\"%.3f\" "
		"timestamp=\"%s\">\n",
		g->npoints, fail, skip, g->duration_s, ts);
	if (g->nprops) {
		fprintf(out, "    <properties>\n");
		for (unsigned int i = 0; i < g->nprops; i++) {
			fprintf(out, "      <property name=\"");
			xml_text(out, g->prop[i].key);
			fprintf(out, "\" value=\"");
			xml_text(out, g->prop[i].value);
			fprintf(out, "\"/>\n");
		}
		fprintf(out, "    </properties>\n");
	}
	for (unsigned int i = 0; i < g->npoints; i++) {
		const struct nq_gate_point *p = &g->pt[i];

		fprintf(out, "    <testcase classname=\"nestirq.%s\" name=\"",
			p->violation_kind >= 0 ? "invariants" : "run");
		xml_text(out, p->name);
		if (p->invariant[0])
			fprintf(out, " (%s)", p->invariant);
		fprintf(out, "\" time=\"%.3f\"", g->duration_s);
		if (p->status == NQ_GATE_PASS) {
			fprintf(out, "/>\n");
			continue;
		}
		fprintf(out, ">\n");
		if (p->status == NQ_GATE_SKIP) {
			fprintf(out, "      <skipped message=\"");
			xml_text(out, p->reason);
			fprintf(out, "\"/>\n");
		} else {
			fprintf(out, "      <failure message=\"");
			xml_text(out, p->reason);
			fprintf(out, "\" type=\"");
			xml_text(out, p->name);
			fprintf(out, "\">");
			junit_evidence(out, p);
			fprintf(out, "</failure>\n");
		}
		fprintf(out, "    </testcase>\n");
	}
	fprintf(out, "  </testsuite>\n</testsuites>\n");
}
