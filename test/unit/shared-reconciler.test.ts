// The shared reconciler every kind uses, as a table of named cases (crossplane-runtime's
// reconciler_test.go style): a fake cache, a fake Kubernetes client and a fake handler, and for
// each case what the queue is told, what status is written, which events are recorded and which
// changes are made.
import { expect } from 'chai';
import { pino } from 'pino';
import { FINALIZER, GalleryShareKind, type InFlightOperation } from '../../src/api/v1alpha1/index.js';
import { OperationFailedError } from '../../src/azure/operations.js';
import type { KindHandler, KindPlan, ManagedObject, ManagedStatus, Phase } from '../../src/controllers/shared/handler.js';
import { ManagedReconciler, RetryLaterError } from '../../src/controllers/shared/reconciler.js';
import type { ReconcileResult } from '../../src/runtime/controller.js';
import type { EventRecorder } from '../../src/runtime/events.js';
import type { InformerEvent, ObjectCache } from '../../src/runtime/informer.js';
import type { KubeClient } from '../../src/runtime/kube-client.js';
import { kstatus } from '../../src/runtime/kstatus.js';

type Obj = ManagedObject & { spec: { deletionPolicy?: 'Delete' | 'Orphan'; want: string[] }; status?: ManagedStatus & { have?: string[] } };
type Action = { type: 'add'; item: string; longRunning?: boolean };
interface Observed {
  have: string[];
}

const NOW = Date.parse('2026-11-29T12:00:00Z');
const RECHECK_MS = 120_000;
const CREDENTIALS_RECHECK_MS = 60_000;

function object(overrides: { status?: Obj['status']; deleting?: boolean; finalizer?: boolean; deletionPolicy?: 'Delete' | 'Orphan'; generation?: number } = {}): Obj {
  return {
    apiVersion: 'galleryshare.io/v1alpha1',
    kind: 'GalleryShare',
    metadata: {
      name: 'one',
      namespace: 'ns',
      uid: 'u1',
      generation: overrides.generation ?? 2,
      resourceVersion: '10',
      finalizers: overrides.finalizer === false ? [] : [FINALIZER],
      ...(overrides.deleting ? { deletionTimestamp: '2026-11-29T11:59:00Z' } : {}),
    },
    spec: { want: ['a'], ...(overrides.deletionPolicy ? { deletionPolicy: overrides.deletionPolicy } : {}) },
    ...(overrides.status ? { status: overrides.status } : {}),
  };
}

const readyStatus = (generation: number): Obj['status'] => ({
  observedGeneration: generation,
  have: ['a'],
  conditions: [
    { type: 'Synced', status: 'True', reason: 'Synced', message: '1 in place.', observedGeneration: generation, lastTransitionTime: '2026-11-29T10:00:00Z' },
    { type: 'Ready', status: 'True', reason: 'Reconciled', message: 'Azure matches the spec.', observedGeneration: generation, lastTransitionTime: '2026-11-29T10:00:00Z' },
  ],
});

const operation: InFlightOperation = { action: 'add', description: 'add b', resumeToken: '{"state":"x"}', startedAt: '2026-11-29T11:58:00Z', generation: 2 };

/** What the fake handler does; each case changes only what it is about. */
interface Behaviour {
  have?: string[] | undefined;
  absent?: boolean;
  refuse?: { reason: string; message: string };
  connectError?: Error;
  observeError?: Error;
  actResult?: (action: Action) => { done: true } | { done: false; resumeToken?: string; retryAfterMs: number };
  actError?: Error;
  resume?: () => { done: true } | { done: false; retryAfterMs: number };
  resumeError?: Error;
  /** Merged into every plan (stalled, waiting, readyNote, events). */
  planExtra?: Partial<KindPlan<Action>>;
  /** What deletionBlocked answers. */
  blocked?: { reason: string; message: string; recheckAfterMs: number };
  /** What cachesCurrent answers (default true). */
  cachesCurrent?: boolean;
  /** The object leaves the controller's cache while Azure is read (relabelled into another shard). */
  leavesCacheOnObserve?: boolean;
}

