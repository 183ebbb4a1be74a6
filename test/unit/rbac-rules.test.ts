// The operator's RBAC is derived from the controllers it registers: what a reconciled kind needs,
// get/list/watch for a kind only read, nothing for a kind without a controller, and Secrets only
// by get (a list or watch would let the operator read every Secret in the cluster).
import { expect } from 'chai';
import { GalleryShareKind, SharedImageVMKind, TenantGrantKind } from '../../src/api/v1alpha1/index.js';
import type { ControllerRegistration } from '../../src/controllers/index.js';
import { CLUSTER_RULES, CLUSTER_SCOPED_RULES, clusterRules, leaderElectionRules, NAMESPACED_RULES } from '../../src/deploy/rbac.js';

const registration = (kind: ControllerRegistration['kind'], reads: ControllerRegistration['reads'] = []): ControllerRegistration => ({ kind, reads, register: () => {} });

describe('RBAC derived from the registered controllers', () => {
  it('today: all three kinds reconciled, each with its status and its CRD by name', () => {
    const resources = CLUSTER_RULES.flatMap((r) => r.resources);
    expect(resources).to.include.members(['galleryshares', 'galleryshares/status', 'tenantgrants', 'tenantgrants/status', 'sharedimagevms', 'sharedimagevms/status', 'secrets', 'events', 'customresourcedefinitions']);
    const crdNames = CLUSTER_RULES.find((r) => r.resources.includes('customresourcedefinitions'))?.resourceNames;
    expect(crdNames).to.have.members(['galleryshares.galleryshare.io', 'tenantgrants.galleryshare.io', 'sharedimagevms.galleryshare.io']);
  });

  it('a reconciled kind gets get/list/watch/patch and status update; a kind only read gets get/list/watch; its own CRD only by name', () => {
    const rules = clusterRules([registration(SharedImageVMKind, [TenantGrantKind])]);
    expect(rules).to.deep.include({ apiGroups: ['galleryshare.io'], resources: ['sharedimagevms'], verbs: ['get', 'list', 'watch', 'patch'] });
    expect(rules).to.deep.include({ apiGroups: ['galleryshare.io'], resources: ['sharedimagevms/status'], verbs: ['update'] });
    expect(rules).to.deep.include({ apiGroups: ['galleryshare.io'], resources: ['tenantgrants'], verbs: ['get', 'list', 'watch'] });
    expect(rules).to.deep.include({ apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['get'], resourceNames: ['sharedimagevms.galleryshare.io'] });
    expect(rules.flatMap((r) => r.resources)).not.to.include('galleryshares');
  });

  it('a kind both reconciled by one controller and read by another gets the reconciler\'s rules once', () => {
    const rules = clusterRules([registration(GalleryShareKind), registration(TenantGrantKind, [GalleryShareKind])]);
    expect(rules.filter((r) => r.resources.includes('galleryshares'))).to.have.length(1);
  });

  it('Secrets only by get, and nothing cluster-wide beyond what is listed', () => {
    for (const rules of [CLUSTER_RULES, clusterRules([])]) {
      expect(rules.filter((r) => r.resources.includes('secrets'))).to.deep.equal([{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
      for (const rule of rules) expect(rule.verbs).not.to.include.members(['delete', 'deletecollection', '*']);
    }
  });

  it('split by scope for watched namespaces: every rule once, only the CRDs cluster-wide', () => {
    expect([...NAMESPACED_RULES, ...CLUSTER_SCOPED_RULES]).to.have.deep.members(CLUSTER_RULES);
    expect(CLUSTER_SCOPED_RULES.flatMap((r) => r.resources)).to.deep.equal(['customresourcedefinitions']);
    expect(NAMESPACED_RULES.flatMap((r) => r.resources)).not.to.include('customresourcedefinitions');
  });

  it('the Lease by name, or with hash ranges the range Leases by name; create unrestricted, as Kubernetes allows no name there', () => {
    const create = { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] };
    expect(leaderElectionRules('gso')).to.deep.equal([create, { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update'], resourceNames: ['gso'] }]);
    expect(leaderElectionRules('gso', 3)).to.deep.equal([
      create,
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update'], resourceNames: ['gso-shard-0-of-3', 'gso-shard-1-of-3', 'gso-shard-2-of-3'] },
    ]);
  });
});
