// Matching ARM paths to routes: literal segments compare case-insensitively, `{name}` captures one
// segment, and a leading `{*scope}` captures any scope (role assignments live at every level).
import type { EmulatorResponse } from '../http.js';
import type { ArmContext } from './context.js';

export interface ArmRoute {
  method: 'GET' | 'HEAD' | 'PUT' | 'PATCH' | 'DELETE' | 'POST';
  pattern: string;
  /** Operation name for counters and the request log (the REST spec's operationId). */
  operation: string;
  /** RBAC action checked at the request path before the handler runs; none when the handler checks. */
  action?: string;
  handle(ctx: ArmContext): EmulatorResponse;
}

interface CompiledRoute extends ArmRoute {
  anyScope: boolean;
  tokens: { literal?: string; param?: string }[];
}

export interface RouteMatch {
  route: ArmRoute;
  params: Record<string, string>;
}

export class ArmRouter {
  private readonly routes: CompiledRoute[];

  constructor(routes: ArmRoute[]) {
    this.routes = routes.map((route) => {
      const parts = route.pattern.split('/').filter(Boolean);
      const anyScope = parts[0] === '{*scope}';
      const tokens = (anyScope ? parts.slice(1) : parts).map((part) => {
        const param = /^\{(\w+)\}$/.exec(part)?.[1];
        return param ? { param } : { literal: part.toLowerCase() };
      });
      return { ...route, anyScope, tokens };
    });
  }

  private matchRoute(route: CompiledRoute, segments: string[]): Record<string, string> | undefined {
    const offset = route.anyScope ? segments.length - route.tokens.length : 0;
    if (offset < 0 || (!route.anyScope && segments.length !== route.tokens.length)) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < route.tokens.length; i++) {
      const token = route.tokens[i]!;
      const segment = segments[offset + i]!;
      if (token.literal !== undefined) {
        if (token.literal !== segment.toLowerCase()) return undefined;
      } else if (token.param) {
        params[token.param] = segment;
      }
    }
    if (route.anyScope) {
      const scopeSegments = segments.slice(0, offset);
      // A scope never contains the provider path itself (keeps `.../roleAssignments` from matching as a scope).
      params['scope'] = '/' + scopeSegments.join('/');
      const sub = scopeSegments[0]?.toLowerCase() === 'subscriptions' ? scopeSegments[1] : undefined;
      if (sub) params['subscriptionId'] = sub;
    }
    return params;
  }

  /** The route for a request; `methodMismatch` when the path exists but not for that method. */
  match(method: string, segments: string[]): RouteMatch | { methodMismatch: true } | undefined {
    let pathMatched = false;
    for (const route of this.routes) {
      const params = this.matchRoute(route, segments);
      if (!params) continue;
      if (route.method === method) return { route, params };
      pathMatched = true;
    }
    return pathMatched ? { methodMismatch: true } : undefined;
  }
}
