// The check mode's verdicts on what the API server returns (the process itself, against the real
// API server, is tested in test/integration/check-mode.test.ts).
import { expect } from 'chai';
import { GalleryShareKind, SharedImageVMKind, TenantGrantKind } from '../../src/api/v1alpha1/index.js';
import { checkedLeaseNames, crdConditionProblem, discoveryProblems } from '../../src/check.js';

describe('check mode verdicts', () => {
  const crd = (conditions: { type: string; status: string; message?: string }[], served = true) => ({ spec: { versions: [{ name: 'v1alpha1', served }] }, status: { conditions } });
  const established = { type: 'Established', status: 'True' };

  it('accepts an Established CRD serving the version', () => {
    expect(crdConditionProblem('x.galleryshare.io', crd([established, { type: 'NamesAccepted', status: 'True' }]), 'v1alpha1')).to.equal(undefined);
  });

  it('names a CRD not yet Established, with names in conflict, or not serving the version', () => {
    expect(crdConditionProblem('x.galleryshare.io', crd([]), 'v1alpha1')).to.equal('x.galleryshare.io is not Established');
    expect(crdConditionProblem('x.galleryshare.io', crd([{ type: 'Established', status: 'False', message: 'not all names are accepted' }]), 'v1alpha1')).to.equal('x.galleryshare.io is not Established (not all names are accepted)');
    expect(crdConditionProblem('x.galleryshare.io', crd([established, { type: 'NamesAccepted', status: 'False', message: '"gs" is already in use' }]), 'v1alpha1')).to.include('names are not accepted ("gs" is already in use)');
    expect(crdConditionProblem('x.galleryshare.io', crd([established], false), 'v1alpha1')).to.equal('x.galleryshare.io does not serve v1alpha1');
  });

  it('names the resources and status subresources API discovery does not list', () => {
    const kinds = [GalleryShareKind, TenantGrantKind, SharedImageVMKind];
    const all = kinds.flatMap((k) => [{ name: k.plural }, { name: `${k.plural}/status` }]);
    expect(discoveryProblems(all, kinds)).to.deep.equal([]);
    expect(discoveryProblems(all.filter((r) => r.name !== 'tenantgrants/status'), kinds)).to.deep.equal(['API discovery of galleryshare.io/v1alpha1 does not list tenantgrants/status']);
    expect(discoveryProblems(undefined, kinds)[0]).to.include('galleryshares, galleryshares/status, tenantgrants');
  });

  it('checks the leader Lease, or with hash-range sharding every range Lease (the leader Lease then never exists)', () => {
    expect(checkedLeaseNames({ leaderElectionId: 'gso', shardCount: 0 })).to.deep.equal(['gso']);
    expect(checkedLeaseNames({ leaderElectionId: 'gso', shardCount: 3 })).to.deep.equal(['gso-shard-0-of-3', 'gso-shard-1-of-3', 'gso-shard-2-of-3']);
  });
});
