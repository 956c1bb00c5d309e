/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Stable names of the event ABI's enumerations (nestirq/abi.h): one table
 * each, used by the JSON schema, the reports, the metrics and the tests
 * (src/common/abi_names.c).
 */
#ifndef NESTIRQ_ABI_NAMES_H
#define NESTIRQ_ABI_NAMES_H

struct nq_names {
	const char *what;	 /* for messages: "vmcs", "isa", ... */
	const char *const *name; /* by value; values past n have no name */
	unsigned int n;
};

extern const struct nq_names nq_kind_names;    /* enum nq_kind: "irq_accept", ... */
extern const struct nq_names nq_isa_names;     /* enum nq_isa: "unknown", "vmx", "svm" */
extern const struct nq_names nq_vmcs_names;    /* enum nq_vmcs: "unknown", "01", "02", "other" */
extern const struct nq_names nq_ack_api_names; /* enum nq_ack_api */
extern const struct nq_names nq_svi_outcome_names; /* enum nq_svi_outcome */
extern const struct nq_names nq_svi_origin_names;  /* enum nq_svi_origin */
extern const struct nq_names nq_lost_source_names; /* enum nq_lost_source */
extern const struct nq_names nq_ack_irr_names;	   /* enum nq_ack_irr */

/* The name of v, or NULL if it has none. */
const char *nq_name_of(const struct nq_names *t, unsigned int v);
/* The value named name, or -1. */
int nq_name_find(const struct nq_names *t, const char *name);

/* Kind names ("unknown" past the table; nq_kind_from_name: -1 if unknown). */
const char *nq_kind_name(unsigned int kind);
int nq_kind_from_name(const char *name);

#endif /* NESTIRQ_ABI_NAMES_H */
