// The informer against a fake ListerWatcher and a fake clock: the first list across pages, watch
// events reaching the cache, the handlers and the indexes, a relist on 410 Gone reported as
// differences, the watchdog restarting a silent watch, list and watch failures backing off as
// PerKeyBackoff says, and stop() while a watch is still connecting.
import { expect } from 'chai';
import pino from 'pino';
import { PerKeyBackoff, type BackoffOptions } from '../../src/runtime/backoff.js';
import { CombinedCache, Informer, objectKey, type KubeObject, type InformerOptions, type WatchRestartReason } from '../../src/runtime/informer.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { FakeListerWatcher } from '../support/fake-lister-watcher.js';

interface Pod extends KubeObject {
  spec: { node?: string };
}

const logger = pino({ level: 'silent' });
const pod = (name: string, resourceVersion: string, node?: string, namespace = 'ns'): Pod => ({ metadata: { namespace, name, resourceVersion }, spec: { node } });
const byNode = (p: Pod) => (p.spec.node ? [p.spec.node] : []);
const names = (pods: Pod[]) => pods.map((p) => p.metadata.name).sort();
const BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 1_000, jitter: 0 };

function setUp(options: Partial<InformerOptions<Pod>> = {}) {
  const clock = new FakeClock();
  const lw = new FakeListerWatcher<Pod>();
  const events: string[] = [];
  const restarts: WatchRestartReason[] = [];
  const informer = new Informer<Pod>({
    listerWatcher: lw,
    logger,
    clock,
    random: () => 0,
    backoff: BACKOFF,
    watchTimeoutSeconds: 10,
    stallGraceMs: 5_000,
    onWatchRestart: (reason) => restarts.push(reason),
    ...options,
  });
  informer.addIndex('node', byNode);
  informer.onChange((event, obj) => events.push(`${event}:${obj.metadata.name}`));
  return { clock, lw, informer, events, restarts };
}

