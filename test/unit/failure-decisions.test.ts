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
  { name: 'transient, first seen now', failure: transient, context: context(), state: 'progressing', reason: 'PrincipalNotFound', fragment: 'retrying for 300s more', requeue: { backoffAtMost: 300_000 } },
  {
    name: 'transient, seen for part of its while (measured from status, so a restart does not reset it)',
    failure: transient,
    context: context({ failingSince: NOW - 120_000 }),
    state: 'progressing',
    reason: 'PrincipalNotFound',
    fragment: 'retrying for 180s more',
    requeue: { backoffAtMost: 180_000 },
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

  it("the role-assignment limit is Stalled RoleAssignmentLimitExceeded, looked at again at the stalled recheck (freed room is noticed), also right after the operator's own grants", () => {
    const err = Object.assign(new Error('No more role assignments can be created.'), { name: 'RestError', statusCode: 400, code: 'RoleAssignmentLimitExceeded' });
    // Grants the operator just made make AuthorizationFailed transient; they say nothing about the limit.
    const failure = classifyFailure(err, 'assigning Reader on the gallery', { now: NOW, recentGrants: [{ scope: '/subscriptions/s', at: NOW - 1_000 }] });
    expect(failure.kind).to.equal('terminal');
    for (const phase of ['reconcile', 'delete'] as const) {
      const decision = decideFailure(failure, context({ phase }));
      expect(decision.outcome).to.deep.include({ state: 'stalled', reason: 'RoleAssignmentLimitExceeded' });
      expect(decision.outcome.message).to.include("Azure's limit of 4,000 role assignments").and.include('Microsoft Entra groups');
      expect(decision.requeue).to.deep.equal({ after: 120_000 });
    }
  });

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

describe('classifyFailure with context: refusals Azure documents as passing within a while', () => {
  const now = NOW;
  const gallery = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g';
  const rest = (code: string, message: string, statusCode = 403) => Object.assign(new Error(message), { name: 'RestError', statusCode, code });
  const cases: { name: string; err: Error; context?: Parameters<typeof classifyFailure>[2]; kind: string; settlesWithinMs?: number }[] = [
    { name: 'PrincipalNotFound (replication delay), whatever the context', err: rest('PrincipalNotFound', 'Principal p does not exist in the directory t. This error might be related to a replication delay.', 400), kind: 'transient', settlesWithinMs: 300_000 },
    {
      name: 'AuthorizationFailed on a scope at or below a grant this operator made minutes ago',
      err: rest('AuthorizationFailed', `The client 'c' does not have authorization to perform action 'Microsoft.Compute/galleries/read' over scope '${gallery}/images/i' or the scope is invalid.`),
      context: { now, recentGrants: [{ scope: gallery, at: now - 60_000 }] },
      kind: 'transient',
      settlesWithinMs: 600_000,
    },
    {
      name: 'AuthorizationFailed on a scope the recent grant does not cover',
      err: rest('AuthorizationFailed', "... over scope '/subscriptions/s/resourceGroups/other' or the scope is invalid."),
      context: { now, recentGrants: [{ scope: gallery, at: now - 60_000 }] },
      kind: 'terminal',
    },
    {
      name: 'AuthorizationFailed long after the grant',
      err: rest('AuthorizationFailed', `... over scope '${gallery}' or the scope is invalid.`),
      context: { now, recentGrants: [{ scope: gallery, at: now - 3_600_000 }] },
      kind: 'terminal',
    },
    { name: 'AuthorizationFailed with no grant of ours', err: rest('AuthorizationFailed', `... over scope '${gallery}'.`), kind: 'terminal' },
    {
      name: 'LinkedAuthorizationFailed right after a grant',
      err: rest('LinkedAuthorizationFailed', `The client has permission to perform action on scope '/x', however the linked subscription was not found; over scope '${gallery}'.`),
      context: { now, recentGrants: [{ scope: gallery, at: now - 10_000 }] },
      kind: 'transient',
      settlesWithinMs: 600_000,
    },
    {
      name: 'AADSTS700016 shortly after consent',
      err: Object.assign(new Error('AADSTS700016: Application with identifier a was not found in the directory t.'), { name: 'AuthenticationError', statusCode: 400 }),
      context: { now, consentSeenAt: now - 30_000 },
      kind: 'transient',
      settlesWithinMs: 600_000,
    },
    {
      name: 'AADSTS7000229 with no consent seen',
      err: Object.assign(new Error('AADSTS7000229: The client application a is missing service principal in the tenant t.'), { name: 'AuthenticationError', statusCode: 400 }),
      context: { now },
      kind: 'terminal',
    },
    {
      name: 'GalleryImageNotFound for a region that is targeted but still replicating',
      err: rest('GalleryImageNotFound', 'The gallery image /x is not available in westus region. Please contact image owner to replicate to this region, or change your requested region.', 404),
      context: { now, replicatingRegions: ['westus'] },
      kind: 'transient',
      settlesWithinMs: 6 * 3_600_000,
    },
    {
      name: 'GalleryImageNotFound for a region the version does not target',
      err: rest('GalleryImageNotFound', 'The gallery image /x is not available in eastus region. Please contact image owner.', 404),
      context: { now, replicatingRegions: ['westus'] },
      kind: 'terminal',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const failure = classifyFailure(c.err, 'x', c.context);
      expect(failure.kind).to.equal(c.kind);
      if (c.settlesWithinMs !== undefined) expect(failure).to.deep.include({ settlesWithinMs: c.settlesWithinMs });
    });
  }
});