interface World {
  /** 'status' and 'act:<item>' in the order they happened. */
  order: string[];
  acted: Action[];
  observed: number;
  resumed: InFlightOperation[];
  statusWrites: Obj['status'][];
  finalizerPatches: string[][];
  events: { type: string; reason: string; message: string }[];
}

function fakes(obj: Obj | undefined, behaviour: Behaviour) {
  const world: World = { order: [], acted: [], observed: 0, resumed: [], statusWrites: [], finalizerPatches: [], events: [] };
  let stored = obj;
  let have = behaviour.have ?? [];
  let cached = obj;
  const cache: ObjectCache<Obj> = {
    get: (key) => (key === 'ns/one' ? cached : undefined),
    list: () => (obj ? [obj] : []),
    keys: () => (obj ? ['ns/one'] : []),
    byIndex: () => [],
    onChange: (_h: (e: InformerEvent, o: Obj, old?: Obj) => void) => {},
  };
  const client = {
    replace(_path: string, body: Obj) {
      world.order.push('status');
      world.statusWrites.push(body.status);
      stored = { ...stored!, status: body.status };
      return Promise.resolve(stored);
    },
    patch(_path: string, body: { metadata: { finalizers: string[] } }) {
      world.finalizerPatches.push(body.metadata.finalizers);
      stored = { ...stored!, metadata: { ...stored!.metadata, finalizers: body.metadata.finalizers } };
      return Promise.resolve(stored);
    },
    get() {
      return Promise.resolve(stored);
    },
  } as unknown as KubeClient;
  const events = {
    record(_o: unknown, type: string, reason: string, message: string) {
      world.events.push({ type, reason, message });
    },
  } as unknown as EventRecorder;
  const handler: KindHandler<Obj, object, Observed, Action> = {
    kind: GalleryShareKind,
    detailConditions: ['Synced'],
    preconditions: (_o: Obj, phase: Phase) => (phase === 'reconcile' ? behaviour.refuse : undefined),
    deletionBlocked: () => behaviour.blocked,
    cachesCurrent: () => behaviour.cachesCurrent ?? true,
    connect() {
      return behaviour.connectError ? Promise.reject(behaviour.connectError) : Promise.resolve({});
    },
    observe() {
      world.observed++;
      if (behaviour.leavesCacheOnObserve) cached = undefined;
      if (behaviour.observeError) return Promise.reject(behaviour.observeError);
      return Promise.resolve(behaviour.absent ? undefined : { have: [...have] });
    },
    absent: () => ({ reason: 'TargetNotFound', message: 'Create the target.' }),
    plan(o: Obj, observed: Observed): KindPlan<Action> {
      const missing = o.spec.want.filter((w) => !observed.have.includes(w));
      return {
        actions: missing.map((item) => ({ type: 'add', item })),
        details: [missing.length ? { type: 'Synced', status: 'False', reason: 'Adding', message: `${missing.length} to add.` } : { type: 'Synced', status: 'True', reason: 'Synced', message: `${o.spec.want.length} in place.` }],
        ...(behaviour.planExtra ?? {}),
      };
    },
    planDeletion: (o: Obj, observed: Observed) => ({ actions: o.spec.want.filter((w) => observed.have.includes(w)).map((item): Action => ({ type: 'add', item })) }),
    act(_o, action) {
      world.order.push(`act:${action.item}`);
      world.acted.push(action);
      if (behaviour.actError) return Promise.reject(behaviour.actError);
      const started = behaviour.actResult?.(action) ?? { done: true };
      if (started.done) have = [...have, action.item];
      return Promise.resolve(started);
    },
    resume(_o, op) {
      world.resumed.push(op);
      if (behaviour.resumeError) return Promise.reject(behaviour.resumeError);
      const polled = behaviour.resume?.() ?? { done: true };
      if (polled.done) have = [...have, 'b'];
      return Promise.resolve(polled);
    },
    describe: (a: Action) => ({ reason: 'Added', text: `add ${a.item}`, operation: 'add' }),
    status: (_o: Obj, observed: Observed | undefined) => (observed ? { have: observed.have } : {}),
  };
  const reconciler = new ManagedReconciler(handler, { cache, client, events, stalledRecheckMs: RECHECK_MS, credentialsRecheckMs: CREDENTIALS_RECHECK_MS, now: () => NOW });
  return { world, reconciler };
}

