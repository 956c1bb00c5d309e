// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The invariant engine.  Events arrive in ring-buffer (reservation) order;
 * each is routed to its vCPU's state, keyed by the VM (its struct kvm, when
 * the probes saw it; else the hosting process) and the vCPU id.  The checks
 * live in check.c (peek, ack, report), svi.c (where SVI lands) and irr.c
 * (accept history); this file routes, and handles losses and VMs that go
 * away, so that a gap in the story never becomes a verdict.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

#define DEFAULT_MAX_VCPUS 1024
/* Keys of VMs known only by their process: never equal to a 32-bit vm_id. */
#define KEY_BY_TGID (1ull << 32)

struct nq_engine *nq_engine_new(const struct nq_engine_config *cfg)
{
	struct nq_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	if (cfg)
		e->cfg = *cfg;
	if (!e->cfg.max_vcpus)
		e->cfg.max_vcpus = DEFAULT_MAX_VCPUS;
	if (vcpu_table_init(&e->vcpus, e->cfg.max_vcpus) || tid_map_init(&e->tids)) {
		nq_engine_free(e);
		return NULL;
	}
	return e;
}

void nq_engine_free(struct nq_engine *e)
{
	if (!e)
		return;
	vcpu_table_destroy(&e->vcpus);
	tid_map_destroy(&e->tids);
	free(e);
}

const struct nq_stats *nq_engine_stats(const struct nq_engine *e)
{
	return &e->stats;
}

static void count_reason(uint64_t *table, uint64_t reason)
{
	/* VMX: the basic reason is bits 15:0 (bit 27 flags an SGX enclave exit). */
	reason &= 0xffff;
	table[reason < NQ_EXIT_REASONS ? reason : NQ_EXIT_REASONS - 1]++;
}

static void on_evict(struct vcpu_state *victim, void *ctx)
{
	struct nq_engine *e = ctx;

	e->stats.vcpu_evictions++;
	nq_check_close(e, victim, false, 0);
}

/* ---- which VM and vCPU an event belongs to ---- */

struct where {
	uint64_t key;
	uint32_t vm_id;
	uint32_t vcpu_id;
};

static void vm_of(const struct nq_engine *e, const struct nq_event *ev, uint32_t vm_id,
		  struct where *w, bool *several)
{
	*several = false;
	if (!vm_id)
		vm_id = tid_map_vm_of(&e->tids, ev->h.tgid, several);
	w->vm_id = vm_id;
	w->key = vm_id ? vm_id : KEY_BY_TGID | ev->h.tgid;
}

/* Accepts come from the sender's thread: the target is the APIC's vCPU. */
static bool resolve_accept(struct nq_engine *e, const struct nq_event *ev, struct where *w)
{
	const struct tid_slot *sender = tid_map_lookup(&e->tids, ev->h.tgid, ev->h.tid);
	uint32_t vm_id = ev->vm_id;
	bool several;

	/* A vCPU thread sending an IPI is in the target's VM. */
	if (!vm_id && sender)
		vm_id = sender->vm_id;
	vm_of(e, ev, vm_id, w, &several);
	if (several) {
		e->stats.accepts_unattributed++;
		return false;
	}
	w->vcpu_id = (ev->accept.flags & NQ_ACCEPT_F_EXACT) && ev->h.vcpu_id != NQ_VCPU_UNKNOWN
			     ? ev->h.vcpu_id
			     : ev->accept.apicid;
	return true;
}

static bool resolve(struct nq_engine *e, const struct nq_event *ev, struct where *w)
{
	const struct tid_slot *slot;
	uint32_t vm_id = ev->vm_id;
	bool several;

	if (ev->h.kind == NQ_EV_IRQ_ACCEPT)
		return resolve_accept(e, ev, w);
	w->vcpu_id = ev->h.vcpu_id;
	if (w->vcpu_id != NQ_VCPU_UNKNOWN) {
		tid_map_learn(&e->tids, ev->h.tgid, ev->h.tid, w->vcpu_id, vm_id);
	} else if ((slot = tid_map_lookup(&e->tids, ev->h.tgid, ev->h.tid))) {
		w->vcpu_id = slot->vcpu_id;
		if (!vm_id)
			vm_id = slot->vm_id;
	} else {
		/* Still judged on its own (an exit's report), under the unknown vCPU. */
		e->stats.unresolved_vcpu++;
	}
	vm_of(e, ev, vm_id, w, &several);
	if (several) {
		e->stats.unresolved_vcpu += w->vcpu_id != NQ_VCPU_UNKNOWN;
		return false;
	}
	return true;
}

/* ---- losses and departures ---- */

struct loss {
	struct nq_engine *e;
	unsigned int cpu; /* NQ_CPU_ALL: any */
};

/*
 * Only what the lost records can have belonged to is dropped: checks that
 * ran on the CPU that dropped, and every SVI judgment still waiting (its
 * missing piece may be anywhere).  IRR history only feeds counters: kept.
 */
static void forget_broken(struct vcpu_state *s, void *ctx)
{
	struct loss *l = ctx;

	if (s->txn.open && (l->cpu == NQ_CPU_ALL || (s->txn.cpus & (1ull << (l->cpu & 63))))) {
		l->e->stats.checks_dropped_by_loss++;
		memset(&s->txn, 0, sizeof(s->txn));
	}
	nq_svi_abort(l->e, s);
}

static void on_lost(struct nq_engine *e, const struct nq_event *ev)
{
	struct loss l = {e, ev->h.cpu};

	e->stats.lost += ev->lost.count;
	nq_findings_withhold(e);
	vcpu_table_for_each(&e->vcpus, forget_broken, &l);
}

