// Leader election against an in-memory Lease and the fake clock: acquiring an absent lease,
// standing by while another holder renews, taking over an expired lease, losing leadership when
// renewals fail or hang past the renew deadline, releasing on stop, the timing rules of client-go
// and the jitter of acquire retries.
import { expect } from 'chai';
import fc from 'fast-check';
import pino from 'pino';
import { Writable } from 'node:stream';
import { KubeApiError } from '../../src/runtime/kube-client.js';
import {
  DEFAULT_LEADER_ELECTION_TIMINGS,
  LeaderElector,
  leaderElectionTimingsProblem,
  type LeaderElectionOptions,
  type LeaderElectionTimings,
  type LeaseClient,
} from '../../src/runtime/leader-election.js';
import { FakeClock, settle } from '../support/fake-clock.js';

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec: { holderIdentity?: string | null; leaseDurationSeconds?: number; acquireTime?: string | null; renewTime?: string | null; leaseTransitions?: number };
}

const NAMESPACE = 'ops';
const NAME = 'gso';
const LEASE_PATH = `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${NAME}`;
const apiError = (status: number, reason: string) => new KubeApiError(status, reason, `${reason} (${status})`, undefined);

/** One Lease, kept as the API server would: 404 when absent, 409 on a stale resourceVersion or a second create. */
class FakeLeases implements LeaseClient {
  lease: Lease | undefined;
  private version = 0;
  /** Every request fails with this, when set. */
  failure: Error | undefined;
  createFailure: Error | undefined;
  /** Every request neither answers nor fails (a partition). */
  hang = false;
  /** Requests wait for this before they are answered. */
  gate: Promise<void> | undefined;
  gets: number[] = [];
  /** The Leases written (creates and replaces), as sent. */
  writes: Lease[] = [];

  constructor(private readonly clock: FakeClock) {}

  hold(holderIdentity: string, leaseDurationSeconds = 15): void {
    const now = new Date(this.clock.now()).toISOString();
    this.lease = { metadata: { name: NAME, namespace: NAMESPACE, resourceVersion: String(++this.version) }, spec: { holderIdentity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 } };
  }

  /** The other holder renews: the renewTime changes. */
  renew(): void {
    this.lease!.spec.renewTime = new Date(this.clock.now()).toISOString();
    this.lease!.metadata.resourceVersion = String(++this.version);
  }

  get<T>(path: string): Promise<T> {
    this.gets.push(this.clock.now());
    return this.answer(() => {
      if (path !== LEASE_PATH || !this.lease) throw apiError(404, 'NotFound');
      return structuredClone(this.lease) as T;
    });
  }

  create<T>(_path: string, body: unknown): Promise<T> {
    return this.answer(() => {
      if (this.createFailure) throw this.createFailure;
      if (this.lease) throw apiError(409, 'AlreadyExists');
      this.writes.push(structuredClone(body) as Lease);
      this.lease = { ...(structuredClone(body) as Lease) };
      this.lease.metadata.resourceVersion = String(++this.version);
      return structuredClone(this.lease) as T;
    });
  }

  replace<T>(_path: string, body: unknown): Promise<T> {
    return this.answer(() => {
      const next = structuredClone(body) as Lease;
      if (!this.lease || next.metadata.resourceVersion !== this.lease.metadata.resourceVersion) throw apiError(409, 'Conflict');
      this.writes.push(structuredClone(next));
      this.lease = next;
      this.lease.metadata.resourceVersion = String(++this.version);
      return structuredClone(this.lease) as T;
    });
  }

  private answer<T>(fn: () => T): Promise<T> {
    if (this.hang) return new Promise<T>(() => {});
    return (this.gate ?? Promise.resolve()).then(() => {
      if (this.failure) throw this.failure;
      return fn();
    });
  }
}

function capturingLogger() {
  const lines: { level: number; msg: string; err?: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string; err?: string });
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

