// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Violation storm control (see nestirq/ratelimit.h).  A storm of one bug
 * gives one (kind, VM) key, so a small fixed table is enough; VMs beyond it
 * share one slot per kind and are still reported, as "other VMs".
 */
#include <inttypes.h>
#include <string.h>

#include "common/json_writer.h"
#include "nestirq/ratelimit.h"
#include "nestirq/report.h"

void nq_ratelimit_init(struct nq_ratelimit *rl, unsigned int burst, uint64_t interval_ns,
		       nq_rl_report_cb report, void *ctx)
{
	memset(rl, 0, sizeof(*rl));
	rl->burst = burst;
	rl->interval_ns = interval_ns;
	rl->report = report;
	rl->ctx = ctx;
}

static struct nq_rl_key *lookup(struct nq_ratelimit *rl, unsigned int kind, uint32_t vm)
{
	struct nq_rl_key *k;

	for (unsigned int i = 0; i < rl->nkeys; i++)
		if (rl->key[i].vm == vm && rl->key[i].kind == kind)
			return &rl->key[i];
	if (rl->nkeys < NQ_RL_KEYS) {
		k = &rl->key[rl->nkeys++];
		k->vm = vm;
	} else {
		k = &rl->other[kind < NQ_RL_KINDS ? kind : 0];
		k->vm = NQ_RL_OTHER_VMS;
	}
	k->kind = kind;
	return k;
}

/* Clocks from several CPUs may step back a little: never underflow. */
static uint64_t since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static void report(struct nq_ratelimit *rl, struct nq_rl_key *k)
{
	struct nq_rl_report r = {
		.kind = k->kind,
		.vm = k->vm,
		.count = k->suppressed,
		.total = k->suppressed_total,
		.first_ns = k->first_ns,
		.last_ns = k->last_ns,
	};

	k->suppressed = 0;
	if (rl->report)
		rl->report(&r, rl->ctx);
}

static void flush_key(struct nq_ratelimit *rl, struct nq_rl_key *k, uint64_t now, bool force)
{
	if (k->suppressed && (force || since(now, k->first_ns) >= rl->interval_ns))
		report(rl, k);
}

bool nq_ratelimit_allow(struct nq_ratelimit *rl, unsigned int kind, uint32_t vm, uint64_t now_ns)
{
	struct nq_rl_key *k;
	bool quiet;

	if (!rl->burst)
		return true;
	k = lookup(rl, kind, vm);
	quiet = k->used && since(now_ns, k->seen_ns) >= rl->interval_ns;
	flush_key(rl, k, now_ns, quiet);
	if (!k->used || quiet)
		k->shown = 0; /* a new episode: show it in full again */
	k->used = true;
	k->seen_ns = now_ns;
	if (k->shown < rl->burst) {
		k->shown++;
		return true;
	}
	if (!k->suppressed)
		k->first_ns = now_ns;
	k->last_ns = now_ns;
	k->suppressed++;
	k->suppressed_total++;
	rl->suppressed_total++;
	return false;
}

void nq_ratelimit_flush(struct nq_ratelimit *rl, uint64_t now_ns, bool force)
{
	for (unsigned int i = 0; i < rl->nkeys; i++)
		flush_key(rl, &rl->key[i], now_ns, force);
	for (unsigned int i = 0; i < NQ_RL_KINDS; i++)
		flush_key(rl, &rl->other[i], now_ns, force);
}

const char *nq_rl_kind_name(unsigned int kind)
{
	if (kind < NQ_V__MAX)
		return nq_violation_name((enum nq_violation_kind)kind);
	return nq_info_name((enum nq_info_kind)(kind - NQ_V__MAX));
}

const char *nq_rl_kind_invariant(unsigned int kind)
{
	/* "-" as in replay's JSON: an informational finding proves no invariant broken. */
	return kind < NQ_V__MAX ? nq_violation_invariant((enum nq_violation_kind)kind) : "-";
}

static void vm_text(char *buf, size_t len, uint32_t vm)
{
	if (vm == NQ_RL_OTHER_VMS)
		snprintf(buf, len, "other VMs");
	else
		snprintf(buf, len, "vm=%" PRIu32, vm);
}

int nq_ratelimit_format(char *buf, size_t len, const struct nq_rl_report *r)
{
	char vm[32];
	uint64_t span = since(r->last_ns, r->first_ns);

	vm_text(vm, sizeof(vm), r->vm);
	return snprintf(buf, len,
			"suppressed %" PRIu64 " more %s (%s) %s %s over %" PRIu64 ".%03" PRIu64
			"s (%" PRIu64 " suppressed in all)",
			r->count, nq_rl_kind_name(r->kind),
			r->kind < NQ_V__MAX ? nq_rl_kind_invariant(r->kind) : "info",
			r->kind < NQ_V__MAX ? "violations" : "findings", vm, span / 1000000000u,
			span / 1000000u % 1000u, r->total);
}

void nq_ratelimit_print(FILE *out, const struct nq_rl_report *r, bool json)
{
	char line[256];
	struct nq_json w;

	if (!json) {
		nq_ratelimit_format(line, sizeof(line), r);
		fprintf(out, "%s\n", line);
		return;
	}
	nq_json_init(&w, out);
	nq_json_begin_object(&w);
	nq_json_kstr(&w, "type", "suppressed");
	nq_json_kstr(&w, "severity", r->kind < NQ_V__MAX ? "violation" : "info");
	nq_json_kstr(&w, "kind", nq_rl_kind_name(r->kind));
	nq_json_kstr(&w, "invariant", nq_rl_kind_invariant(r->kind));
	nq_json_key(&w, "vm");
	if (r->vm == NQ_RL_OTHER_VMS)
		nq_json_null(&w); /* VMs beyond the key table, together */
	else
		nq_json_u64(&w, r->vm);
	nq_json_ku64(&w, "count", r->count);
	nq_json_ku64(&w, "total", r->total);
	nq_json_ku64(&w, "first_ts", r->first_ns);
	nq_json_ku64(&w, "last_ts", r->last_ns);
	nq_json_end_object(&w);
	fputc('\n', out);
}
