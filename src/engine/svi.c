// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Where L1's SVI (GUEST_INTERRUPT_STATUS bits 15:8) lands.  An update of
 * L1's ISR must reach vmcs01; kernels get there three ways, and the verdict
 * follows what this kernel did, observed, never what its version suggests:
 *
 *  - before 6.14: vmx_hwapic_isr_update() writes the loaded VMCS at once;
 *  - 6.14 to 6.19 (and stable backports): while L2 is active it sets
 *    nested.update_vmcs01_hwapic_isr and returns; __nested_vmx_vmexit()
 *    applies it once vmcs01 is loaded again;
 *  - 7.x: guard(vmx_vmcs01) loads vmcs01 inside the function, writes, and
 *    loads vmcs02 back, so the entry sees vmcs02 on a correct kernel.
 *
 * So an update is judged at its return: the VMCS loaded at entry, unless
 * vmcs01 was loaded inside (counted by the BPF side, or seen in the
 * stream), or the deferral flag was set.
 *
 * Records without the return probe (event ABI 1) are judged at entry, with
 * one exception: an entry in vmcs02 while L2 runs whose thread's next
 * record loads vmcs01 still in guest mode.  Only the 7.x guard does that
 * (__nested_vmx_vmexit() leaves guest mode before it loads vmcs01), so the
 * write went to vmcs01.
 */
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"

static void svi_in_vmcs02(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *entry,
			  const struct nq_event *ret)
{
	struct nq_violation *v;

	v = nq_finding_begin(e, NQ_SEV_VIOLATION, NQ_V_SVI_IN_VMCS02, s,
			     ret ? ret->h.ts_ns : entry->h.ts_ns);
	snprintf(v->message, sizeof(v->message),
		 "L1's SVI (max ISR %d) written while vmcs02 was loaded: vmcs01 keeps a stale SVI",
		 entry->svi.max_isr);
	nq_evidence_add(v, s->txn.open ? &s->txn.enter : NULL);
	nq_evidence_add(v, s->txn.n_acks ? &s->txn.ack : NULL);
	nq_evidence_add(v, s->have_switch ? &s->last_switch : NULL);
	nq_evidence_add(v, entry);
	nq_evidence_add(v, ret);
	nq_finding_hold(e);
}

/* A write that reached vmcs01 settles a deferral that was waiting for it. */
static void written_to_vmcs01(struct nq_engine *e, struct vcpu_state *s)
{
	if (!s->deferral.pending)
		return;
	e->stats.svi_deferred_applied++;
	memset(&s->deferral, 0, sizeof(s->deferral));
}

void nq_svi_entry(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	uint8_t vmcs = ev->svi.vmcs != NQ_VMCS_UNKNOWN ? ev->svi.vmcs : s->vmcs;

	if (ev->svi.origin == NQ_SVI_ORIGIN_L2_STATE) {
		e->stats.svi_l2_state++;
		return;
	}
	if (ev->svi.flags & NQ_SVI_F_AWAIT_RETURN) {
		if (s->svi.open)
			e->stats.svi_unjudged++; /* its return was lost */
		memset(&s->svi, 0, sizeof(s->svi));
		s->svi.open = true;
		s->svi.entry = *ev;
		return;
	}
	/* Event ABI 1: the recorder decided at entry. */
	if (ev->svi.outcome == NQ_SVI_DEFERRED) {
		e->stats.svi_deferred++;
		return;
	}
	if (vmcs == NQ_VMCS_02 && ev->svi.guest_mode) {
		if (s->svi.open)
			e->stats.svi_unjudged++;
		memset(&s->svi, 0, sizeof(s->svi));
		s->svi.open = s->svi.legacy = true;
		s->svi.entry = *ev;
		return;
	}
	if (vmcs == NQ_VMCS_02)
		svi_in_vmcs02(e, s, ev, NULL);
	else if (vmcs == NQ_VMCS_01)
		written_to_vmcs01(e, s);
}

