// The image check of a SharedImageVM, decided from what the image reads saw (azure/images.ts),
// before anything is made: which version Azure will use (`latest` resolved as Azure resolves
// it), whether the image fits the spec and the size, and the computer name a VM gets. Pure:
// same answers for the same inputs, no clock read (`now` is passed in), no I/O.
import { createHash } from 'node:crypto';
import type { SharedImageVMSpec } from '../../api/v1alpha1/sharedimagevm.js';
import { latestCandidates, normalizeRegion, type ObservedImage, type RequestedVersion } from '../../azure/images.js';

// ---- version resolution ----

export type MissingVersion = 'NoVersion' | 'NotInRegion' | 'Replicating';

export type ResolvedVersion = { version: string } | { missing: MissingVersion; message: string };

/**
 * The version a VM in `location` gets, as Azure resolves it.
 *
 * `latest`: the highest Major.Minor.Patch (compared as numbers) not excluded from latest,
 * globally or for the region, and available in the region: for an RBAC id (image.source 'id'),
 * replication to the region Completed; for shared and community references, listed at the
 * location (the consumer APIs list nothing else, and show no replication). A newer version still
 * replicating is skipped when an older one is ready, as Azure does.
 *
 * A named version: that one, if it exists (for consumer references: if it is listed at the
 * location; they cannot tell "does not exist" from "does not target the region") and, for an RBAC
 * id, targets the region and has finished replicating there.
 *
 * Missing: NoVersion (nothing to resolve to; a person must publish or name a version),
 * NotInRegion (the image owner must add the region; also replication that Failed there),
 * Replicating (wait: replication is under way, or its state is not known yet).
 * `imageLabel` names the image in messages (such as the reference as the user wrote it).
 */
export function resolveVersion(image: ObservedImage, requested: RequestedVersion, location: string, imageLabel = 'the image'): ResolvedVersion {
  const region = normalizeRegion(location);
  const consumer = image.source !== 'id';
  const askOwner = `Ask the image owner to replicate it to ${region} (add ${region} to the version's target regions), or choose another region or version.`;

  if (requested !== 'latest') {
    const version = image.versions.find((v) => v.name === requested);
    if (!version) {
      if (consumer) {
        return { missing: 'NotInRegion', message: `Version ${requested} of ${imageLabel} is not available in ${region}: it does not exist, or it does not target ${region}. ${askOwner}` };
      }
      return { missing: 'NoVersion', message: `Version ${requested} of ${imageLabel} does not exist. Name an existing version in spec.image, or ask the image owner to publish it.` };
    }
    if (consumer) return { version: version.name };
    const target = version.regions.find((r) => r.name === region);
    if (!target) return { missing: 'NotInRegion', message: `Version ${requested} of ${imageLabel} does not target ${region}. ${askOwner}` };
    switch (target.replication) {
      case 'Completed':
        return { version: version.name };
      case 'Failed':
        return { missing: 'NotInRegion', message: `Replication of version ${requested} of ${imageLabel} to ${region} failed. Ask the image owner to replicate it again (update the version's target regions).` };
      default:
        return { missing: 'Replicating', message: `Version ${requested} of ${imageLabel} is still replicating to ${region}; the VM is created once it is available there.` };
    }
  }

  const candidates = latestCandidates(image.versions, region);
  if (consumer) {
    if (candidates[0]) return { version: candidates[0].name };
    if (image.versions.length === 0) {
      return { missing: 'NotInRegion', message: `No version of ${imageLabel} is available in ${region}. ${askOwner}` };
    }
    return { missing: 'NoVersion', message: noLatest(imageLabel, region) };
  }
  const ready = candidates.find((v) => v.regions.find((r) => r.name === region)?.replication === 'Completed');
  if (ready) return { version: ready.name };
  const waiting = candidates.filter((v) => v.regions.find((r) => r.name === region)?.replication !== 'Failed');
  if (waiting.length > 0) {
    return { missing: 'Replicating', message: `The latest version of ${imageLabel} (${waiting[0]!.name}) is still replicating to ${region}; the VM is created once a version is available there.` };
  }
  if (candidates.length > 0) {
    return { missing: 'NotInRegion', message: `Replication of ${imageLabel} to ${region} failed for every version that could be latest. Ask the image owner to replicate it again (update the version's target regions).` };
  }
  const eligibleElsewhere = image.versions.some((v) => !v.excludeFromLatest && !v.regions.some((r) => r.name === region));
  const excludedHere = image.versions.some((v) => !v.excludeFromLatest && v.regions.some((r) => r.name === region && r.excludeFromLatest));
  if (eligibleElsewhere && !excludedHere) return { missing: 'NotInRegion', message: `No version of ${imageLabel} that could be latest targets ${region}. ${askOwner}` };
  return { missing: 'NoVersion', message: noLatest(imageLabel, region) };
}