describe('Informer', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  it('lists every page before it is synced, then watches from the list', async () => {
    const { lw, informer, events } = setUp({ listPageSize: 2 });
    stop = () => informer.stop();
    lw.objects = ['a', 'b', 'c', 'd', 'e'].map((n) => pod(n, '5', 'n1'));
    lw.resourceVersion = '42';
    await informer.start();
    expect(informer.hasSynced()).to.equal(true);
    expect(lw.lists).to.deep.equal([{ limit: 2, continue: undefined }, { limit: 2, continue: '2' }, { limit: 2, continue: '4' }]);
    expect(informer.keys()).to.deep.equal(['ns/a', 'ns/b', 'ns/c', 'ns/d', 'ns/e']);
    expect(events).to.deep.equal(['added:a', 'added:b', 'added:c', 'added:d', 'added:e']);
    expect(names(informer.byIndex('node', 'n1'))).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
    await settle();
    expect(lw.watches.map((w) => w.options)).to.deep.equal([{ resourceVersion: '42', timeoutSeconds: 10 }]);
  });

  it('applies watch events to the cache, the handlers and the indexes, and resumes from the latest resourceVersion', async () => {
    const { lw, informer, events, restarts } = setUp();
    stop = () => informer.stop();
    lw.objects = [pod('a', '1', 'n1')];
    await informer.start();
    await settle();
    const watch = lw.current;
    watch.added(pod('b', '2', 'n1'));
    watch.modified(pod('a', '3', 'n2'));
    expect(names(informer.byIndex('node', 'n1'))).to.deep.equal(['b']);
    expect(names(informer.byIndex('node', 'n2'))).to.deep.equal(['a']);
    watch.deleted(pod('b', '4', 'n1'));
    watch.bookmark('7');
    expect(informer.keys()).to.deep.equal(['ns/a']);
    expect(informer.get('ns/a')?.spec.node).to.equal('n2');
    expect(informer.byIndex('node', 'n1')).to.deep.equal([]);
    expect(events).to.deep.equal(['added:a', 'added:b', 'updated:a', 'deleted:b']);

    watch.end();
    await settle();
    expect(restarts).to.deep.equal(['ended']);
    expect(lw.current.options.resourceVersion, 'from the bookmark').to.equal('7');
    expect(lw.lists, 'no relist for a watch that ended').to.have.length(1);
  });

  for (const [how, gone] of [
    ['an ERROR event with code 410', (w: FakeListerWatcher<Pod>['current']) => w.error(410)],
    ['a watch request answered 410', (w: FakeListerWatcher<Pod>['current']) => w.end(Object.assign(new Error('Gone'), { statusCode: 410 }))],
  ] as const) {
    it(`relists on ${how} and reports what changed meanwhile, deletions included`, async () => {
      const { lw, informer, events, restarts } = setUp();
      stop = () => informer.stop();
      lw.objects = [pod('kept', '1', 'n1'), pod('changed', '1', 'n1'), pod('deleted', '1', 'n1')];
      await informer.start();
      await settle();
      lw.objects = [pod('kept', '1', 'n1'), pod('changed', '8', 'n2'), pod('created', '9', 'n1')];
      lw.resourceVersion = '10';
      gone(lw.current);
      await settle();
      expect(restarts).to.deep.equal(['gone']);
      expect(lw.lists).to.have.length(2);
      expect(events.slice(3)).to.deep.equal(['deleted:deleted', 'updated:changed', 'added:created']);
      expect(names(informer.list())).to.deep.equal(['changed', 'created', 'kept']);
      expect(names(informer.byIndex('node', 'n1'))).to.deep.equal(['created', 'kept']);
      expect(names(informer.byIndex('node', 'n2'))).to.deep.equal(['changed']);
      expect(lw.current.options.resourceVersion).to.equal('10');
    });
  }

  it('restarts a watch that stays silent past its timeout and the grace, and ignores what it sends later', async () => {
    const { clock, lw, informer, restarts } = setUp();
    stop = () => informer.stop();
    await informer.start();
    await settle();
    const silent = lw.current;
    await clock.advance(10_000);
    silent.added(pod('early', '2')); // re-arms the watchdog
    await clock.advance(14_999);
    expect(silent.aborted, 'not before timeout + grace since the last event').to.equal(false);
    await clock.advance(1);
    expect(silent.aborted).to.equal(true);
    expect(restarts).to.deep.equal(['stalled']);
    expect(lw.watches).to.have.length(2);
    expect(lw.current.options.resourceVersion).to.equal('2');
    silent.added(pod('late', '3'));
    expect(informer.get('ns/late'), 'a given-up watch never touches the cache').to.equal(undefined);
  });

  it('backs off failed lists as PerKeyBackoff says, and forgets once a list succeeds', async () => {
    const { clock, lw, informer } = setUp();
    stop = () => informer.stop();
    lw.listFailures = [1, 2, 3, 4, 5].map((n) => new Error(`list failure ${n}`));
    const listedAt: number[] = [];
    const list = lw.list.bind(lw);
    lw.list = (options) => {
      listedAt.push(clock.now());
      return list(options);
    };
    const started = informer.start();
    await clock.advance(60_000);
    await started;
    const expected = new PerKeyBackoff(BACKOFF);
    const delays = [1, 2, 3, 4, 5].map(() => expected.next('list'));
    expect(delays).to.deep.equal([100, 200, 400, 800, 1_000]);
    expect(listedAt).to.deep.equal([0, 100, 300, 700, 1_500, 2_500]);
    expect(informer.hasSynced()).to.equal(true);

    // After the success the next failure starts from the base again.
    lw.listFailures = [new Error('again')];
    lw.current.error(410);
    await clock.advance(60_000);
    expect(listedAt.slice(6)).to.deep.equal([60_000, 60_100]);
  });

  it('backs off failed watches, and a watch that ends at once without events, but not a healthy one', async () => {
    const { clock, lw, informer, restarts } = setUp();
    stop = () => informer.stop();
    await informer.start();
    await settle();
    const startedAt = () => lw.watches.length;
    lw.current.end(new Error('connection refused'));
    await settle();
    expect(startedAt(), 'waits before the next watch').to.equal(1);
    await clock.advance(100);
    expect(startedAt()).to.equal(2);
    lw.current.error(500, 'InternalError');
    await clock.advance(199);
    expect(startedAt()).to.equal(2);
    await clock.advance(1);
    expect(startedAt()).to.equal(3);
    lw.current.end(); // within a second and without an event: treated as a failure
    await clock.advance(399);
    expect(startedAt()).to.equal(3);
    await clock.advance(1);
    expect(startedAt()).to.equal(4);

    // A watch that lived its time resets the backoff: the next one starts at once.
    await clock.advance(5_000);
    lw.current.end();
    await settle();
    expect(startedAt()).to.equal(5);
    lw.current.end(new Error('reset by peer'));
    await clock.advance(100);
    expect(startedAt(), 'back to the base delay').to.equal(6);
    expect(restarts).to.deep.equal(['error', 'error', 'ended', 'ended', 'error']);
  });

  it('stop() ends a watch that is still connecting, and nothing reaches the cache afterwards', async () => {
    const { clock, lw, informer } = setUp();
    await informer.start();
    await settle();
    const connecting = lw.current;
    await informer.stop();
    expect(connecting.aborted).to.equal(true);
    connecting.added(pod('after-stop', '5'));
    connecting.end();
    expect(informer.keys()).to.deep.equal([]);
    await clock.advance(60_000);
    expect(lw.watches, 'no new watch after stop').to.have.length(1);
    expect(clock.pending(), 'no timer left behind').to.equal(0);
  });

  it('stop() wakes a backoff wait and a start() still waiting for its first list', async () => {
    const { clock, lw, informer } = setUp();
    lw.listFailures = [new Error('down')];
    const started = informer.start();
    await settle();
    await informer.stop();
    await started;
    expect(informer.hasSynced()).to.equal(false);
    expect(lw.lists).to.have.length(1);
    expect(clock.pending()).to.equal(0);
  });
});

