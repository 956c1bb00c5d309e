/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The probe plan as data: for every probe point, its status, the variant
 * chosen and why it is not attached.  A trace header carries it, `check
 * --replay` judges by it, and replay and doctor show it.  One text form
 * (the binary trace's meta lines, replay's text) and one JSON form (the
 * JSON-lines header, replay --json, doctor --json), each written and read
 * here only (src/trace/trace_plan.c).
 */
#ifndef NESTIRQ_PLAN_H
#define NESTIRQ_PLAN_H

#include <stddef.h>

enum nq_point_status {
	NQ_PS_UNAVAILABLE = 0,
	NQ_PS_READY,	/* would attach (planned, not attached yet) */
	NQ_PS_ATTACHED, /* attached */
	NQ_PS_FAILED,	/* planned, but load/attach failed */
	NQ_PS__MAX
};

/* "unavailable", "ready", "attached", "failed". */
const char *nq_point_status_name(enum nq_point_status s);
/* The status of a name (len bytes), or -1. */
int nq_point_status_from_name(const char *name, size_t len);

#define NQ_PLAN_MAX_POINTS 32

struct nq_plan_entry {
	char name[32]; /* the probe point, nq_point_names[] of the recorder */
	enum nq_point_status status;
	char variant[64]; /* e.g. "kprobe kvm_apic_ack_interrupt" */
	char reason[160]; /* why unavailable / how it failed; "" if attached */
};

struct nq_plan_data {
	unsigned int n;
	struct nq_plan_entry pt[NQ_PLAN_MAX_POINTS];
};

/*
 * Appends a point.  Fields are cut at a UTF-8 boundary to their size, and
 * tabs and newlines become spaces (they separate fields in the text form).
 * 0, or -1 when the plan is full.
 */
int nq_plan_add(struct nq_plan_data *pd, const char *name, enum nq_point_status st,
		const char *variant, const char *reason);
/* The point called name, or NULL. */
const struct nq_plan_entry *nq_plan_find(const struct nq_plan_data *pd, const char *name);

/* The longest text form of a point, NUL included. */
#define NQ_PLAN_LINE_MAX 288

/*
 * The text form of one point: "name<TAB>status<TAB>variant", then ": reason"
 * if there is one.  Returns the length, or -1 if it does not fit in len.
 */
int nq_plan_entry_format(const struct nq_plan_entry *e, char *buf, size_t len);
/*
 * Parses the text form (also "name<TAB>status<TAB>variant<TAB>reason").  The
 * variant ends at the first ": ", which no variant contains.  0, or -1 if
 * the line lacks a field or names an unknown status.
 */
int nq_plan_entry_parse(const char *line, size_t len, struct nq_plan_entry *e);

struct nq_json;
/* The JSON form: [{"name":..,"status":..,"variant":..,"reason":..},...]. */
void nq_plan_json(struct nq_json *w, const struct nq_plan_data *pd);

#endif /* NESTIRQ_PLAN_H */
