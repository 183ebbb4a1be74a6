// Which HTTPS proxy, if any, carries the operator's Azure traffic (ARM and Entra): HTTPS_PROXY
// and NO_PROXY, upper case first and then lower case, as the Azure SDK reads them. Pure: the
// variables in, a decision out; src/azure/transport.ts makes the connections.

export interface AzureProxy {
  /** The proxy, http: or https:, possibly with user:password (never logged: see redactedProxyUrl). */
  url: URL;
  /** NO_PROXY entries, trimmed and lower-cased. */
  noProxy: string[];
}

/** HTTPS_PROXY or NO_PROXY in the environment, upper case first, as the Azure SDK reads them. */
function variable(vars: NodeJS.ProcessEnv, name: 'HTTPS_PROXY' | 'NO_PROXY'): { name: string; value: string } | undefined {
  for (const n of [name, name.toLowerCase()]) {
    const value = vars[n]?.trim();
    if (value) return { name: n, value };
  }
  return undefined;
}

/**
 * The proxy the environment names, or undefined without HTTPS_PROXY. A bad value throws an Error
 * naming the variable. A value without a scheme (proxy:3128) means http://, as curl and Go read
 * it. HTTP_PROXY and ALL_PROXY are not read: every Azure endpoint the operator calls is https.
 */
export function proxyFromEnvironment(vars: NodeJS.ProcessEnv): AzureProxy | undefined {
  const proxy = variable(vars, 'HTTPS_PROXY');
  if (!proxy) return undefined;
  let url: URL;
  try {
    url = new URL(proxy.value.includes('://') ? proxy.value : `http://${proxy.value}`);
  } catch {
    throw new Error(`${proxy.name}: "${redact(proxy.value)}" is not a URL (such as http://proxy.example.com:3128)`);
  }
  // Messages show the value as given with everything up to its last @ hidden: in a value that is
  // wrong, what the URL parser took for the host may be part of a password.
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${proxy.name}: "${redact(proxy.value)}" must be an http:// or https:// proxy`);
  if (url.pathname !== '/' && url.pathname !== '') throw new Error(`${proxy.name}: "${redact(proxy.value)}" must be a proxy address without a path`);
  const noProxy = (variable(vars, 'NO_PROXY')?.value ?? '').split(',').map((e) => e.trim().toLowerCase()).filter(Boolean);
  return { url, noProxy };
}

/** The proxy URL without its user and password, for logs and messages. */
export function redactedProxyUrl(url: URL): string {
  const shown = new URL(url.href);
  if (shown.username || shown.password) {
    shown.username = '***';
    shown.password = '';
  }
  return shown.href.replace(/\/$/, '');
}

/** Hides everything before the last `@` of a URL that did not parse: a password may hold `@` or `/`. */
function redact(text: string): string {
  const at = text.lastIndexOf('@');
  if (at < 0) return text;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? '';
  return `${scheme}***${text.slice(at)}`;
}

/**
 * Whether a request to this URL goes direct rather than through the proxy. NO_PROXY entries, as
 * Go and curl read them (Kubernetes tooling is mostly Go, so enterprises' lists are written for
 * it): `*` (everything); a host name, which also covers its subdomains, with or without a leading
 * `.` or `*.`; an IP address or a CIDR range (10.0.0.0/8); any of them with `:port`, which then
 * covers only that port.
 */
export function bypassesProxy(target: string | URL, noProxy: readonly string[]): boolean {
  const url = typeof target === 'string' ? new URL(target) : target;
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return noProxy.some((entry) => entryMatches(entry, host, port));
}

function entryMatches(entry: string, host: string, port: string): boolean {
  if (entry === '*') return true;
  let pattern = entry;
  let entryPort: string | undefined;
  const withPort = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
  if (withPort) {
    pattern = withPort[1]!;
    entryPort = withPort[2];
  }
  pattern = pattern.replace(/^\[|\]$/g, '');
  if (entryPort && entryPort !== port) return false;
  if (pattern.includes('/')) return inCidr(host, pattern);
  if (isIp(pattern)) return isIp(host) && normalizeIp(host) === normalizeIp(pattern);
  const domain = pattern.replace(/^\*?\./, '');
  return host === domain || host.endsWith(`.${domain}`);
}

function isIp(text: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(text) || text.includes(':');
}

function normalizeIp(text: string): string {
  return ipBits(text) ?? text;
}

/** The address as a string of bits (32 for IPv4, 128 for IPv6), or undefined when it is none. */
function ipBits(text: string): string | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const parts = text.split('.').map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return parts.map((p) => p.toString(2).padStart(8, '0')).join('');
  }
  if (!text.includes(':')) return undefined;
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  if (tail === undefined && missing !== 0) return undefined;
  const all = [...groups(head), ...Array<string>(Math.max(0, missing)).fill('0'), ...groups(tail)];
  if (all.length !== 8 || all.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return all.map((g) => parseInt(g, 16).toString(2).padStart(16, '0')).join('');
}

function inCidr(host: string, cidr: string): boolean {
  const [network, prefix] = cidr.split('/') as [string, string];
  const hostBits = ipBits(host);
  const networkBits = ipBits(network);
  const length = Number(prefix);
  if (!hostBits || !networkBits || hostBits.length !== networkBits.length || !Number.isInteger(length)) return false;
  return hostBits.slice(0, length) === networkBits.slice(0, length);
}
