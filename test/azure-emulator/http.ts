// The emulator's view of one HTTP exchange: a parsed request (normalized path, decoded query) and a
// plain answer object, so handlers are functions from data to data and never touch sockets.
import type { IncomingHttpHeaders } from 'node:http';

export interface EmulatorRequest {
  method: string;
  /** Path as sent, before normalization (for the request log). */
  rawPath: string;
  /** Path with `//` collapsed, no trailing slash, segments percent-decoded; original case kept. */
  path: string;
  segments: string[];
  /** Query parameters by lower-cased, percent-decoded name (`%24expand` arrives as `$expand`). */
  query: Map<string, string>;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** `https://host:port` as the client addressed us, for links we hand back (nextLink, LRO URLs). */
  origin: string;
}

export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string>;
  /** Serialized as JSON unless it is a string (sent as is) or undefined (no body). */
  body?: unknown;
  /**
   * For the request log, not sent: what a write did, when its handler knows better than a
   * comparison of the target's state before and after (a share whose change waits for its operation).
   */
  effect?: 'created' | 'changed' | 'unchanged' | 'deleted' | 'absent';
}

/** Decodes like a form: `+` is a space, then percent escapes. Malformed escapes are kept verbatim. */
function decodeComponent(text: string): string {
  const spaced = text.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

export function parseQuery(search: string): Map<string, string> {
  const query = new Map<string, string>();
  for (const pair of search.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1));
    // ARM keeps the first occurrence of a repeated parameter.
    if (!query.has(name)) query.set(name, value);
  }
  return query;
}

/** ARM collapses `//` (clients produce it when a scope starts with `/`) and ignores a trailing `/`. */
export function normalizePath(rawPath: string): { path: string; segments: string[] } {
  const segments = rawPath
    .split('/')
    .filter((segment) => segment.length > 0)
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    });
  return { path: '/' + segments.join('/'), segments };
}

export function parseRequestTarget(url: string): { rawPath: string; path: string; segments: string[]; query: Map<string, string> } {
  const questionMark = url.indexOf('?');
  const rawPath = questionMark < 0 ? url : url.slice(0, questionMark);
  const search = questionMark < 0 ? '' : url.slice(questionMark + 1);
  return { rawPath, ...normalizePath(rawPath), query: parseQuery(search) };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): EmulatorResponse {
  return { status, body, headers };
}

export function header(request: EmulatorRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Removes commas that directly precede `}` or `]` outside strings. Azure's services read JSON with
 * Json.NET, which accepts such trailing commas (the direct-sharing docs' Reset body has one).
 */
export function withoutTrailingCommas(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    if (ch === ',' && /^\s*[}\]]/.test(text.slice(i + 1))) continue;
    out += ch;
  }
  return out;
}

/** Parses a JSON body; undefined for an empty body, a SyntaxError for malformed JSON. */
export function parseJsonBody(request: EmulatorRequest): unknown {
  if (request.body.length === 0) return undefined;
  const text = request.body.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // Only the leniency Json.NET has; anything else stays a SyntaxError (400 InvalidRequestContent).
    const relaxed = withoutTrailingCommas(text);
    if (relaxed === text) throw err;
    return JSON.parse(relaxed) as unknown;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