describe('informer indexes', () => {
  it('files objects already cached when an index is added, and keeps several values per object', async () => {
    const { lw, informer } = setUp();
    lw.objects = [pod('a', '1', 'n1'), pod('b', '1', 'n2')];
    await informer.start();
    const both = (p: ReturnType<typeof pod>) => ['all', p.spec.node ?? 'none', 'all'];
    informer.addIndex('both', both);
    // Two controllers that need the same index on one shared cache both add it.
    informer.addIndex('both', both);
    expect(names(informer.byIndex('both', 'all'))).to.deep.equal(['a', 'b']);
    expect(names(informer.byIndex('both', 'n2'))).to.deep.equal(['b']);
    expect(() => informer.addIndex('both', byNode)).to.throw(/already exists/);
    expect(() => informer.byIndex('missing', 'x')).to.throw(/no index named missing/);
    await informer.stop();
  });

  it('leaves out of an index an object whose index function throws, and keeps it in the cache', async () => {
    const { lw, informer } = setUp();
    informer.addIndex('strict', (p) => {
      if (!p.spec.node) throw new Error('no node');
      return [p.spec.node];
    });
    lw.objects = [pod('scheduled', '1', 'n1'), pod('pending', '1')];
    await informer.start();
    expect(informer.keys()).to.have.length(2);
    expect(names(informer.byIndex('strict', 'n1'))).to.deep.equal(['scheduled']);
    await informer.stop();
  });

  it('are read across namespaces through a CombinedCache', async () => {
    const one = setUp();
    const two = setUp();
    one.lw.objects = [pod('a', '1', 'n1', 'one')];
    two.lw.objects = [pod('b', '1', 'n1', 'two'), pod('c', '1', 'n2', 'two')];
    const combined = new CombinedCache([one.informer, two.informer]);
    combined.addIndex('combined', (p) => [p.spec.node ?? '']);
    await Promise.all([one.informer.start(), two.informer.start()]);
    expect(combined.byIndex('node', 'n1').map(objectKey).sort()).to.deep.equal(['one/a', 'two/b']);
    expect(combined.byIndex('combined', 'n2').map(objectKey)).to.deep.equal(['two/c']);
    await Promise.all([one.informer.stop(), two.informer.stop()]);
  });
});
