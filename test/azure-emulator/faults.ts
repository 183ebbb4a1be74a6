// Fault injection: for requests matching a method and a path pattern, answer a chosen status,
// add latency, or drop the connection; a number of times or with a probability.
import { newGuid } from './ids.js';

export interface FaultSpec {
  /** HTTP method to match; any when absent. */
  method?: string;
  /** Regular expression (source text), matched case-insensitively against the normalized path. */
  path: string;
  /** Answer this status instead of handling the request. */
  status?: number;
  /** Error code and message of the injected answer (ARM's error shape). */
  code?: string;
  message?: string;
  /** A whole body instead of the ARM error (for example an Entra error). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Delay before the request is handled (or before the injected answer). */
  latencyMs?: number;
  /** Destroy the connection without answering. */
  drop?: boolean;
  /** Matching requests affected before the fault retires; unlimited when absent. */
  count?: number;
  /** Chance (0..1) that a matching request is affected; 1 when absent. */
  probability?: number;
}

export interface Fault extends FaultSpec {
  id: string;
  hits: number;
}

const defaultCodes: Record<number, string> = {
  400: 'BadRequest',
  401: 'AuthenticationFailed',
  403: 'AuthorizationFailed',
  404: 'NotFound',
  409: 'Conflict',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

export class FaultInjector {
  private faults: Fault[] = [];
  private readonly patterns = new Map<string, RegExp>();

  add(spec: FaultSpec): Fault {
    // Compile now so a bad pattern fails the control call, not a later request.
    this.patterns.set(spec.path, new RegExp(spec.path, 'i'));
    const fault: Fault = { ...spec, id: newGuid(), hits: 0 };
    this.faults.push(fault);
    return fault;
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /** The fault that applies to this request, counting the hit; undefined when none does. */
  take(method: string, path: string): Fault | undefined {
    for (const fault of this.faults) {
      if (fault.method && fault.method.toUpperCase() !== method.toUpperCase()) continue;
      if (!this.patterns.get(fault.path)?.test(path)) continue;
      if (fault.count !== undefined && fault.hits >= fault.count) continue;
      if (fault.probability !== undefined && Math.random() >= fault.probability) continue;
      fault.hits++;
      return { ...fault };
    }
    return undefined;
  }
}

export function faultBody(fault: Fault): unknown {
  if (fault.body !== undefined) return fault.body;
  const status = fault.status ?? 500;
  return { error: { code: fault.code ?? defaultCodes[status] ?? 'InjectedFault', message: fault.message ?? `Fault injected by the Azure emulator (status ${status}).` } };
}
