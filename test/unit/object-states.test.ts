// galleryshare_objects: each object's state as kstatus reads its conditions, counted from the
// caches at scrape time, and exported only while the process leads.
import { expect } from 'chai';
import type { Condition } from '../../src/runtime/conditions.js';
import { countObjectStates, objectState, type StatusBearing } from '../../src/runtime/kstatus.js';
import { OperatorMetrics } from '../../src/runtime/metrics.js';

const condition = (type: string, status: Condition['status'], reason = 'Test'): Condition => ({ type, status, reason, message: '', lastTransitionTime: '2026-11-30T00:00:00Z', observedGeneration: 1 });
const obj = (conditions: Condition[] | undefined, extra: { generation?: number; observedGeneration?: number; deleting?: boolean } = {}): StatusBearing => ({
  metadata: { generation: extra.generation ?? 1, ...(extra.deleting ? { deletionTimestamp: '2026-11-30T00:00:00Z' } : {}) },
  status: conditions === undefined && extra.observedGeneration === undefined ? undefined : { observedGeneration: extra.observedGeneration ?? 1, ...(conditions ? { conditions } : {}) },
});

const ready = () => obj([condition('Ready', 'True')]);
const reconciling = () => obj([condition('Ready', 'False'), condition('Reconciling', 'True')]);
const stalled = () => obj([condition('Ready', 'False'), condition('Stalled', 'True')]);

/** The samples of galleryshare_objects in the text exposition, as "kind/state": value. */
async function scrape(metrics: OperatorMetrics): Promise<Record<string, number>> {
  const text = await metrics.registry.metrics();
  const samples: Record<string, number> = {};
  for (const m of text.matchAll(/^galleryshare_objects\{kind="([^"]+)",state="([^"]+)"\} (\S+)$/gm)) samples[`${m[1]}/${m[2]}`] = Number(m[3]);
  return samples;
}

describe('object states (galleryshare_objects)', () => {
  it('reads each object as kstatus does: Stalled is stalled, Reconciling or a stale generation reconciling, Ready at the current generation ready', () => {
    expect(objectState(ready())).to.equal('ready');
    expect(objectState(reconciling())).to.equal('reconciling');
    expect(objectState(stalled())).to.equal('stalled');
    expect(objectState(obj([condition('Ready', 'True')], { generation: 2, observedGeneration: 1 })), 'spec changed since the last look').to.equal('reconciling');
    expect(objectState(obj([condition('Ready', 'False'), condition('Stalled', 'True')], { generation: 2, observedGeneration: 1 })), 'kstatus: a stale generation is InProgress').to.equal('reconciling');
  });

  it('counts an object with no status yet, or no Ready condition, as reconciling, not ready', () => {
    expect(objectState(obj(undefined, { observedGeneration: -1 })), 'the CRD default status').to.equal('reconciling');
    expect(objectState({ metadata: { generation: 1 } }), 'no status at all (kstatus says Current)').to.equal('reconciling');
    expect(objectState(obj([condition('Ready', 'False')])), 'Ready False with nothing else').to.equal('reconciling');
  });

  it('counts a deletion as reconciling unless it is Stalled, so that a deletion waiting for a person alerts', () => {
    expect(objectState(obj([condition('Ready', 'True')], { deleting: true }))).to.equal('reconciling');
    expect(objectState(obj([condition('Ready', 'False'), condition('Stalled', 'True')], { deleting: true }))).to.equal('stalled');
  });

  it('counts every state, zeros included', () => {
    expect(countObjectStates([ready(), ready(), stalled()])).to.deep.equal({ ready: 2, reconciling: 0, stalled: 1 });
    expect(countObjectStates([])).to.deep.equal({ ready: 0, reconciling: 0, stalled: 0 });
  });

  it('exports the counts of each kind at scrape time while leading, with zeros, and no series otherwise', async () => {
    const metrics = new OperatorMetrics({ processMetrics: false });
    expect(await scrape(metrics), 'nothing counted before a source is set').to.deep.equal({});
    expect(await metrics.registry.metrics(), 'the metric is described even without series').to.include('# TYPE galleryshare_objects gauge');

    let leading = false;
    const shares = [ready(), stalled()];
    const grants: StatusBearing[] = [];
    metrics.countObjectsFrom(() => (leading ? [{ kind: 'GalleryShare', objects: shares }, { kind: 'TenantGrant', objects: grants }] : undefined));
    expect(await scrape(metrics), 'a standby exports no series').to.deep.equal({});

    leading = true;
    expect(await scrape(metrics)).to.deep.equal({
      'GalleryShare/ready': 1, 'GalleryShare/reconciling': 0, 'GalleryShare/stalled': 1,
      'TenantGrant/ready': 0, 'TenantGrant/reconciling': 0, 'TenantGrant/stalled': 0,
    });

    // No bookkeeping: the next scrape reads the caches as they are then.
    shares.push(reconciling());
    shares[1] = ready();
    grants.push(stalled());
    expect(await scrape(metrics)).to.deep.equal({
      'GalleryShare/ready': 2, 'GalleryShare/reconciling': 1, 'GalleryShare/stalled': 0,
      'TenantGrant/ready': 0, 'TenantGrant/reconciling': 0, 'TenantGrant/stalled': 1,
    });

    leading = false;
    expect(await scrape(metrics), 'leadership gone: the series go too').to.deep.equal({});
  });
});
