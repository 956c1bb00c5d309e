// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The probe plan's two forms, text and JSON, written and read (nestirq/plan.h). */
#include <stdio.h>
#include <string.h>

#include "common/json_writer.h"
#include "common/text.h"
#include "trace_plan.h"

static const char *const status_names[NQ_PS__MAX] = {
	[NQ_PS_UNAVAILABLE] = "unavailable",
	[NQ_PS_READY] = "ready",
	[NQ_PS_ATTACHED] = "attached",
	[NQ_PS_FAILED] = "failed",
};

const char *nq_point_status_name(enum nq_point_status s)
{
	return (unsigned int)s < NQ_PS__MAX ? status_names[s] : "unavailable";
}

int nq_point_status_from_name(const char *name, size_t len)
{
	for (int i = 0; i < NQ_PS__MAX; i++)
		if (strlen(status_names[i]) == len && !memcmp(status_names[i], name, len))
			return i;
	return -1;
}

/* A field of the text form: bounded, valid UTF-8, no separators inside. */
static void field(char *dst, size_t dstlen, const char *src, size_t len)
{
	nq_copy_utf8(dst, dstlen, src ? src : "", src ? len : 0);
	for (char *c = dst; *c; c++)
		if (*c == '\t' || *c == '\n' || *c == '\r')
			*c = ' ';
}

int nq_plan_add(struct nq_plan_data *pd, const char *name, enum nq_point_status st,
		const char *variant, const char *reason)
{
	struct nq_plan_entry *e;

	if (pd->n >= NQ_PLAN_MAX_POINTS)
		return -1;
	e = &pd->pt[pd->n++];
	field(e->name, sizeof(e->name), name, name ? strlen(name) : 0);
	e->status = st;
	field(e->variant, sizeof(e->variant), variant, variant ? strlen(variant) : 0);
	field(e->reason, sizeof(e->reason), reason, reason ? strlen(reason) : 0);
	return 0;
}

const struct nq_plan_entry *nq_plan_find(const struct nq_plan_data *pd, const char *name)
{
	for (unsigned int i = 0; i < pd->n; i++)
		if (!strcmp(pd->pt[i].name, name))
			return &pd->pt[i];
	return NULL;
}

int nq_plan_entry_format(const struct nq_plan_entry *e, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s\t%s\t%s%s%s", e->name, nq_point_status_name(e->status),
			 e->variant, e->reason[0] ? ": " : "", e->reason);

	return n < 0 || (size_t)n >= len ? -1 : n;
}

int nq_plan_entry_parse(const char *line, size_t len, struct nq_plan_entry *e)
{
	const char *end = line + len, *t1, *t2, *rest, *sep;
	int st;

	memset(e, 0, sizeof(*e));
	t1 = memchr(line, '\t', len);
	if (!t1 || t1 == line)
		return -1;
	t2 = memchr(t1 + 1, '\t', (size_t)(end - t1 - 1));
	if (!t2)
		return -1;
	st = nq_point_status_from_name(t1 + 1, (size_t)(t2 - t1 - 1));
	if (st < 0)
		return -1;
	e->status = st;
	field(e->name, sizeof(e->name), line, (size_t)(t1 - line));
	rest = t2 + 1;
	/* A fourth field, or the first ": ", starts the reason. */
	sep = memchr(rest, '\t', (size_t)(end - rest));
	if (!sep)
		sep = memmem(rest, (size_t)(end - rest), ": ", 2);
	field(e->variant, sizeof(e->variant), rest, (size_t)((sep ? sep : end) - rest));
	if (sep) {
		sep += *sep == '\t' ? 1 : 2;
		field(e->reason, sizeof(e->reason), sep, (size_t)(end - sep));
	}
	return 0;
}

void nq_plan_json(struct nq_json *w, const struct nq_plan_data *pd)
{
	nq_json_begin_array(w);
	for (unsigned int i = 0; i < pd->n && i < NQ_PLAN_MAX_POINTS; i++) {
		const struct nq_plan_entry *e = &pd->pt[i];

		nq_json_begin_object(w);
		nq_json_kstr(w, "name", e->name);
		nq_json_kstr(w, "status", nq_point_status_name(e->status));
		nq_json_kstr(w, "variant", e->variant);
		nq_json_kstr(w, "reason", e->reason);
		nq_json_end_object(w);
	}
	nq_json_end_array(w);
}

/* One point of the JSON form: an object of the four strings (name and status required). */
static int entry_from_json(struct nqj_err *e, const struct nqj_val *obj, uint32_t idx,
			   struct nq_plan_entry *pe)
{
	bool have_name = false, have_status = false;

	memset(pe, 0, sizeof(*pe));
	for (uint32_t k = 1; k <= obj->span; k += 1 + obj[k].span) {
		const struct nqj_val *m = obj + k;
		int st;

		if (m->type != NQJ_STR)
			return nqj_err(e, "plan entry %u: key '%s': expected a string", idx,
				       m->key);
		if (!strcmp(m->key, "name")) {
			field(pe->name, sizeof(pe->name), m->str, m->len);
			have_name = m->len > 0;
		} else if (!strcmp(m->key, "status")) {
			st = nq_point_status_from_name(m->str, m->len);
			if (st < 0)
				return nqj_err(
					e,
					"plan entry %u: unknown status '%.40s' (expected one "
					"of: unavailable, ready, attached, failed)",
					idx, m->str);
			pe->status = st;
			have_status = true;
		} else if (!strcmp(m->key, "variant")) {
			field(pe->variant, sizeof(pe->variant), m->str, m->len);
		} else if (!strcmp(m->key, "reason")) {
			field(pe->reason, sizeof(pe->reason), m->str, m->len);
		} else {
			return nqj_err(e, "plan entry %u: unknown key '%.40s'", idx, m->key);
		}
	}
	if (!have_name || !have_status)
		return nqj_err(e, "plan entry %u: needs a name and a status", idx);
	return 0;
}

int nq_plan_from_json(struct nqj_err *e, const struct nqj_val *arr, struct nq_plan_data *pd)
{
	uint32_t idx = 0;

	memset(pd, 0, sizeof(*pd));
	if (arr->type == NQJ_NULL)
		return 0;
	if (arr->type != NQJ_ARR)
		return nqj_err(e, "key 'plan': expected an array");
	for (uint32_t k = 1; k <= arr->span; k += 1 + arr[k].span) {
		const struct nqj_val *v = arr + k;
		struct nq_plan_entry *pe = &pd->pt[pd->n];

		idx++;
		if (pd->n >= NQ_PLAN_MAX_POINTS)
			return nqj_err(e, "plan: more than %d points", NQ_PLAN_MAX_POINTS);
		if (v->type == NQJ_OBJ) {
			if (entry_from_json(e, v, idx, pe))
				return -1;
		} else if (v->type != NQJ_STR || nq_plan_entry_parse(v->str, v->len, pe)) {
			/* Before the object form, points were the text form as strings. */
			return nqj_err(e,
				       "plan entry %u: expected an object or a "
				       "\"name\\tstatus\\tvariant\" string",
				       idx);
		}
		pd->n++;
	}
	return 0;
}