function setUp(options: Partial<LeaderElectionOptions> = {}, start = Date.parse('2030-01-01T00:00:00Z')) {
  const clock = new FakeClock(start);
  const leases = new FakeLeases(clock);
  const { logger, lines } = capturingLogger();
  const history: string[] = [];
  const elector = new LeaderElector({ client: leases, namespace: NAMESPACE, name: NAME, identity: 'me', logger, clock, random: () => 0, ...options });
  const elapsed = () => clock.now() - start;
  const run = () => void elector.run(() => history.push(`started@${elapsed()}`), () => history.push(`stopped@${elapsed()}`));
  return { clock, leases, elector, history, run, lines, elapsed };
}

describe('LeaderElector', () => {
  it('acquires an absent lease at once', async () => {
    const { leases, elector, history, run } = setUp();
    run();
    await settle();
    expect(elector.isLeader()).to.equal(true);
    expect(history).to.deep.equal(['started@0']);
    expect(leases.lease?.spec).to.deep.include({ holderIdentity: 'me', leaseDurationSeconds: 15, leaseTransitions: 0 });
    await elector.stop();
  });

  it('stands by while another holder keeps renewing, then takes over one lease duration after the last renewal it saw', async () => {
    const { clock, leases, elector, history, run } = setUp();
    leases.hold('other');
    run();
    for (let i = 0; i < 30; i++) {
      leases.renew();
      await clock.advance(2_000);
    }
    expect(elector.isLeader(), 'a renewed lease is never taken').to.equal(false);
    // The holder renewed for the last time at 58 s; the elector saw that at its attempt at 60 s.
    await clock.advance(14_000);
    expect(elector.isLeader()).to.equal(false);
    await clock.advance(2_000);
    expect(history).to.deep.equal(['started@76000']);
    expect(leases.lease?.spec).to.deep.include({ holderIdentity: 'me', leaseTransitions: 1 });
    await elector.stop();
  });

  it('takes over an expired lease, judged from when it first saw it, not from its renewTime', async () => {
    const { clock, leases, elector, history, run } = setUp();
    leases.hold('ghost', 15);
    leases.lease!.spec.renewTime = '2000-01-01T00:00:00.000000Z'; // another machine's clock, far behind
    run();
    await clock.advance(14_000);
    expect(elector.isLeader(), 'not before a lease duration of its own observation').to.equal(false);
    await clock.advance(2_000);
    expect(history).to.deep.equal(['started@16000']);
    expect(leases.lease?.spec.acquireTime).to.equal(new Date(clock.now()).toISOString().replace('Z', '000Z'));
    await elector.stop();
  });

  for (const [how, cut] of [
    ['renewals fail', (l: FakeLeases) => (l.failure = apiError(500, 'InternalError'))],
    ['renewals hang', (l: FakeLeases) => (l.hang = true)],
  ] as const) {
    it(`gives leadership up at the renew deadline when ${how}`, async () => {
      const { clock, leases, elector, history, run } = setUp();
      run();
      await clock.advance(4_000);
      expect(history).to.deep.equal(['started@0']);
      cut(leases); // the last renewal was at 4 s
      await clock.advance(9_999);
      expect(elector.isLeader()).to.equal(true);
      await clock.advance(1);
      expect(elector.isLeader()).to.equal(false);
      expect(history).to.deep.equal(['started@0', 'stopped@14000']);
    });
  }

  it('releases the lease on stop, so that a standby need not wait for it to expire', async () => {
    const { clock, leases, elector, run } = setUp();
    run();
    await clock.advance(2_000);
    await elector.stop();
    expect(leases.lease?.spec).to.deep.include({ holderIdentity: null, leaseDurationSeconds: 1 });
    expect(clock.pending(), 'no timer left behind').to.equal(0);
  });

  it('gives back a lease it acquired while being stopped', async () => {
    const { leases, elector, history, run } = setUp();
    let open!: () => void;
    leases.gate = new Promise((resolve) => (open = resolve));
    run();
    await settle();
    await elector.stop();
    open();
    await settle();
    expect(leases.lease?.spec, 'created by the attempt in flight, then released').to.deep.include({ holderIdentity: null });
    expect(history, 'never reported as leading').to.deep.equal([]);
    expect(elector.isLeader()).to.equal(false);
  });

  it('logs a Lease create error other than AlreadyExists, and keeps trying', async () => {
    const { clock, leases, elector, lines, run } = setUp();
    leases.createFailure = apiError(403, 'Forbidden');
    run();
    await clock.advance(2_000);
    const warnings = lines.filter((l) => l.msg === 'creating the leader lease failed');
    expect(warnings).to.have.length(2);
    expect(warnings[0]).to.deep.include({ level: 40, err: 'Forbidden (403)' });
    leases.createFailure = undefined;
    await clock.advance(2_000);
    expect(elector.isLeader()).to.equal(true);

    // AlreadyExists is another candidate winning the race, not a failure to report.
    const second = setUp();
    second.leases.createFailure = apiError(409, 'AlreadyExists');
    second.run();
    await second.clock.advance(2_000);
    expect(second.lines.filter((l) => l.level >= 40)).to.deep.equal([]);
    await Promise.all([elector.stop(), second.elector.stop()]);
  });

  it('waits a retry period plus up to 1.2 retry periods of jitter between acquire attempts', async () => {
    for (const [random, wait] of [
      [0, 2_000],
      [0.5, 3_200],
      [0.999, 4_397.6],
    ] as const) {
      const { clock, leases, elector, run } = setUp({ random: () => random });
      leases.hold('other', 3_600);
      run();
      await clock.advance(20_000);
      const gaps = leases.gets.slice(1).map((t, i) => t - leases.gets[i]!);
      expect(gaps.length).to.be.at.least(4);
      for (const gap of gaps) expect(gap).to.be.closeTo(wait, 0.01);
      await elector.stop();
    }
  });

  it('keeps every acquire wait within [retry period, 2.2 × retry period]', async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 1, max: 10_000 }), async (r, retryPeriodMs) => {
        // From time 0, so that the gaps are exact (epoch milliseconds keep no fractions of 1e-4).
        const { clock, leases, elector, run } = setUp({ random: () => r, retryPeriodMs, renewDeadlineMs: retryPeriodMs * 2, leaseDurationMs: retryPeriodMs * 3 }, 0);
        leases.hold('other', 3_600);
        run();
        await clock.advance(retryPeriodMs * 5);
        const gap = leases.gets[1]! - leases.gets[0]!;
        expect(gap).to.be.at.least(retryPeriodMs);
        // At most: 2.2 × is approached from below, but floating point may round onto it.
        expect(gap).to.be.at.most(retryPeriodMs * 2.2);
        await elector.stop();
      }),
      { numRuns: 50 },
    );
  });
});

