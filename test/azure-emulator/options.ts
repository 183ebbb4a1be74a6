// Behaviour switches of the emulator that tests and people change at run time (control API).
// Defaults are what fast tests want: operations finish at once, throttling off.

/**
 * ARM's token buckets (Azure since 2024): per subscription and calling principal, one for each
 * kind of request, and a global one per subscription and kind shared by every principal (15 times
 * the principal's, as documented). Sizes in tokens (requests), refill in tokens per second.
 */
export interface ThrottlingOptions {
  /** Off by default: the buckets are still counted and shown in x-ms-ratelimit-remaining-* headers. */
  enabled: boolean;
  /** Read (GET, HEAD) bucket per subscription and principal (ARM: 250, refilled 25/s). */
  reads: number;
  readsPerSecond: number;
  /** Write (PUT, PATCH, POST) bucket per subscription and principal (ARM: 200, refilled 10/s). */
  writes: number;
  writesPerSecond: number;
  /** Delete bucket per subscription and principal (ARM: 200, refilled 10/s). */
  deletes: number;
  deletesPerSecond: number;
  /** Global buckets per subscription, all principals together (ARM: 15 times the principal's). */
  globalReads: number;
  globalReadsPerSecond: number;
  globalWrites: number;
  globalWritesPerSecond: number;
  globalDeletes: number;
  globalDeletesPerSecond: number;
}

/** Azure's limits the emulator enforces (lower them in tests). */
export interface LimitOptions {
  /** Galleries per subscription and region (Azure: 100). */
  galleriesPerSubscriptionRegion: number;
  /** Role assignments per subscription, every scope in it counted (Azure: 4,000). */
  roleAssignmentsPerSubscription: number;
}

export interface EmulatorOptions {
  /** How long a long-running operation (PUT, PATCH, DELETE, share) takes; 0 answers at once. */
  lroDurationMs: number;
  /** Retry-After (seconds) sent with answers that ask the client to poll. */
  retryAfterSeconds: number;
  /** `lro` answers the share action 202 with Azure-AsyncOperation (as Azure does); `sync` answers 200. */
  shareMode: 'lro' | 'sync';
  /** How long a new image version takes to replicate to each target region. */
  replicationDurationMs: number;
  /** Lifetime of issued access tokens. */
  tokenLifetimeSeconds: number;
  /** Items per page in list answers; longer lists carry a nextLink. */
  pageSize: number;
  throttling: ThrottlingOptions;
  limits: LimitOptions;
  /**
   * `fail`: the OpenID configuration of an unknown tenant answers 400 AADSTS90002, as Entra does
   * (MSAL then reports only endpoints_resolution_error). `serve`: it is served, so the token
   * endpoint's AADSTS90002 reaches the client with its code.
   */
  unknownTenantDiscovery: 'fail' | 'serve';
  /**
   * The token endpoint's answer for an app without a service principal in a tenant other than its
   * home tenant: Entra answers AADSTS700016 or AADSTS7000229 for that situation.
   */
  missingServicePrincipalCode: 700016 | 7000229;
  /**
   * Milliseconds (emulator time) before a role assignment created through ARM counts for
   * authorization; it is listed and readable at once. Seeded and control-made ones count at once.
   */
  roleAssignmentPropagationMs: number;
  /**
   * Milliseconds (emulator time) during which a service principal created at run time (consent,
   * grantConsent, homeServicePrincipal true) is unknown to ARM's directory lookup: a role
   * assignment PUT naming it without principalType answers 400 PrincipalNotFound. Entra issues
   * tokens for it at once. Seeded principals are known at once.
   */
  principalReplicationMs: number;
}

export const defaultOptions: EmulatorOptions = {
  lroDurationMs: 0,
  retryAfterSeconds: 1,
  shareMode: 'lro',
  replicationDurationMs: 0,
  tokenLifetimeSeconds: 3599,
  pageSize: 100,
  throttling: {
    enabled: false,
    reads: 250,
    readsPerSecond: 25,
    writes: 200,
    writesPerSecond: 10,
    deletes: 200,
    deletesPerSecond: 10,
    globalReads: 3750,
    globalReadsPerSecond: 375,
    globalWrites: 3000,
    globalWritesPerSecond: 150,
    globalDeletes: 3000,
    globalDeletesPerSecond: 150,
  },
  limits: { galleriesPerSubscriptionRegion: 100, roleAssignmentsPerSubscription: 4000 },
  unknownTenantDiscovery: 'fail',
  missingServicePrincipalCode: 700016,
  roleAssignmentPropagationMs: 0,
  principalReplicationMs: 0,
};

export type EmulatorOptionsPatch = Partial<Omit<EmulatorOptions, 'throttling' | 'limits'>> & { throttling?: Partial<ThrottlingOptions>; limits?: Partial<LimitOptions> };

export function mergeOptions(base: EmulatorOptions, patch: EmulatorOptionsPatch | undefined): EmulatorOptions {
  if (!patch) return { ...base, throttling: { ...base.throttling }, limits: { ...base.limits } };
  return { ...base, ...patch, throttling: { ...base.throttling, ...(patch.throttling ?? {}) }, limits: { ...base.limits, ...(patch.limits ?? {}) } };
}
