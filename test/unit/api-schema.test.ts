// The API source generates what is committed, and what it generates is a structural schema that
// Kubernetes accepts: every node typed, every field described, no constructs a structural schema
// forbids, and the identity fields guarded by immutability rules.
import { expect } from 'chai';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_KINDS, customResourceDefinition } from '../../src/api/v1alpha1/index.js';
import { generatedFiles, repositoryRoot } from '../../scripts/generated-files.js';

interface Node {
  type?: string;
  description?: string;
  properties?: Record<string, Node>;
  items?: Node;
  'x-kubernetes-validations'?: { rule: string; message: string }[];
  [key: string]: unknown;
}

function specAndStatus(kind: (typeof ALL_KINDS)[number]): Node {
  const crd = customResourceDefinition(kind) as { spec: { versions: { schema: { openAPIV3Schema: Node } }[] } };
  return crd.spec.versions[0]!.schema.openAPIV3Schema;
}

function walk(node: Node, path: string, visit: (node: Node, path: string) => void): void {
  visit(node, path);
  for (const [name, child] of Object.entries(node.properties ?? {})) walk(child, `${path}.${name}`, visit);
  if (node.items) walk(node.items, `${path}[]`, visit);
}

describe('API schema source', () => {
  it('matches every committed generated file (run `npm run generate` when this fails)', () => {
    const stale: string[] = [];
    for (const [rel, content] of generatedFiles()) {
      const abs = join(repositoryRoot, rel);
      if (!existsSync(abs) || readFileSync(abs, 'utf8') !== content) stale.push(rel);
    }
    expect(stale).to.deep.equal([]);
  });

  for (const kind of ALL_KINDS) {
    describe(kind.kind, () => {
      const root = specAndStatus(kind);

      it('types every node and describes every field', () => {
        const problems: string[] = [];
        walk(root, kind.kind, (node, path) => {
          if (!node.type) problems.push(`${path}: no type`);
          if (path !== `${kind.kind}.metadata` && !node.description?.trim()) problems.push(`${path}: no description`);
        });
        expect(problems).to.deep.equal([]);
      });

      it('uses nothing a structural schema forbids', () => {
        const forbidden = ['anyOf', 'oneOf', 'allOf', 'not', 'const', '$id', '$ref', 'patternProperties'];
        const problems: string[] = [];
        walk(root, kind.kind, (node, path) => {
          for (const key of forbidden) if (key in node) problems.push(`${path}: ${key}`);
          // A map (additionalProperties with a typed schema) is structural; next to properties, or
          // as a boolean, it is not.
          const extra = (node as { additionalProperties?: unknown }).additionalProperties;
          if (extra !== undefined && (typeof extra !== 'object' || 'properties' in node || !(extra as { type?: string }).type)) problems.push(`${path}: additionalProperties`);
        });
        expect(problems).to.deep.equal([]);
      });

      it('gives every CEL rule a message a person can read', () => {
        walk(root, kind.kind, (node, path) => {
          for (const rule of node['x-kubernetes-validations'] ?? []) {
            expect(rule.message, `${path}: ${rule.rule}`).to.be.a('string');
            expect(rule.message, `${path}: a message, not a regex`).not.to.match(/\^|\$|\[A-Z/);
          }
        });
      });
    });
  }

  it('makes the identity fields immutable', () => {
    const immutablePaths: Record<string, string[]> = {
      GalleryShare: ['GalleryShare.spec.gallery'],
      TenantGrant: [
        'TenantGrant.spec.application.clientId',
        'TenantGrant.spec.source.tenantId',
        'TenantGrant.spec.source.gallery',
        'TenantGrant.spec.target.tenantId',
        'TenantGrant.spec.target.subscriptionId',
        'TenantGrant.spec.target.resourceGroup',
      ],
      SharedImageVM: ['SharedImageVM.spec.subscriptionId', 'SharedImageVM.spec.resourceGroup', 'SharedImageVM.spec.location', 'SharedImageVM.spec.scaleSet.orchestrationMode', 'SharedImageVM.spec.adminUsername'],
    };
    for (const kind of ALL_KINDS) {
      const found: string[] = [];
      walk(specAndStatus(kind), kind.kind, (node, path) => {
        if (node['x-kubernetes-validations']?.some((r) => r.rule === 'self == oldSelf')) found.push(path);
      });
      expect(found, kind.kind).to.have.members(immutablePaths[kind.kind]!);
    }
  });

  it('defaults deletionPolicy to Delete on every kind', () => {
    for (const kind of ALL_KINDS) {
      const policy = specAndStatus(kind).properties!.spec!.properties!.deletionPolicy!;
      expect(policy.default).to.equal('Delete');
      expect(policy.enum).to.deep.equal(['Delete', 'Orphan']);
    }
  });
});