describe('LeaderElector: values kept on the Lease for the next leader', () => {
  const KEY = 'galleryshare.io/example';
  /** An annotation whose value the test sets, recording what it inherits and when. */
  function annotation(events: string[]) {
    const kept = { value: undefined as string | undefined };
    return {
      kept,
      annotation: { name: KEY, current: () => kept.value, inherit: (value: string | undefined) => events.push(`inherited ${value ?? '(none)'}`) },
    };
  }

  it('hands the previous holder\'s value over before leading starts, and keeps its own with each renewal, with no write of its own', async () => {
    const events: string[] = [];
    const { kept, annotation: a } = annotation(events);
    const { clock, leases, elector } = setUp({ annotations: [a] });
    leases.hold('other');
    leases.lease!.metadata.annotations = { [KEY]: 'from-before', 'someone.else/keeps': 'this' };
    void elector.run(() => events.push('started'), () => events.push('stopped'));
    await clock.advance(16_000);
    await clock.advance(2_000);
    expect(elector.isLeader()).to.equal(true);
    expect(events).to.deep.equal(['inherited from-before', 'started']);
    // What this process keeps is undefined yet: its annotation goes; others' stay.
    expect(leases.lease!.metadata.annotations).to.deep.equal({ 'someone.else/keeps': 'this' });
    const writesBefore = leases.writes.length;
    kept.value = 'learned';
    for (let i = 0; i < 5; i++) await clock.advance(2_000);
    // One write per renewal, as without the annotation; the value rides on the first one after it was learned.
    expect(leases.writes.length - writesBefore).to.equal(5);
    expect(leases.writes.slice(writesBefore).map((l) => l.metadata.annotations?.[KEY])).to.deep.equal(['learned', 'learned', 'learned', 'learned', 'learned']);
    kept.value = 'later';
    await elector.stop();
    // The release carries the latest value too.
    expect(leases.lease!.spec.holderIdentity).to.equal(null);
    expect(leases.lease!.metadata.annotations).to.deep.equal({ [KEY]: 'later', 'someone.else/keeps': 'this' });
    expect(events).to.deep.equal(['inherited from-before', 'started']);
  });

  it('writes a changed value at once rather than at the next renewal, a burst of changes costing at most one write per 500 ms', async () => {
    const events: string[] = [];
    const { kept, annotation: a } = annotation(events);
    let changed = () => {};
    const { clock, leases, elector, run } = setUp({ annotations: [{ ...a, watch: (notify) => (changed = notify) }] });
    run();
    await settle();
    expect(elector.isLeader()).to.equal(true);
    await clock.advance(2_000); // a renewal: 2 s in
    const writesBefore = leases.writes.length;
    await clock.advance(700);
    kept.value = 'learned';
    changed();
    await settle();
    // 700 ms after the last renewal: written now, 1.3 s before the renewal would have come.
    expect(leases.writes.length - writesBefore).to.equal(1);
    expect(leases.lease!.metadata.annotations?.[KEY]).to.equal('learned');
    // A burst right after: held back until 500 ms after that write, then one write for all of it.
    for (let i = 0; i < 20; i++) {
      kept.value = `burst-${i}`;
      changed();
    }
    await settle();
    expect(leases.writes.length - writesBefore).to.equal(1);
    await clock.advance(500);
    expect(leases.writes.length - writesBefore).to.equal(2);
    expect(leases.lease!.metadata.annotations?.[KEY]).to.equal('burst-19');
    // Then the renewals go on every retry period as before.
    await clock.advance(2_000);
    expect(leases.writes.length - writesBefore).to.equal(3);
    await elector.stop();
  });

  it('a standby ignores changes: nothing is written until it leads', async () => {
    const events: string[] = [];
    const { kept, annotation: a } = annotation(events);
    let changed = () => {};
    const { clock, leases, elector, run } = setUp({ annotations: [{ ...a, watch: (notify) => (changed = notify) }] });
    leases.hold('other');
    run();
    await settle();
    const writesBefore = leases.writes.length;
    kept.value = 'learned';
    changed();
    await clock.advance(1_000);
    leases.renew();
    await clock.advance(1_000);
    expect(elector.isLeader()).to.equal(false);
    expect(leases.writes.length).to.equal(writesBefore);
    await elector.stop();
  });

  it('writes its value when it creates the Lease, and inherits nothing then', async () => {
    const events: string[] = [];
    const { kept, annotation: a } = annotation(events);
    kept.value = 'at-start';
    const { leases, elector, run } = setUp({ annotations: [a] });
    run();
    await settle();
    expect(elector.isLeader()).to.equal(true);
    expect(leases.lease!.metadata.annotations).to.deep.equal({ [KEY]: 'at-start' });
    expect(events).to.deep.equal([]);
    await elector.stop();
  });

  it('inherits from a released Lease, and from its own earlier self never', async () => {
    const events: string[] = [];
    const { annotation: a } = annotation(events);
    const { clock, leases, elector, run } = setUp({ annotations: [a] });
    leases.hold('other');
    leases.lease!.spec.holderIdentity = null;
    leases.lease!.metadata.annotations = { [KEY]: 'released-with' };
    run();
    await settle();
    expect(events).to.deep.equal(['inherited released-with']);
    for (let i = 0; i < 3; i++) await clock.advance(2_000);
    expect(events).to.deep.equal(['inherited released-with']);
    await elector.stop();
  });
});

