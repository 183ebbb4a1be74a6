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
  /** Roles (role-definition GUIDs, lower case) a TenantGrant may give its app on the gallery; undefined means any. */
  allowedGrantSourceRoles?: ReadonlySet<string>;
  /** Roles a TenantGrant may give its app on the target resource group; undefined means any. */
  allowedGrantTargetRoles?: ReadonlySet<string>;
  /** Tenants a TenantGrant may grant access to (lower case); undefined means any. */
  allowedGrantTargetTenants?: ReadonlySet<string>;
  /**
   * Whether TenantGrants and SharedImageVMs must bring their own credentials: the operator's own
   * identity (often Owner on galleries) then never acts for them.
   */
  requireObjectCredentials: boolean;
}