interface Case {
  name: string;
  obj: Obj | undefined;
  behaviour?: Behaviour;
  want: {
    result?: ReconcileResult;
    /** The reconcile throws for backoff, with this code. */
    backoff?: string;
    /** The last status written: its kstatus and Ready reason; 'none' when nothing is written. */
    status?: 'none' | { kstatus: string; reason?: string; operation?: 'kept' | 'recorded' | 'cleared'; lastFailure?: { code: string; since?: string } };
    acted?: string[];
    resumed?: number;
    events?: string[];
    finalizer?: 'added' | 'removed' | 'untouched';
    observed?: number;
  };
}

const terminal = Object.assign(new Error('The client has no authorization'), { name: 'RestError', statusCode: 403, code: 'AuthorizationFailed' });
const throttled = Object.assign(new Error('Too many requests'), { name: 'RestError', statusCode: 429, code: 'TooManyRequests', retryAfterMs: 7000 });
const unavailable = Object.assign(new Error('busy'), { name: 'RestError', statusCode: 503, code: 'ServiceUnavailable' });
const principalNotFound = Object.assign(new Error('Principal p does not exist in the directory t. This error might be related to a replication delay.'), { name: 'RestError', statusCode: 400, code: 'PrincipalNotFound' });
const badSecret = Object.assign(new Error('Secret s lacks clientId.'), { name: 'CredentialSecretError' });