describe('leader election timings', () => {
  const cases: [string, Partial<LeaderElectionTimings>, RegExp | undefined][] = [
    ["client-go's defaults", {}, undefined],
    ['a renew deadline just above 1.2 retry periods', { renewDeadlineMs: 2_401 }, undefined],
    ['a lease duration equal to the renew deadline', { leaseDurationMs: 10_000 }, /leaseDurationMs \(10000 ms\) must be greater than renewDeadlineMs \(10000 ms\)/],
    ['a lease duration below the renew deadline', { leaseDurationMs: 5_000 }, /leaseDurationMs \(5000 ms\) must be greater than renewDeadlineMs/],
    ['a renew deadline of exactly 1.2 retry periods', { renewDeadlineMs: 2_400 }, /renewDeadlineMs \(2400 ms\) must be greater than 1.2 × retryPeriodMs \(2000 ms\)/],
    ['a retry period longer than the renew deadline', { retryPeriodMs: 12_000 }, /renewDeadlineMs \(10000 ms\) must be greater than 1.2 × retryPeriodMs/],
    ['a zero retry period', { retryPeriodMs: 0 }, /retryPeriodMs \(0 ms\) must be greater than zero/],
    ['a negative lease duration', { leaseDurationMs: -1 }, /leaseDurationMs \(-1 ms\) must be greater than zero/],
    ['a renew deadline that is not a number', { renewDeadlineMs: Number.NaN }, /renewDeadlineMs \(NaN ms\) must be greater than zero/],
  ];
  for (const [what, timings, problem] of cases) {
    it(`${problem ? 'refuses' : 'accepts'} ${what}`, () => {
      const all = { ...DEFAULT_LEADER_ELECTION_TIMINGS, ...timings };
      const create = () => new LeaderElector({ client: new FakeLeases(new FakeClock()), namespace: NAMESPACE, name: NAME, identity: 'me', logger: pino({ level: 'silent' }), ...all });
      if (problem) {
        expect(leaderElectionTimingsProblem(all)).to.match(problem);
        expect(create).to.throw(Error, /^leader election: /);
        expect(create).to.throw(Error, problem);
      } else {
        expect(leaderElectionTimingsProblem(all)).to.equal(undefined);
        expect(create).not.to.throw();
      }
    });
  }

  it('shows the timings as the caller labels them', () => {
    const label = (key: keyof LeaderElectionTimings) => ({ leaseDurationMs: '--lease=1s', renewDeadlineMs: '--renew=1s', retryPeriodMs: '--retry=100ms' })[key];
    expect(leaderElectionTimingsProblem({ leaseDurationMs: 1_000, renewDeadlineMs: 1_000, retryPeriodMs: 100 }, label)).to.equal('--lease=1s must be greater than --renew=1s');
  });
});

