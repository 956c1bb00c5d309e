/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `nestirq check` results as a CI gate: a list of test points (one per
 * violation kind plus a few about the run itself), rendered as TAP version
 * 13 with YAML diagnostics, or as JUnit XML.  Plain C, no libbpf.
 */
#ifndef NESTIRQ_GATE_H
#define NESTIRQ_GATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "nestirq/engine.h"

enum nq_gate_status { NQ_GATE_PASS = 0, NQ_GATE_FAIL, NQ_GATE_SKIP };

#define NQ_GATE_EVIDENCE 3 /* violations kept per point as evidence */
#define NQ_GATE_DIAG	 8
#define NQ_GATE_POINTS	 16
#define NQ_GATE_PROPS	 8

struct nq_gate_kv {
	char key[32];
	char value[200];
};

struct nq_gate_point {
	char name[48];	   /* stable: a violation kind name, or e.g. "no_lost_events" */
	char invariant[8]; /* "I3", or "" for points about the run */
	enum nq_gate_status status;
	char reason[200];   /* why skipped, or the failure headline */
	int violation_kind; /* -1: not a violation kind */
	uint64_t violations;
	unsigned int nviol;
	struct nq_violation viol[NQ_GATE_EVIDENCE];
	unsigned int ndiag;
	struct nq_gate_kv diag[NQ_GATE_DIAG];
};

struct nq_gate {
	char suite[64];
	double duration_s;
	unsigned int npoints;
	struct nq_gate_point pt[NQ_GATE_POINTS];
	unsigned int nprops; /* kernel, flow, source... (JUnit properties, TAP comments) */
	struct nq_gate_kv prop[NQ_GATE_PROPS];
};

void nq_gate_init(struct nq_gate *g, const char *suite);
/* Appends a point (PASS until told otherwise); NULL when full. */
struct nq_gate_point *nq_gate_add(struct nq_gate *g, const char *name, const char *invariant,
				  int violation_kind);
struct nq_gate_point *nq_gate_find_kind(struct nq_gate *g, int violation_kind);
void nq_gate_skip(struct nq_gate_point *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void nq_gate_fail(struct nq_gate_point *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void nq_gate_diag(struct nq_gate_point *p, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void nq_gate_prop(struct nq_gate *g, const char *key, const char *value);
/* Counts a violation against its kind's point (fails it) and keeps the first few. */
void nq_gate_violation(struct nq_gate *g, const struct nq_violation *v);
unsigned int nq_gate_count(const struct nq_gate *g, enum nq_gate_status st);

void nq_gate_tap(FILE *out, const struct nq_gate *g);
/* The whole plan skipped: "1..0 # SKIP reason". */
void nq_gate_tap_skip_all(FILE *out, const char *reason);
void nq_gate_junit(FILE *out, const struct nq_gate *g);

#endif /* NESTIRQ_GATE_H */
