// Conditions as users and GitOps tools read them: each outcome maps to the kstatus state it
// must produce, and transition times move only when a status changes.
import { expect } from 'chai';
import fc from 'fast-check';
import { applyOutcome, findCondition, setCondition, type Condition, type Outcome } from '../../src/runtime/conditions.js';
import { kstatus } from '../../src/runtime/kstatus.js';

const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  fc.record({ state: fc.constant('ready' as const), message: fc.string() }),
  fc.record({ state: fc.constant('progressing' as const), reason: fc.constantFrom('ShareInProgress', 'Retrying'), message: fc.string() }),
  fc.record({ state: fc.constant('stalled' as const), reason: fc.constantFrom('GalleryNotFound', 'PolicyViolation'), message: fc.string() }),
);

describe('conditions', () => {
  it('map every sequence of outcomes to the kstatus of the last one', () => {
    fc.assert(
      fc.property(fc.array(outcome, { minLength: 1, maxLength: 10 }), fc.subarray(['DirectShareSynced', 'RoleAssignmentsSynced']), (outcomes, details) => {
        let conditions: Condition[] = details.map((type) => ({ type, status: 'True', reason: 'Synced', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }));
        for (const o of outcomes) conditions = applyOutcome(conditions, o, 4, new Date());
        const last = outcomes[outcomes.length - 1]!;
        const expected = { ready: 'Current', progressing: 'InProgress', stalled: 'Failed' }[last.state];
        expect(kstatus({ metadata: { generation: 4 }, status: { observedGeneration: 4, conditions } })).to.equal(expected);
        expect(kstatus({ metadata: { generation: 5 }, status: { observedGeneration: 4, conditions } }), 'an unseen generation is in progress').to.equal('InProgress');
        for (const type of details) expect(findCondition(conditions, type), 'detail conditions kept').to.exist;
        expect(new Set(conditions.map((c) => c.type)).size, 'one condition per type').to.equal(conditions.length);
      }),
    );
  });

  it('keeps lastTransitionTime while the status holds and moves it when the status changes', () => {
    const t1 = new Date('2026-01-01T00:00:00Z');
    const t2 = new Date('2026-01-01T01:00:00Z');
    let conditions = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, 1, t1);
    conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, 2, t2);
    expect(conditions[0]).to.include({ reason: 'B', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 2 });
    conditions = setCondition(conditions, { type: 'Ready', status: 'True', reason: 'C', message: 'c' }, 2, t2);
    expect(conditions[0]!.lastTransitionTime).to.equal('2026-01-01T01:00:00Z');
  });

  it('reads a deleted object as Terminating', () => {
    expect(kstatus({ metadata: { generation: 1, deletionTimestamp: '2026-01-01T00:00:00Z' }, status: { observedGeneration: 1 } })).to.equal('Terminating');
  });
});