/** Several Leases by name, kept as the API server would (404, 409), shared by several electors. */
class FakeLeaseSet implements LeaseClient {
  readonly leases = new Map<string, Lease>();
  private version = 0;
  private static nameOf(path: string): string {
    return path.split('/').pop()!;
  }

  get<T>(path: string): Promise<T> {
    const lease = this.leases.get(FakeLeaseSet.nameOf(path));
    return lease ? Promise.resolve(structuredClone(lease) as T) : Promise.reject(apiError(404, 'NotFound'));
  }

  create<T>(_path: string, body: unknown): Promise<T> {
    const lease = structuredClone(body) as Lease;
    if (this.leases.has(lease.metadata.name)) return Promise.reject(apiError(409, 'AlreadyExists'));
    lease.metadata.resourceVersion = String(++this.version);
    this.leases.set(lease.metadata.name, lease);
    return Promise.resolve(structuredClone(lease) as T);
  }

  replace<T>(path: string, body: unknown): Promise<T> {
    const next = structuredClone(body) as Lease;
    const name = FakeLeaseSet.nameOf(path);
    if (next.metadata.resourceVersion !== this.leases.get(name)?.metadata.resourceVersion) return Promise.reject(apiError(409, 'Conflict'));
    next.metadata.resourceVersion = String(++this.version);
    this.leases.set(name, next);
    return Promise.resolve(structuredClone(next) as T);
  }