function noLatest(imageLabel: string, region: string): string {
  return `${imageLabel} has no version that latest can resolve to in ${region}: every version is excluded from latest (globally or for ${region}), or there is none. Name a version in spec.image, or ask the image owner to publish one not excluded from latest.`;
}

// ---- sizes ----

export type SizeGenerations = 'V1' | 'V2' | 'both';

export interface SizeCapabilities {
  architecture: 'x64' | 'Arm64';
  /** The Hyper-V generations the size boots. */
  hyperVGenerations: SizeGenerations;
}

/**
 * What a VM size runs, from its name alone (Azure's naming convention:
 * `<tier>_<family><#vCPUs>[-<constrained>]<additive features>[_<accelerator>][_v<version>]`),
 * because asking resourceSkus per VM is expensive (a list of every size in the subscription).
 *
 * A simplification, conservative on purpose: where the name does not settle it, the answer is
 * x64 and 'both', so that no VM is refused wrongly (Azure still refuses at create, and that
 * refusal is reported as it comes). Settled by the name:
 * - Arm64: a lower-case 'p' among the additive features (Ampere Altra / Cobalt: Standard_D2ps_v5,
 *   Standard_E4pds_v5, Standard_D2pls_v6); Arm64 sizes boot Generation 2 only.
 * - Generation 1 only: Basic_A*, Standard_A* (A0-A11 and Av2), D v1 (Standard_D1-D14, no _v),
 *   Dv2 and Dv3 without premium storage (Standard_D2_v2, Standard_D2_v3: "cannot boot Hypervisor
 *   Generation '2'"), G (Standard_G1-G5; GS boots both).
 * - Generation 2 only: version 6 and later (Dsv6, Dasv6, Easv6, Fasv6, ...: NVMe, Gen2 only) and
 *   Mv2 (Standard_M208*_v2, Standard_M416*_v2).
 */
export function sizeCapabilities(size: string): SizeCapabilities {
  const m = /^(standard|basic)_([a-z]+)(\d+)(?:-\d+)?([a-z]*)(.*)$/i.exec(size);
  if (!m) return { architecture: 'x64', hyperVGenerations: 'both' };
  const tier = m[1]!.toLowerCase();
  const family = m[2]!.toLowerCase();
  const vcpus = Number(m[3]);
  const features = m[4]!.toLowerCase();
  const version = Number(/_v(\d+)$/i.exec(m[5]!)?.[1] ?? 1);
  if (features.includes('p')) return { architecture: 'Arm64', hyperVGenerations: 'V2' };
  const gen1Only =
    tier === 'basic' ||
    family === 'a' ||
    (family === 'd' && features === '' && version <= 3) ||
    family === 'g';
  if (gen1Only) return { architecture: 'x64', hyperVGenerations: 'V1' };
  const gen2Only = version >= 6 || (family === 'm' && (vcpus === 208 || vcpus === 416) && version === 2);
  return { architecture: 'x64', hyperVGenerations: gen2Only ? 'V2' : 'both' };
}

// ---- fit ----

export type ImageProblemReason =
  | 'ImageVersionNotFound'
  | 'ImageNotInRegion'
  | 'ImageReplicating'
  | 'SpecializedImageWithOsProfile'
  | 'GeneralizedImageNeedsAdmin'
  | 'SecurityTypeRequired'
  | 'SecurityTypeNotSupported'
  | 'HyperVGenerationMismatch'
  | 'ArchitectureMismatch';

/**
 * One reason the VM cannot be made now. `refused`: a person must change something (Stalled);
 * `waiting`: it passes by itself (Reconciling with bounded backoff): only ImageReplicating.
 */
export interface ImageProblem {
  reason: ImageProblemReason;
  kind: 'refused' | 'waiting';
  message: string;
}

export interface ImageWarning {
  reason: 'ImageVersionEndOfLife';
  message: string;
}