bool nq_svi_legacy_next(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	if (!s->svi.open || !s->svi.legacy || ev->h.tid != s->svi.entry.h.tid)
		return false;
	s->svi.open = s->svi.legacy = false;
	if (ev->h.kind == NQ_EV_VMCS_SWITCH && ev->vmcs_switch.to == NQ_VMCS_01 &&
	    ev->vmcs_switch.guest_mode) {
		e->stats.svi_guarded++;
		written_to_vmcs01(e, s);
		return true;
	}
	svi_in_vmcs02(e, s, &s->svi.entry, NULL);
	return true;
}

void nq_svi_finish(struct nq_engine *e, struct vcpu_state *s)
{
	if (s->svi.open && s->svi.legacy) {
		s->svi.open = s->svi.legacy = false;
		svi_in_vmcs02(e, s, &s->svi.entry, NULL);
	}
}

void nq_svi_return(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	const struct nq_event *entry = &s->svi.entry;
	uint8_t loads01, vmcs;

	if (!s->svi.open || s->svi.legacy)
		return; /* attached mid-call, or the entry was lost: nothing to judge */
	s->svi.open = false;
	loads01 = ev->svi_ret.loads01 != NQ_BOOL_UNKNOWN ? ev->svi_ret.loads01 : s->svi.loads01;

	if (ev->svi_ret.update_pending == 1 && entry->svi.guest_mode) {
		e->stats.svi_deferred++;
		if (!s->deferral.pending) {
			s->deferral.pending = true;
			s->deferral.deferred = *ev;
		}
		s->deferral.exit_switched = false;
		return;
	}
	vmcs = entry->svi.vmcs != NQ_VMCS_UNKNOWN ? entry->svi.vmcs : s->vmcs;
	if (loads01 > 0) {
		if (vmcs == NQ_VMCS_02)
			e->stats.svi_guarded++;
		vmcs = NQ_VMCS_01;
	}
	if (vmcs == NQ_VMCS_02)
		svi_in_vmcs02(e, s, entry, ev);
	else if (vmcs == NQ_VMCS_01)
		written_to_vmcs01(e, s);
}

void nq_svi_vmcs_switch(struct vcpu_state *s, const struct nq_event *ev)
{
	if (ev->vmcs_switch.to != NQ_VMCS_01)
		return;
	if (s->svi.open && s->svi.loads01++ == 0)
		s->svi.switch01 = *ev;
	if (s->deferral.pending && !s->deferral.exit_switched) {
		s->deferral.exit_switched = true;
		s->deferral.apicv_active = ev->vmcs_switch.apicv_active;
		s->deferral.exit_switch = *ev;
	}
}

void nq_svi_exit_reported(struct nq_engine *e, struct vcpu_state *s, const struct nq_event *ev)
{
	struct svi_deferral *d = &s->deferral;
	struct nq_violation *v;

	if (!d->pending || !d->exit_switched)
		return;
	/*
	 * __nested_vmx_vmexit() applies the update after loading vmcs01 and
	 * before this tracepoint, unless APICv is off (then SVI is moot).
	 */
	if (d->apicv_active != 1) {
		e->stats.svi_deferred_unverified += d->apicv_active == NQ_BOOL_UNKNOWN;
		memset(d, 0, sizeof(*d));
		return;
	}
	v = nq_finding_begin(e, NQ_SEV_VIOLATION, NQ_V_SVI_DEFERRED_LOST, s, ev->h.ts_ns);
	snprintf(v->message, sizeof(v->message),
		 "a deferred SVI update was not applied to vmcs01 before the nested VM-exit "
		 "returned to L1: L1 runs with a stale SVI");
	nq_evidence_add(v, &d->deferred);
	nq_evidence_add(v, &d->exit_switch);
	nq_evidence_add(v, ev);
	nq_finding_hold(e);
	memset(d, 0, sizeof(*d));
}

void nq_svi_abort(struct nq_engine *e, struct vcpu_state *s)
{
	if (s->svi.open)
		e->stats.svi_unjudged++;
	if (s->deferral.pending)
		e->stats.svi_deferred_unverified++;
	memset(&s->svi, 0, sizeof(s->svi));
	memset(&s->deferral, 0, sizeof(s->deferral));
}
