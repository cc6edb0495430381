import { describe, expect, it } from 'vitest';
import { afterAcknowledge, nextEscalation, startEscalation } from './escalation.ts';
import type { EscalationPolicy } from './model.ts';

const policy = (repeat: number, ackTimeoutMs = 0): EscalationPolicy => ({
  id: 'p',
  name: 'p',
  match: [],
  severities: [],
  priority: 100,
  repeat,
  ackTimeoutMs,
  steps: [
    { delayMs: 100, targets: [] },
    { delayMs: 200, targets: [] },
  ],
});

describe('escalation', () => {
  it('starts at step 0 with its delay', () => {
    expect(startEscalation(policy(0), 1000)).toEqual({
      kind: 'page',
      step: 0,
      loop: 0,
      state: { step: 0, loop: 0, nextAt: 1100 },
    });
  });

  it.each([
    [
      'next step',
      0,
      { step: 0, loop: 0 },
      { kind: 'page', step: 1, loop: 0, state: { step: 1, loop: 0, nextAt: 1200 } },
    ],
    [
      'exhausted without repeat',
      0,
      { step: 1, loop: 0 },
      { kind: 'exhausted', state: { step: 1, loop: 0, nextAt: null } },
    ],
    [
      'repeat from step 0',
      1,
      { step: 1, loop: 0 },
      { kind: 'page', step: 0, loop: 1, state: { step: 0, loop: 1, nextAt: 1100 } },
    ],
    [
      'exhausted after the repeats',
      1,
      { step: 1, loop: 1 },
      { kind: 'exhausted', state: { step: 1, loop: 1, nextAt: null } },
    ],
    [
      'a policy shortened since continues after its last step',
      1,
      { step: 5, loop: 0 },
      { kind: 'page', step: 0, loop: 1, state: { step: 0, loop: 1, nextAt: 1100 } },
    ],
  ])('%s', (_name, repeat, at, want) => {
    expect(nextEscalation(policy(repeat), { ...at, nextAt: 1000 }, 1000)).toEqual(want);
  });

  it('stops on acknowledgement, or schedules the ack-timeout re-escalation', () => {
    const s = { step: 1, loop: 0, nextAt: 5000 };
    expect(afterAcknowledge(policy(0), s, 2000)).toEqual({ step: 1, loop: 0, nextAt: null });
    expect(afterAcknowledge(policy(0, 600), s, 2000)).toEqual({ step: 1, loop: 0, nextAt: 2600 });
    expect(afterAcknowledge(undefined, s, 2000)).toEqual({ step: 1, loop: 0, nextAt: null });
  });
});