struct departure {
	struct nq_engine *e;
	uint32_t tgid;
	uint32_t vm_id;
};

static void forget_vm(struct vcpu_state *s, void *ctx)
{
	struct departure *d = ctx;

	if (d->vm_id ? s->vm_id == d->vm_id : s->tgid == d->tgid)
		vcpu_table_remove(&d->e->vcpus, s);
}

/* A VM that went away takes its history along: a reused pid starts afresh. */
static void on_vm_gone(struct nq_engine *e, const struct nq_event *ev)
{
	struct departure d = {e, ev->vm_gone.tgid ? ev->vm_gone.tgid : ev->h.tgid, ev->vm_id};

	e->stats.vms_gone++;
	vcpu_table_for_each(&e->vcpus, forget_vm, &d);
	if (!d.vm_id)
		tid_map_forget(&e->tids, d.tgid);
}

/*
 * Records the kernel counted instead of streaming (accepts outside any
 * check, exits of L2): they count as consumed, exactly as if each had come.
 */
static void on_count(struct nq_engine *e, const struct nq_event *ev)
{
	unsigned int kind = ev->count.kind;
	uint64_t n = ev->count.n;

	if (kind == NQ_EV_NONE || kind >= NQ_EV__MAX || kind == NQ_EV_COUNT) {
		e->stats.unknown_kind++;
		return;
	}
	e->stats.counted += n;
	e->stats.by_kind[kind] += n;
	if (kind == NQ_EV_HW_NESTED_VMEXIT) {
		uint64_t r = ev->count.reason & 0xffff;

		/* NQ_COUNT_REASON_ANY: the reason is not known; counted with the highest. */
		if (ev->count.reason == NQ_COUNT_REASON_ANY)
			r = NQ_EXIT_REASONS - 1;
		e->stats.hw_exit_reasons[r < NQ_EXIT_REASONS ? r : NQ_EXIT_REASONS - 1] += n;
	}
}

/* ---- dispatch ---- */

static void route(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	nq_svi_legacy_next(e, s, ev);
	switch (ev->h.kind) {
	case NQ_EV_IRQ_ACCEPT:
		nq_irr_accept(e, s, ev);
		break;
	case NQ_EV_CHECK_ENTER:
		nq_check_enter(e, s, ev);
		break;
	case NQ_EV_CHECK_EXIT:
		nq_check_close(e, s, true, ev->check_exit.ret);
		break;
	case NQ_EV_PEEK:
		nq_check_peek(s, ev);
		break;
	case NQ_EV_EXTINT:
		nq_check_extint(s, ev);
		break;
	case NQ_EV_ACK:
		nq_check_ack(e, s, ev);
		break;
	case NQ_EV_VMEXIT_INJECT:
		nq_check_inject(e, s, ev);
		if (ev->h.isa != NQ_ISA_SVM)
			nq_svi_exit_reported(e, s, ev);
		break;
	case NQ_EV_SVI_UPDATE:
		nq_svi_entry(e, s, ev);
		break;
	case NQ_EV_SVI_RETURN:
		nq_svi_return(e, s, ev);
		break;
	case NQ_EV_VMCS_SWITCH:
		nq_svi_vmcs_switch(s, ev);
		nq_check_vmcs_switch(s, ev);
		break;
	case NQ_EV_NESTED_PI:
		s->pi_known = true;
		s->pi_enabled = ev->pi.pi_enabled;
		s->posted_intr_nv = ev->pi.posted_intr_nv;
		break;
	}
}

void nq_engine_feed(struct nq_engine *e, const struct nq_event *ev)
{
	unsigned int kind = ev->h.kind;
	struct vcpu_state *s;
	struct where w;

	e->stats.events++;
	if (kind == NQ_EV_NONE || kind >= NQ_EV__MAX) {
		e->stats.unknown_kind++;
		return;
	}
	e->stats.by_kind[kind]++;

	switch (kind) {
	case NQ_EV_LOST:
		on_lost(e, ev);
		return;
	case NQ_EV_VM_GONE:
		on_vm_gone(e, ev);
		return;
	case NQ_EV_SYNC:
		nq_findings_flush(e);
		return;
	case NQ_EV_COUNT:
		on_count(e, ev);
		return;
	case NQ_EV_HW_NESTED_VMEXIT:
		count_reason(e->stats.hw_exit_reasons, ev->hw_exit.reason);
		resolve(e, ev, &w);
		return;
	case NQ_EV_SVM_INTR_EXIT:
		resolve(e, ev, &w);
		return;
	default:
		break;
	}
	if (kind == NQ_EV_VMEXIT_INJECT)
		count_reason(e->stats.inject_exit_reasons, ev->inject.exit_code);
	if (!resolve(e, ev, &w))
		return;

	s = vcpu_table_get(&e->vcpus, w.key, w.vcpu_id, on_evict, e);
	if (!s->tgid)
		s->tgid = ev->h.tgid;
	if (!s->vm_id)
		s->vm_id = w.vm_id;
	if (ev->h.ts_ns < s->last_ts)
		e->stats.out_of_order++;
	else
		s->last_ts = ev->h.ts_ns;
	route(e, s, ev);
}

void nq_engine_sync(struct nq_engine *e)
{
	nq_findings_flush(e);
}

static void close_open(struct vcpu_state *s, void *ctx)
{
	nq_svi_finish(ctx, s);
	nq_check_close(ctx, s, false, 0);
}

void nq_engine_finish(struct nq_engine *e)
{
	vcpu_table_for_each(&e->vcpus, close_open, e);
	nq_findings_flush(e);
}