const cases: Case[] = [
  { name: 'an object not in the cache (deleted) is done', obj: undefined, want: { result: {}, status: 'none', acted: [], finalizer: 'untouched' } },
  {
    name: 'a new object gets its finalizer, its change, Ready and one Ready event',
    obj: object({ finalizer: false }),
    want: { result: {}, status: { kstatus: 'Current' }, acted: ['a'], events: ['Normal Added', 'Normal Ready'], finalizer: 'added', observed: 2 },
  },
  {
    name: 'Ready already at this generation: no status write, no event (the quiet resync)',
    obj: object({ status: readyStatus(2) }),
    behaviour: { have: ['a'] },
    want: { result: {}, status: 'none', acted: [], events: [], finalizer: 'untouched', observed: 1 },
  },
  {
    name: 'Ready at an older generation: a status write and a Ready event (the transition)',
    obj: object({ status: readyStatus(1) }),
    behaviour: { have: ['a'] },
    want: { result: {}, status: { kstatus: 'Current' }, events: ['Normal Ready'] },
  },
  {
    name: 'a policy refusal stalls before any Azure call, with one event',
    obj: object(),
    behaviour: { refuse: { reason: 'PolicyViolation', message: 'Not allowed.' } },
    want: { result: { requeueAfterMs: RECHECK_MS }, status: { kstatus: 'Failed', reason: 'PolicyViolation' }, acted: [], observed: 0, events: ['Warning PolicyViolation'] },
  },
  {
    name: 'a missing target stalls with the handler\'s explanation',
    obj: object(),
    behaviour: { absent: true },
    want: { result: { requeueAfterMs: RECHECK_MS }, status: { kstatus: 'Failed', reason: 'TargetNotFound' }, acted: [] },
  },
  {
    name: 'a long-running operation started: recorded in status with Reconciling, requeued after Retry-After',
    obj: object(),
    behaviour: { actResult: () => ({ done: false, resumeToken: '{"state":"y"}', retryAfterMs: 3000 }) },
    want: { result: { requeueAfterMs: 3000 }, status: { kstatus: 'InProgress', reason: 'OperationInProgress', operation: 'recorded' }, acted: ['a'], events: ['Normal Added'] },
  },
  {
    name: 'another operation running on the resource (409): Reconciling, no operation recorded, no failure',
    obj: object(),
    behaviour: { actResult: () => ({ done: false, retryAfterMs: 5000 }) },
    want: { result: { requeueAfterMs: 5000 }, status: { kstatus: 'InProgress', reason: 'OperationInProgress', operation: 'cleared' }, acted: ['a'], events: [] },
  },
  {
    name: 'an operation recorded by another process (a restart) is resumed, not started again, while it runs',
    obj: object({ status: { observedGeneration: 2, operation, conditions: [] } }),
    behaviour: { resume: () => ({ done: false, retryAfterMs: 2000 }) },
    want: { result: { requeueAfterMs: 2000 }, status: { kstatus: 'InProgress', reason: 'OperationInProgress', operation: 'kept' }, acted: [], resumed: 1, observed: 0 },
  },
  {
    name: 'a recorded operation that finished: cleared, then the reconcile goes on to Ready',
    obj: object({ status: { observedGeneration: 2, operation, conditions: [] } }),
    behaviour: { have: ['a'], resume: () => ({ done: true }) },
    want: { result: {}, status: { kstatus: 'Current', operation: 'cleared' }, acted: [], resumed: 1 },
  },
  {
    name: 'a poll that failed (503) keeps the operation and backs off',
    obj: object({ status: { observedGeneration: 2, operation, conditions: [] } }),
    behaviour: { resumeError: unavailable },
    want: { backoff: 'ServiceUnavailable', status: { kstatus: 'InProgress', reason: 'ServiceUnavailable', operation: 'kept' }, acted: [] },
  },
  {
    name: 'an operation Azure reports as failed ends, with a Warning event of its code',
    obj: object({ status: { observedGeneration: 2, operation, conditions: [] } }),
    behaviour: { resumeError: new OperationFailedError('InvalidParameter', 'Tenant 1 is not valid.') },
    want: { result: { requeueAfterMs: RECHECK_MS }, status: { kstatus: 'Failed', reason: 'InvalidParameter', operation: 'cleared' }, events: ['Warning InvalidParameter', 'Warning InvalidParameter'] },
  },
  {
    name: 'throttled: Reconciling Throttled, requeued after exactly Retry-After, not an error',
    obj: object(),
    behaviour: { observeError: throttled },
    want: { result: { requeueAfterMs: 7000 }, status: { kstatus: 'InProgress', reason: 'Throttled' }, events: ['Warning Throttled'] },
  },
  {
    name: 'retryable (503): Reconciling with the code, backoff, a Warning event',
    obj: object(),
    behaviour: { actError: unavailable },
    want: { backoff: 'ServiceUnavailable', status: { kstatus: 'InProgress', reason: 'ServiceUnavailable', lastFailure: { code: 'ServiceUnavailable' } }, events: ['Warning ServiceUnavailable'] },
  },
  {
    name: 'transient (PrincipalNotFound), first met: Reconciling with backoff, and the failure recorded with when it began',
    obj: object(),
    behaviour: { actError: principalNotFound },
    want: { backoff: 'PrincipalNotFound', status: { kstatus: 'InProgress', reason: 'PrincipalNotFound', lastFailure: { code: 'PrincipalNotFound', since: '2026-11-29T12:00:00Z' } } },
  },
  {
    name: 'transient, met for a while already (as status says, whichever process saw it first): still Reconciling, since kept',
    obj: object({ status: { observedGeneration: 2, lastFailure: { code: 'PrincipalNotFound', since: '2026-11-29T11:58:00Z' }, conditions: [] } }),
    behaviour: { actError: principalNotFound },
    want: { backoff: 'PrincipalNotFound', status: { kstatus: 'InProgress', reason: 'PrincipalNotFound', lastFailure: { code: 'PrincipalNotFound', since: '2026-11-29T11:58:00Z' } } },
  },
  {
    name: 'transient for longer than Azure says it lasts: Stalled with the advice',
    obj: object({ status: { observedGeneration: 2, lastFailure: { code: 'PrincipalNotFound', since: '2026-11-29T11:50:00Z' }, conditions: [] } }),
    behaviour: { actError: principalNotFound },
    want: { result: { requeueAfterMs: RECHECK_MS }, status: { kstatus: 'Failed', reason: 'PrincipalNotFound' }, events: ['Warning PrincipalNotFound'] },
  },
  {
    name: 'terminal (403): Stalled with the code and advice, rechecked later',
    obj: object(),
    behaviour: { actError: terminal },
    want: { result: { requeueAfterMs: RECHECK_MS }, status: { kstatus: 'Failed', reason: 'AuthorizationFailed' }, events: ['Warning AuthorizationFailed'] },
  },
  {
    name: 'the same Stalled reason and message again: no second event',
    obj: object({
      status: {
        observedGeneration: 2,
        conditions: [{ type: 'Stalled', status: 'True', reason: 'PolicyViolation', message: 'Not allowed.', observedGeneration: 2, lastTransitionTime: '2026-11-29T11:00:00Z' }],
      },
    }),
    behaviour: { refuse: { reason: 'PolicyViolation', message: 'Not allowed.' } },
    want: { result: { requeueAfterMs: RECHECK_MS }, events: [] },
  },
  {
    name: 'a bad credentials Secret stalls and is rechecked within a minute (Secrets are not watched)',
    obj: object(),
    behaviour: { connectError: badSecret },
    want: { result: { requeueAfterMs: CREDENTIALS_RECHECK_MS }, status: { kstatus: 'Failed', reason: 'InvalidCredentialsSecret' }, observed: 0 },
  },
  {
    name: 'deleting with Orphan: finalizer removed, Azure untouched',
    obj: object({ deleting: true, deletionPolicy: 'Orphan', status: readyStatus(2) }),
    behaviour: { have: ['a'] },
    want: { result: {}, finalizer: 'removed', acted: [], observed: 0, status: 'none' },
  },
  {
    name: 'deleting an object that never observed (no detail condition): Azure untouched',
    obj: object({ deleting: true, status: { observedGeneration: 2, conditions: [] } }),
    behaviour: { have: ['a'] },
    want: { result: {}, finalizer: 'removed', acted: [], observed: 0 },
  },
  {
    name: 'deleting with Delete: undoes what it did, then removes the finalizer',
    obj: object({ deleting: true, status: readyStatus(2) }),
    behaviour: { have: ['a'] },
    want: { result: {}, finalizer: 'removed', acted: ['a'], events: ['Normal Added'] },
  },
  {
    name: 'deleting with a terminal failure: Stalled, finalizer kept, the message says how to let go',
    obj: object({ deleting: true, status: readyStatus(2) }),
    behaviour: { have: ['a'], actError: terminal },
    want: { result: { requeueAfterMs: RECHECK_MS }, finalizer: 'untouched', status: { kstatus: 'Terminating', reason: 'AuthorizationFailed' } },
  },
  {
    name: 'a plan stalled with its own recheck (consent awaited): Stalled, requeued after the plan\'s delay, not the operator\'s',
    obj: object(),
    behaviour: { have: ['a'], planExtra: { stalled: { reason: 'ConsentRequired', message: 'Consent, please.', recheckAfterMs: 30_000 } } },
    want: { result: { requeueAfterMs: 30_000 }, status: { kstatus: 'Failed', reason: 'ConsentRequired' }, acted: [], events: ['Warning ConsentRequired'] },
  },
  {
    name: 'a plan waiting for Azure to apply what is written (RBAC propagating): Reconciling, not Stalled, not Ready, no event',
    obj: object(),
    behaviour: { have: ['a'], planExtra: { waiting: { reason: 'RoleAssignmentPropagating', message: 'Not yet.', recheckAfterMs: 5_000 } } },
    want: { result: { requeueAfterMs: 5_000 }, status: { kstatus: 'InProgress', reason: 'RoleAssignmentPropagating' }, acted: [], events: [] },
  },
  {
    name: 'a ready note: Ready True with the note\'s reason (kstatus Current); the plan\'s events recorded once per reconcile',
    obj: object(),
    behaviour: {
      planExtra: { readyNote: { reason: 'CredentialExpiringSoon', message: 'Renew it.' }, events: [{ type: 'Warning', reason: 'CredentialExpiringSoon', message: 'Renew it.' }] },
    },
    want: { result: {}, status: { kstatus: 'Current', reason: 'CredentialExpiringSoon' }, acted: ['a'], events: ['Warning CredentialExpiringSoon', 'Normal Added', 'Normal Ready'], observed: 2 },
  },
  {
    name: 'a deletion blocked (other objects depend on it): Reconciling with the reason, finalizer kept, Azure untouched, whatever the policy',
    obj: object({ deleting: true, deletionPolicy: 'Orphan', status: readyStatus(2) }),
    behaviour: { have: ['a'], blocked: { reason: 'InUse', message: 'Used by ns/vm.', recheckAfterMs: 30_000 } },
    want: { result: { requeueAfterMs: 30_000 }, finalizer: 'untouched', acted: [], observed: 0, status: { kstatus: 'Terminating', reason: 'InUse' } },
  },
];

