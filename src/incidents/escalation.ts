/**
 * The escalation state machine, pure: given a policy, where an incident's escalation stands and the time, it
 * says which step to page now and when the next action is due. The service stores the state in the incident
 * row (so a restart carries on where it stopped) and runs the timers.
 */
import type { EscalationState } from '../state/interface.ts';
import type { EscalationPolicy } from './model.ts';

/** What to do when an escalation action is due. */
export type EscalationAction =
  /** Page `step` (pass `loop`), then store `state`. */
  | { readonly kind: 'page'; readonly step: number; readonly loop: number; readonly state: EscalationState }
  /** Every step of every pass was paged and nobody acknowledged; nothing further is scheduled. */
  | { readonly kind: 'exhausted'; readonly state: EscalationState };

/** The first page of a new (or re-opened, or re-escalated) incident: step 0 of pass 0. */
export function startEscalation(policy: EscalationPolicy, now: number): EscalationAction & { kind: 'page' } {
  return {
    kind: 'page',
    step: 0,
    loop: 0,
    state: { step: 0, loop: 0, nextAt: now + policy.steps[0]!.delayMs },
  };
}

/**
 * The step after `state`'s when its delay ran out unacknowledged: the next step, or step 0 of the next pass
 * while `repeat` allows, else exhausted. A policy edited to fewer steps continues from its last step.
 */
export function nextEscalation(
  policy: EscalationPolicy,
  state: EscalationState,
  now: number,
): EscalationAction {
  let step = Math.min(state.step, policy.steps.length - 1) + 1;
  let loop = state.loop;
  if (step >= policy.steps.length) {
    if (loop >= policy.repeat) return { kind: 'exhausted', state: { step: state.step, loop, nextAt: null } };
    step = 0;
    loop++;
  }
  return { kind: 'page', step, loop, state: { step, loop, nextAt: now + policy.steps[step]!.delayMs } };
}

/** After an acknowledgement escalation stops; with an ack timeout it is due again when that runs out. */
export function afterAcknowledge(
  policy: EscalationPolicy | undefined,
  state: EscalationState,
  ackedAt: number,
): EscalationState {
  const t = policy?.ackTimeoutMs ?? 0;
  return { step: state.step, loop: state.loop, nextAt: t > 0 ? ackedAt + t : null };
}