  holders(): Record<string, string | null | undefined> {
    return Object.fromEntries([...this.leases].map(([name, l]) => [name, l.spec.holderIdentity]));
  }
}

describe('LeaderElector over several Leases (hash ranges)', () => {
  const RANGES = ['gso-shard-0-of-2', 'gso-shard-1-of-2'];

  function candidate(leases: FakeLeaseSet, clock: FakeClock, identity: string, random: () => number) {
    const won: string[] = [];
    const elector = new LeaderElector({ client: leases, namespace: NAMESPACE, name: 'gso', names: RANGES, identity, logger: pino({ level: 'silent' }), clock, random });
    void elector.run((lease) => won.push(lease), () => won.push('lost'));
    return { elector, won };
  }

  it('gives each of n candidates a different Lease, from its random offset, and leaves the rest standing by holding none', async () => {
    const clock = new FakeClock(Date.parse('2030-01-01T00:00:00Z'));
    const leases = new FakeLeaseSet();
    // Random 0.9 starts at the second Lease: the first candidate takes range 1, not range 0.
    const a = candidate(leases, clock, 'a', () => 0.9);
    await settle();
    expect(a.won).to.deep.equal(['gso-shard-1-of-2']);
    const b = candidate(leases, clock, 'b', () => 0.9);
    await settle();
    const c = candidate(leases, clock, 'c', () => 0);
    for (let i = 0; i < 20; i++) await clock.advance(1_000);
    expect(b.won, 'b tried range 1 (held), then took range 0').to.deep.equal(['gso-shard-0-of-2']);
    expect(c.won, 'c holds nothing while both ranges are renewed').to.deep.equal([]);
    expect(leases.holders()).to.deep.equal({ 'gso-shard-1-of-2': 'a', 'gso-shard-0-of-2': 'b' });
    expect([a.elector.lease, b.elector.lease]).to.deep.equal(['gso-shard-1-of-2', 'gso-shard-0-of-2']);
    for (const { elector } of [a, b, c]) await elector.stop();
  });

  it('takes the range whose holder stopped renewing, one lease duration after it last saw it change, and only that one', async () => {
    const clock = new FakeClock(Date.parse('2030-01-01T00:00:00Z'));
    const leases = new FakeLeaseSet();
    const a = candidate(leases, clock, 'a', () => 0);
    await settle();
    const b = candidate(leases, clock, 'b', () => 0);
    const c = candidate(leases, clock, 'c', () => 0);
    await clock.advance(3_000);
    expect([a.won, b.won, c.won]).to.deep.equal([['gso-shard-0-of-2'], ['gso-shard-1-of-2'], []]);
    // a's process dies (SIGKILL): its Lease is neither renewed nor released.
    const dead = leases.leases.get('gso-shard-0-of-2')!.spec.renewTime;
    (a.elector as unknown as { stopped: boolean }).stopped = true;
    for (let i = 0; i < 10; i++) await clock.advance(1_000);
    expect(c.won, 'not before the lease duration').to.deep.equal([]);
    for (let i = 0; i < 10; i++) await clock.advance(1_000);
    expect(c.won).to.deep.equal(['gso-shard-0-of-2']);
    expect(leases.leases.get('gso-shard-0-of-2')!.spec.renewTime).to.not.equal(dead);
    expect(leases.holders()).to.deep.equal({ 'gso-shard-0-of-2': 'c', 'gso-shard-1-of-2': 'b' });
    expect(b.won, 'b kept its own range').to.deep.equal(['gso-shard-1-of-2']);
    for (const { elector } of [b, c]) await elector.stop();
    expect(leases.holders(), 'each released what it held').to.deep.equal({ 'gso-shard-0-of-2': null, 'gso-shard-1-of-2': null });
  });
});