describe('the shared reconciler (table)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { world, reconciler } = fakes(c.obj, c.behaviour ?? {});
      const signal = new AbortController().signal;
      let result: ReconcileResult | undefined;
      let thrown: unknown;
      try {
        result = await reconciler.reconcile({ namespace: 'ns', name: 'one' }, { logger: pino({ level: 'silent' }), reconcileId: 'r', signal });
      } catch (err) {
        thrown = err;
      }
      if (c.want.backoff) {
        expect(thrown, 'backs off').to.be.instanceOf(RetryLaterError);
        expect((thrown as RetryLaterError).code).to.equal(c.want.backoff);
      } else {
        expect(thrown, 'no error').to.equal(undefined);
        if (c.want.result) expect(result).to.deep.equal(c.want.result);
      }
      if (c.want.acted) expect(world.acted.map((a) => a.item), 'changes made').to.deep.equal(c.want.acted);
      if (c.want.resumed !== undefined) expect(world.resumed, 'operations polled').to.have.length(c.want.resumed);
      if (c.want.observed !== undefined) expect(world.observed, 'observations').to.equal(c.want.observed);
      if (c.want.events) expect(world.events.map((e) => `${e.type} ${e.reason}`), 'events').to.deep.equal(c.want.events);
      if (c.want.finalizer === 'added') expect(world.finalizerPatches).to.deep.equal([[FINALIZER]]);
      if (c.want.finalizer === 'removed') expect(world.finalizerPatches).to.deep.equal([[]]);
      if (c.want.finalizer === 'untouched') expect(world.finalizerPatches).to.deep.equal([]);
      if (c.want.status === 'none') expect(world.statusWrites, 'no status write').to.deep.equal([]);
      else if (c.want.status) {
        const written = world.statusWrites.at(-1);
        expect(written, 'a status write').not.to.equal(undefined);
        const generation = c.obj!.metadata.generation!;
        const as = { ...c.obj!, status: written };
        expect(kstatus(as), JSON.stringify(written)).to.equal(c.want.status.kstatus);
        expect(written!.observedGeneration).to.equal(generation);
        if (c.want.status.reason) expect(written!.conditions?.find((x) => x.type === 'Ready')?.reason).to.equal(c.want.status.reason);
        if (c.want.status.operation === 'recorded') expect(written!.operation).to.deep.include({ action: 'add', description: 'add a', resumeToken: '{"state":"y"}', generation });
        if (c.want.status.operation === 'kept') expect(written!.operation).to.deep.equal(operation);
        if (c.want.status.operation === 'cleared') expect(written!.operation).to.equal(undefined);
        if (c.want.status.lastFailure) expect(written!.lastFailure).to.deep.include(c.want.status.lastFailure);
      }
    });
  }

  it('before an object\'s first change, status records what Azure held (so a crash after Azure accepted the change cannot make it look adopted)', async () => {
    const { world, reconciler } = fakes(object({ finalizer: true }), { have: ['x'] });
    await reconciler.reconcile({ namespace: 'ns', name: 'one' }, { logger: pino({ level: 'silent' }), reconcileId: 'r', signal: new AbortController().signal });
    expect(world.order.slice(0, 2)).to.deep.equal(['status', 'act:a']);
    expect(world.statusWrites[0]!.have, 'what was there before').to.deep.equal(['x']);
    // An object that acted before writes no such status first.
    const again = fakes(object({ status: { ...readyStatus(1) } }), { have: ['x'] });
    await again.reconciler.reconcile({ namespace: 'ns', name: 'one' }, { logger: pino({ level: 'silent' }), reconcileId: 'r', signal: new AbortController().signal });
    expect(again.world.order[0]).to.equal('act:a');
  });

  it('status says only what this reconcile observed: a failure before any read leaves no detail condition claiming the parts are in place', async () => {
    const { world, reconciler } = fakes(object({ status: readyStatus(2) }), { observeError: unavailable });
    await reconciler.reconcile({ namespace: 'ns', name: 'one' }, { logger: pino({ level: 'silent' }), reconcileId: 'r', signal: new AbortController().signal }).catch(() => undefined);
    const written = world.statusWrites.at(-1)!;
    expect(written.conditions?.find((c) => c.type === 'Synced')).to.deep.include({ status: 'Unknown', reason: 'ServiceUnavailable' });
    expect(written.have, 'observed fields are not kept as if observed now').to.equal(undefined);
  });

  it('a failure before any read keeps a detail condition that says a part is missing (False), with its time: waits are measured from it', async () => {
    const missing = { type: 'Synced', status: 'False' as const, reason: 'ConsentRequired', message: 'Consent, please.', observedGeneration: 2, lastTransitionTime: '2026-11-29T11:00:00Z' };
    const { world, reconciler } = fakes(object({ status: { observedGeneration: 2, conditions: [missing] } }), { observeError: unavailable });
    await reconciler.reconcile({ namespace: 'ns', name: 'one' }, { logger: pino({ level: 'silent' }), reconcileId: 'r', signal: new AbortController().signal }).catch(() => undefined);
    expect(world.statusWrites.at(-1)!.conditions?.find((c) => c.type === 'Synced')).to.deep.equal(missing);
  });

  it('a failure after the reads reports what they showed', async () => {
    const { world, reconciler } = fakes(object({ status: readyStatus(2) }), { have: [], actError: unavailable });
    await reconciler.reconcile({ namespace: 'ns', name: 'one' }, { logger: pino({ level: 'silent' }), reconcileId: 'r', signal: new AbortController().signal }).catch(() => undefined);
    const written = world.statusWrites.at(-1)!;
    expect(written.conditions?.find((c) => c.type === 'Synced')).to.deep.include({ status: 'False', reason: 'Adding' });
    expect(written.have).to.deep.equal([]);
  });

  it('a write sent without an answer (aborted) is not recorded as done: the next reconcile observes first', async () => {
    const abort = new AbortController();
    const aborted = Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
    const { world, reconciler } = fakes(object(), { actError: aborted });
    abort.abort();
    const thrown = await reconciler.reconcile({ namespace: 'ns', name: 'one' }, { logger: pino({ level: 'silent' }), reconcileId: 'r', signal: abort.signal }).catch((e: unknown) => e);
    expect(thrown).to.be.instanceOf(RetryLaterError);
    expect((thrown as RetryLaterError).code).to.equal('Abandoned');
    expect(world.statusWrites.at(-1)?.operation, 'no operation recorded').to.equal(undefined);
  });

  it('an object that leaves the cache during the reconcile (relabelled into another shard) gets no Azure write and no status from it, deleting or not', async () => {
    for (const obj of [object(), object({ deleting: true, status: readyStatus(2) })]) {
      const { world, reconciler } = fakes(obj, { leavesCacheOnObserve: true, have: obj.metadata.deletionTimestamp ? ['a'] : [] });
      const result = await reconciler.reconcile({ namespace: 'ns', name: 'one' }, { logger: pino({ level: 'silent' }), reconcileId: 'r', signal: new AbortController().signal });
      expect(result, 'no requeue: the shard that holds it now reconciles it').to.deep.equal({});
      expect(world.observed).to.equal(1);
      expect(world.acted).to.deep.equal([]);
      expect(world.statusWrites).to.deep.equal([]);
      expect(world.finalizerPatches).to.deep.equal([]);
    }
  });

  it('does nothing at all (no finalizer, no status, no Azure call) while the caches of other objects do not hold the object yet', async () => {
    for (const obj of [object({ finalizer: false }), object({ deleting: true })]) {
      const { world, reconciler } = fakes(obj, { cachesCurrent: false });
      const result = await reconciler.reconcile({ namespace: 'ns', name: 'one' }, { logger: pino({ level: 'silent' }), reconcileId: 'r', signal: new AbortController().signal });
      expect(result, 'no requeue: the secondary watch queues it').to.deep.equal({});
      expect(world.finalizerPatches).to.deep.equal([]);
      expect(world.statusWrites).to.deep.equal([]);
      expect(world.observed).to.equal(0);
      expect(world.acted).to.deep.equal([]);
    }
  });
});
