// The operator's policy: what its administrators allow objects to do, whatever their specs say.
// Checked before any Azure call (each kind's preconditions); set by the --allowed-* and
// --allow-* settings (config.ts).
export interface Policy {
  /** Subscriptions direct sharing may target (lower case); undefined means any. */
  allowedShareSubscriptions?: ReadonlySet<string>;
  /** Tenants direct sharing may target (lower case); undefined means any. */
  allowedShareTenants?: ReadonlySet<string>;
  /** Whether galleries may be published to the community (every Azure user). */
  allowCommunitySharing: boolean;
}
