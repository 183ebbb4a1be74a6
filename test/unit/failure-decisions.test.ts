// decideFailure: one named case per failure class and phase, each with the status a person sees
// (state, reason, a fragment of the message) and what the queue does.
import { expect } from 'chai';
import { classifyFailure, decideFailure, type Failure, type FailureContext, type Requeue } from '../../src/controllers/shared/failures.js';
import { missingFields } from '../../src/runtime/crd-check.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const context = (overrides: Partial<FailureContext> = {}): FailureContext => ({ phase: 'reconcile', now: NOW, stalledRecheckMs: 120_000, credentialsRecheckMs: 60_000, ...overrides });

interface Row {
  name: string;
  failure: Failure;
  context: FailureContext;
  state: 'progressing' | 'stalled';
  reason: string;
  fragment: string;
  requeue: Requeue;
}

const throttled: Failure = { kind: 'throttled', code: 'TooManyRequests', message: 'Azure is throttling requests.', retryAfterMs: 7_000 };
const retryable: Failure = { kind: 'retryable', code: 'ServiceUnavailable', message: 'Azure failed (503).' };
const transient: Failure = { kind: 'transient', code: 'PrincipalNotFound', message: 'Principal p does not exist in the directory.', settlesWithinMs: 300_000 };
const terminal: Failure = { kind: 'terminal', code: 'AuthorizationFailed', message: 'Azure refused (403). Grant the identity the role.' };
const secret: Failure = { kind: 'terminal', code: 'InvalidCredentialsSecret', message: 'Secret s lacks clientId.' };

const rows: Row[] = [
  { name: 'throttled while reconciling', failure: throttled, context: context(), state: 'progressing', reason: 'Throttled', fragment: 'throttling', requeue: { after: 7_000 } },
  { name: 'throttled while deleting', failure: throttled, context: context({ phase: 'delete' }), state: 'progressing', reason: 'Throttled', fragment: 'throttling', requeue: { after: 7_000 } },
  { name: 'retryable while reconciling', failure: retryable, context: context(), state: 'progressing', reason: 'ServiceUnavailable', fragment: '503', requeue: 'backoff' },
  { name: 'retryable while deleting', failure: retryable, context: context({ phase: 'delete' }), state: 'progressing', reason: 'ServiceUnavailable', fragment: '503', requeue: 'backoff' },
  { name: 'transient, first seen now', failure: transient, context: context(), state: 'progressing', reason: 'PrincipalNotFound', fragment: 'retrying for 300s more', requeue: 'backoff' },
  {
    name: 'transient, seen for part of its while (measured from status, so a restart does not reset it)',
    failure: transient,
    context: context({ failingSince: NOW - 120_000 }),
    state: 'progressing',
    reason: 'PrincipalNotFound',
    fragment: 'retrying for 180s more',
    requeue: 'backoff',
  },
  { name: 'transient, past its while', failure: transient, context: context({ failingSince: NOW - 301_000 }), state: 'stalled', reason: 'PrincipalNotFound', fragment: 'It has lasted 301s', requeue: { after: 120_000 } },
  {
    name: 'transient past its while, while deleting',
    failure: transient,
    context: context({ phase: 'delete', failingSince: NOW - 400_000 }),
    state: 'stalled',
    reason: 'PrincipalNotFound',
    fragment: 'deletionPolicy: Orphan',
    requeue: { after: 120_000 },
  },
  { name: 'terminal while reconciling', failure: terminal, context: context(), state: 'stalled', reason: 'AuthorizationFailed', fragment: 'Grant the identity', requeue: { after: 120_000 } },
  { name: 'terminal while deleting', failure: terminal, context: context({ phase: 'delete' }), state: 'stalled', reason: 'AuthorizationFailed', fragment: 'keeps its finalizer', requeue: { after: 120_000 } },
  { name: 'a bad credentials Secret (not watched): rechecked within a minute', failure: secret, context: context(), state: 'stalled', reason: 'InvalidCredentialsSecret', fragment: 'lacks clientId', requeue: { after: 60_000 } },
  {
    name: 'a bad credentials Secret with a shorter stalled recheck: the shorter one',
    failure: secret,
    context: context({ stalledRecheckMs: 3_000 }),
    state: 'stalled',
    reason: 'InvalidCredentialsSecret',
    fragment: 'lacks clientId',
    requeue: { after: 3_000 },
  },
];

describe('decideFailure (table)', () => {
  for (const row of rows) {
    it(row.name, () => {
      const decision = decideFailure(row.failure, row.context);
      expect(decision.outcome.state).to.equal(row.state);
      expect(decision.outcome.reason).to.equal(row.reason);
      expect(decision.outcome.message).to.include(row.fragment);
      expect(decision.requeue).to.deep.equal(row.requeue);
    });
  }

  it('an abandoned call (the reconcile timed out) is retryable, and says a write may or may not have been made', () => {
    const failure = classifyFailure(Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }), 'sharing the gallery');
    expect(failure).to.deep.include({ kind: 'retryable', code: 'Abandoned' });
    expect(failure.message).to.include('reads Azure before it writes again');
  });
});

describe('served CRD check (missingFields)', () => {
  const expected = {
    type: 'object',
    properties: {
      observedGeneration: { type: 'integer' },
      operation: { type: 'object', properties: { action: { type: 'string' }, resumeToken: { type: 'string' } } },
      conditions: { type: 'array', items: { type: 'object', properties: { type: { type: 'string' } } } },
    },
  };
  it('finds nothing missing in an up-to-date schema', () => {
    expect(missingFields(expected, expected, 'status')).to.deep.equal([]);
  });
  it('names each field an older CRD lacks', () => {
    const older = { type: 'object', properties: { observedGeneration: { type: 'integer' }, conditions: { type: 'array', items: { type: 'object', properties: {} } } } };
    expect(missingFields(expected, older, 'status')).to.deep.equal(['status.operation', 'status.conditions[].type']);
  });
  it('accepts a schema that preserves unknown fields', () => {
    expect(missingFields(expected, { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, 'status')).to.deep.equal([]);
  });
});
