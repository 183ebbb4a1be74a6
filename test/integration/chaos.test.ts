// The chaos run's short version (test/chaos/run.ts; `npm run chaos` is the long one): 20 objects
// of the three kinds, three replicas with leader election, two leader kills, one API server
// restart with etcd compacted while it is down and once more later, ARM faults (5xx, 429 with
// Retry-After, dropped connections, latency spikes) with ARM's token buckets on; edits and
// deletions while the faults run. The audit must find nothing and every object must be Ready.
// It starts a control plane of its own: the suite's global one cannot restart its API server.
import { expect } from 'chai';
import { AUDIT_TERMS } from '../chaos/audit.js';
import { formatReport, runChaos } from '../chaos/run.js';

describe('chaos run (short)', function () {
  // Three replicas, an API server, etcd and the emulator share two cores here: generous lease
  // timings, and no timing is asserted.
  this.timeout(360_000);

  it('loses nothing under leader kills, an API server restart, compaction and ARM faults: every audit term zero, every object Ready', async () => {
    const lines: string[] = [];
    const report = await runChaos({
      galleryShares: 12,
      tenantGrants: 4,
      sharedImageVMs: 4,
      replicas: 3,
      seed: 12,
      leaseSeconds: 12,
      renewSeconds: 8,
      retrySeconds: 2,
      killIntervalSeconds: 25,
      faultSeconds: 60,
      editFraction: 0.15,
      deleteFraction: 0.15,
      serverErrorRate: 0.05,
      throttleRate: 0.02,
      dropRate: 0.02,
      latencyRate: 0.03,
      latencySpikeMs: 3000,
      lroMs: 500,
      workers: 10,
      convergeTimeoutSeconds: 150,
      log: (line) => lines.push(line),
    });
    const text = `${formatReport(report)}\n\nrun log:\n${lines.join('\n')}`;
    // The faults happened.
    expect(report.figures.leaderKills, text).to.be.at.least(2);
    expect(report.figures.apiserverRestarts, text).to.equal(1);
    expect(report.figures.etcdCompactions, text).to.equal(2);
    expect(report.figures.replicaRestarts, text).to.be.at.least(2);
    expect(report.figures.injected5xx + report.figures.injected429 + report.figures.injectedDrops + report.figures.injectedLatency, text).to.be.greaterThan(0);
    expect(report.figures.edited, text).to.be.greaterThan(0);
    expect(report.figures.deleted, text).to.be.greaterThan(0);
    // Nothing was lost.
    expect(report.figures.convergeAfterLastFaultSeconds, text).to.not.equal(null);
    for (const [term, label] of AUDIT_TERMS) expect(report.audit[term], `${label}\n${text}`).to.equal(0);
  });
});