export interface ImageFit {
  /** Empty when the VM can be made. The version problems come first. */
  problems: ImageProblem[];
  /** Worth an event and a condition message, never a refusal. */
  warnings: ImageWarning[];
}

/** The parts of the spec the image check reads. */
export type ImageFitSpec = Pick<SharedImageVMSpec, 'location' | 'size' | 'adminUsername' | 'sshPublicKeys' | 'adminPasswordSecretRef' | 'securityType'>;

const refused = (reason: ImageProblemReason, message: string): ImageProblem => ({ reason, kind: 'refused', message });

/**
 * Whether the image (with the version resolveVersion chose) fits the spec and the size: every
 * problem found, each with a message that says what to do and who must do it, and the warnings.
 * `now` (ms since the epoch) dates the end-of-life warning.
 *
 * Security types (the definition's SecurityType feature; a spec without securityType is
 * Standard): TrustedLaunch and ConfidentialVM are required by images that declare them;
 * *Supported values allow Standard too. Trusted Launch and confidential VMs need Generation 2 (image and
 * size). A Gen2 image without the feature is not refused for TrustedLaunch (unsure whether Azure
 * allows it for every gallery image: the create tells).
 */
export function checkImageFit(spec: ImageFitSpec, image: ObservedImage, resolved: ResolvedVersion, size: SizeCapabilities, now: number): ImageFit {
  const problems: ImageProblem[] = [];
  const warnings: ImageWarning[] = [];
  const def = image.definition;

  if ('missing' in resolved) {
    if (resolved.missing === 'Replicating') problems.push({ reason: 'ImageReplicating', kind: 'waiting', message: resolved.message });
    else problems.push(refused(resolved.missing === 'NotInRegion' ? 'ImageNotInRegion' : 'ImageVersionNotFound', resolved.message));
  } else {
    const eol = image.versions.find((v) => v.name === resolved.version)?.endOfLifeDate;
    if (eol && Date.parse(eol) <= now) {
      warnings.push({ reason: 'ImageVersionEndOfLife', message: `Image version ${resolved.version} reached its end of life on ${eol}; the image owner may remove it. Move to a newer version (or latest) in spec.image.` });
    }
  }

  const osProfileFields = [spec.adminUsername !== undefined && 'adminUsername', spec.sshPublicKeys?.length && 'sshPublicKeys', spec.adminPasswordSecretRef && 'adminPasswordSecretRef'].filter((f): f is string => typeof f === 'string');
  if (def.osState.toLowerCase() === 'specialized') {
    if (osProfileFields.length > 0) {
      problems.push(refused('SpecializedImageWithOsProfile', `The image is specialized: it keeps its own accounts, and Azure refuses an OS profile with it. Remove ${osProfileFields.join(', ')} from the spec.`));
    }
  } else if (spec.adminUsername === undefined) {
    problems.push(refused('GeneralizedImageNeedsAdmin', `The image is generalized: Azure needs an administrator for the new VM. Set adminUsername and ${def.osType.toLowerCase() === 'windows' ? 'adminPasswordSecretRef' : 'sshPublicKeys or adminPasswordSecretRef'} in the spec.`));
  } else if (def.osType.toLowerCase() === 'windows' ? !spec.adminPasswordSecretRef : !spec.sshPublicKeys?.length && !spec.adminPasswordSecretRef) {
    const needs = def.osType.toLowerCase() === 'windows' ? 'a Windows image needs adminPasswordSecretRef' : 'a Linux image needs sshPublicKeys or adminPasswordSecretRef';
    problems.push(refused('GeneralizedImageNeedsAdmin', `The image is generalized and ${needs} for ${spec.adminUsername}: set it in the spec.`));
  }

  problems.push(...securityProblems(spec.securityType ?? 'Standard', def.securityType, def.hyperVGeneration, size));

  const imageGen = def.hyperVGeneration.toUpperCase() === 'V2' ? 'V2' : 'V1';
  if (size.hyperVGenerations !== 'both' && size.hyperVGenerations !== imageGen) {
    problems.push(
      refused(
        'HyperVGenerationMismatch',
        imageGen === 'V2'
          ? `The image is Hyper-V generation 2 only, and size ${spec.size} boots generation 1 only. Choose a generation 2 size (such as Standard_D2s_v5) in spec.size.`
          : `The image is Hyper-V generation 1, and size ${spec.size} boots generation 2 only. Choose a size that boots generation 1 (such as Standard_D2s_v5), or ask the image owner for a generation 2 image.`,
      ),
    );
  }

  const imageArch = def.architecture.toLowerCase() === 'arm64' ? 'Arm64' : 'x64';
  if (imageArch !== size.architecture) {
    problems.push(
      refused(
        'ArchitectureMismatch',
        imageArch === 'Arm64'
          ? `The image is built for Arm64, and size ${spec.size} is x64. Choose an Arm64 size (one with 'p' in its features, such as Standard_D2ps_v5) in spec.size.`
          : `The image is built for x64, and size ${spec.size} is Arm64. Choose an x64 size (such as Standard_D2s_v5) in spec.size.`,
      ),
    );
  }

  return { problems, warnings };
}

