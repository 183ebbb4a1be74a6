// Builders for the CRD schemas. Each builder returns a TypeBox schema, which is at once the
// OpenAPI v3 schema written into the CRDs and the source of the TypeScript type (Static<>), so
// the API is written once. Only the subset of JSON Schema that Kubernetes accepts in a
// structural schema is produced: no anyOf/oneOf/const, every node typed, validations as CEL.
import { Type, type TSchema, type TString, type TUnsafe, type TArray, type SchemaOptions } from '@sinclair/typebox';

/** One x-kubernetes-validations entry: a CEL rule and the message a person reads when it fails. */
export interface CelRule {
  rule: string;
  message: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  fieldPath?: string;
}

/** Options every builder takes: the description is required because `kubectl explain` shows it. */
export interface FieldOptions extends SchemaOptions {
  description: string;
  rules?: CelRule[];
}

function withRules<T extends SchemaOptions>(options: FieldOptions, extra: T = {} as T): SchemaOptions {
  const { rules, ...rest } = options;
  const all = [...(rules ?? [])];
  const merged: SchemaOptions = { ...rest, ...extra };
  if (all.length > 0) merged['x-kubernetes-validations'] = all;
  return merged;
}

/** A string checked by CEL regexes, each with its own message, so errors read as sentences. */
export function text(options: FieldOptions & { maxLength: number; minLength?: number }): TString {
  return Type.String(withRules(options));
}

/**
 * A string matching one regex (RE2, anchored by the caller). CEL `matches` is used instead of
 * OpenAPI `pattern` because a failed pattern reports the regex, while CEL reports `message`.
 */
export function matching(regex: string, message: string, options: FieldOptions & { maxLength: number; minLength?: number }): TString {
  return text({ ...options, rules: [{ rule: `self.matches(${celString(regex)})`, message }, ...(options.rules ?? [])] });
}

/** A string enum. `Type.Union` of literals would emit anyOf/const, which a structural schema forbids. */
export function oneOf<const T extends readonly string[]>(values: T, options: FieldOptions): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...withRules(options) });
}

/** A list. `set` lists reject duplicates at admission with "Duplicate value". */
export function list<T extends TSchema>(item: T, options: FieldOptions & { maxItems: number; listType?: 'set' | 'atomic' }): TArray<T> {
  const { listType, ...rest } = options;
  return Type.Array(item, withRules(rest, listType ? { 'x-kubernetes-list-type': listType } : {}));
}

/** A CEL string literal for `value`; raw strings keep regex backslashes readable in the CRD. */
export function celString(value: string): string {
  if (!value.includes("'")) return `r'${value}'`;
  if (!value.includes('"')) return `r"${value}"`;
  throw new Error(`cannot quote ${value} as a CEL raw string`);
}

/** The rule that makes a field immutable once the object exists. */
export function immutable(what: string, why: string): CelRule {
  return { rule: 'self == oldSelf', message: `${what} is immutable: ${why}` };
}

// ----- Formats shared by the three kinds -------------------------------------------------------

export const UUID_REGEX = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
/** The same pattern for TypeScript code that checks ids before they reach an object (settings, Secrets). */
export const UUID = new RegExp(UUID_REGEX);

/** A UUID such as a subscription, tenant, principal or client id. */
export function uuid(what: string, description: string, rules: CelRule[] = []): TString {
  return matching(UUID_REGEX, `${what} must be a UUID such as 00000000-0000-0000-0000-000000000000`, {
    description,
    maxLength: 36,
    rules,
  });
}

/**
 * Gallery names: letters, digits, '_' and '.', starting and ending with a letter or digit, at most
 * 80 characters. Dashes are refused by Azure although its spec regex is looser (azure-facts.md).
 * The dash rule comes first so that the most common mistake gets its own message.
 */
export const GALLERY_NAME_REGEX = '^[A-Za-z0-9]([A-Za-z0-9_.]*[A-Za-z0-9])?$';
export function galleryName(description: string, rules: CelRule[] = []): TString {
  return text({
    description,
    minLength: 1,
    maxLength: 80,
    rules: [
      { rule: "!self.contains('-')", message: 'gallery names may not contain dashes (use letters, digits, underscores and periods)' },
      {
        rule: `self.contains('-') || self.matches(${celString(GALLERY_NAME_REGEX)})`,
        message: 'gallery names use letters, digits, underscores and periods, and start and end with a letter or digit',
      },
      ...rules,
    ],
  });
}

/** Image definition names: letters, digits, '-', '_' and '.', starting and ending alphanumeric. */
export const IMAGE_NAME_REGEX = '^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$';
export function imageName(description: string): TString {
  return matching(
    IMAGE_NAME_REGEX,
    'image definition names use letters, digits, dashes, underscores and periods, and start and end with a letter or digit',
    { description, minLength: 1, maxLength: 80 },
  );
}

/** `Major.Minor.Patch`, each part a 32-bit integer (at most 10 digits, checked by value below). */
export const VERSION_REGEX = '^(0|[1-9][0-9]{0,9})[.](0|[1-9][0-9]{0,9})[.](0|[1-9][0-9]{0,9})$';
export function imageVersion(description: string): TString {
  return text({
    description,
    minLength: 5,
    maxLength: 32,
    rules: [
      { rule: `self.matches(${celString(VERSION_REGEX)})`, message: "image versions are Major.Minor.Patch, such as 1.2.0 ('latest' is not allowed here)" },
      {
        rule: `!self.matches(${celString(VERSION_REGEX)}) || self.split('.').all(p, int(p) <= 2147483647)`,
        message: 'each part of an image version must fit in a 32-bit integer (at most 2147483647)',
      },
    ],
  });
}

/**
 * Resource group names: 1-90 characters of letters (any script), digits, '_', '-', '.', '(' and
 * ')', not ending with a period (Azure's rule).
 */
export const RESOURCE_GROUP_REGEX = '^[-\\p{L}\\p{N}._()]{0,89}[-\\p{L}\\p{N}_()]$';
export function resourceGroup(description: string, rules: CelRule[] = []): TString {
  return matching(
    RESOURCE_GROUP_REGEX,
    'resource group names use letters, digits, underscores, dashes, periods and parentheses, and may not end with a period',
    { description, minLength: 1, maxLength: 90, rules },
  );
}

/** Programmatic location names, as `az account list-locations` prints them (westus, westeurope). */
export const LOCATION_REGEX = '^[a-z][a-z0-9]{1,39}$';
export function location(description: string, rules: CelRule[] = []): TString {
  return matching(
    LOCATION_REGEX,
    "locations are programmatic names in lower case without spaces, such as westus or westeurope (see 'az account list-locations -o table')",
    { description, minLength: 2, maxLength: 40, rules },
  );
}

/** Kubernetes object names (RFC 1123 subdomain), as used by Secret and TenantGrant references. */
export const OBJECT_NAME_REGEX = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export function objectName(what: string, description: string): TString {
  return matching(
    OBJECT_NAME_REGEX,
    `${what} must be a Kubernetes object name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`,
    { description, minLength: 1, maxLength: 253 },
  );
}

/** Case-insensitive duplicate check for lists of ids (Azure compares GUIDs without case). */
export function noDuplicatesIgnoringCase(what: string): CelRule {
  return {
    rule: 'self.all(x, self.exists_one(y, y.lowerAscii() == x.lowerAscii()))',
    message: `${what} may not contain the same id twice (ids are compared without case)`,
  };
}