function securityProblems(wanted: 'Standard' | 'TrustedLaunch' | 'ConfidentialVM', declared: string | undefined, imageGeneration: string, size: SizeCapabilities): ImageProblem[] {
  const problems: ImageProblem[] = [];
  const d = (declared ?? 'Standard').toLowerCase();
  if (d === 'trustedlaunch' && wanted !== 'TrustedLaunch') {
    problems.push(refused('SecurityTypeRequired', `The image definition requires Trusted Launch (security type TrustedLaunch): set spec.securityType to TrustedLaunch, with a size that supports it.`));
  } else if (d === 'confidentialvm' && wanted !== 'ConfidentialVM') {
    problems.push(refused('SecurityTypeRequired', `The image definition requires a confidential VM (security type ConfidentialVM): set spec.securityType to ConfidentialVM, with a confidential size (such as Standard_DC2as_v5).`));
  } else if (wanted === 'ConfidentialVM' && !['confidentialvm', 'confidentialvmsupported', 'trustedlaunchandconfidentialvmsupported'].includes(d)) {
    problems.push(refused('SecurityTypeNotSupported', `The image definition does not support confidential VMs (its security type is ${declared ?? 'not set'}): remove spec.securityType ConfidentialVM, or ask the image owner for an image that supports it.`));
  }
  if (wanted !== 'Standard') {
    if (imageGeneration.toUpperCase() !== 'V2') {
      problems.push(refused('SecurityTypeNotSupported', `${wanted} needs a Hyper-V generation 2 image, and this image is generation 1: set spec.securityType to Standard, or ask the image owner for a generation 2 image.`));
    } else if (size.hyperVGenerations === 'V1') {
      problems.push(refused('SecurityTypeNotSupported', `${wanted} needs a generation 2 size: choose one (such as Standard_D2s_v5) in spec.size.`));
    }
  }
  return problems;
}

// ---- computer names ----

/** Five base-36 characters of a SHA-256 of the text: 36^5 (about 60 million) values. */
function shortHash(text: string): string {
  const n = BigInt(`0x${createHash('sha256').update(text).digest('hex').slice(0, 16)}`) % 36n ** 5n;
  return n.toString(36).padStart(5, '0');
}

/** A prefix of `text` at most `max` characters long, without trailing '-' or '.'. */
function prefix(text: string, max: number): string {
  return text.slice(0, max).replace(/[-.]+$/, '');
}

/**
 * The computer name (host name) a VM made for object `objectName` gets.
 *
 * Linux: the name itself when it has at most 64 characters; a longer one becomes its first 58
 * characters (trailing '-' and '.' dropped) + '-' + 5 base-36 characters of a SHA-256 of the
 * whole name. Windows (at most 15 characters, no '.', not all digits): the name when it fits
 * those rules, otherwise its first 9 characters with '.' turned into '-' (trailing '-' dropped) +
 * '-' + the same 5-character hash of the whole name. Deterministic, so every reconcile computes
 * the same name; two long names that differ only after the prefix get different names (unless
 * their hashes collide, one chance in 60 million).
 */
export function computerName(objectName: string, osType: string): string {
  if (osType.toLowerCase() === 'windows') {
    if (objectName.length <= 15 && /^[A-Za-z0-9-]+$/.test(objectName) && !/^\d+$/.test(objectName) && !objectName.endsWith('-')) return objectName;
    return `${prefix(objectName.replace(/\./g, '-'), 9)}-${shortHash(objectName)}`.replace(/^-/, '');
  }
  if (objectName.length <= 64) return objectName;
  return `${prefix(objectName, 58)}-${shortHash(objectName)}`;
}
