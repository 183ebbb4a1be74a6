// Fault injection: for requests matching a method and a path pattern, answer a chosen status,
// add latency, drop the connection, or hang (never answer); a number of times or with a probability.
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
  /**
   * Accept the request and never answer it (no byte is sent): the connection stays open until the
   * client closes it, the fault is removed or cleared (reset included), or the emulator stops; then
   * the socket is destroyed.
   */
  hang?: boolean;
  /** Matching requests affected before the fault retires; unlimited when absent. */
  count?: number;
  /** Chance (0..1) that a matching request is affected; 1 when absent. */
  probability?: number;
  /**
   * A VM or scale set create/update that fails as its operation: the PUT is accepted (201/200 with
   * Azure-AsyncOperation), the operation ends Failed with this error and the resource shows
   * provisioningState Failed. Matches PUT requests only (whatever `method` says); other PUTs
   * matching `path` count the hit and are handled normally. `message` defaults to Azure's text for
   * the known codes (AllocationFailed, ZonalAllocationFailed, SkuNotAvailable, QuotaExceeded,
   * OperationNotAllowed, RequestDisallowedByPolicy, InternalExecutionError).
   */
  operationError?: { code: string; message?: string };
}

export interface Fault extends FaultSpec {
  id: string;
  hits: number;
  /** For a hang fault: requests it holds open right now (0 once their clients gave up). */
  hanging?: number;
}

/** A request held open by a hang fault: `signal` aborts when the fault goes; `release` once the socket is gone. */
export interface HeldRequest {
  signal: AbortSignal;
  release(): void;
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
  /** Per hang fault: aborted when the fault is removed or cleared, which ends the requests it holds. */
  private readonly retirements = new Map<string, AbortController>();

  add(spec: FaultSpec): Fault {
    if (spec.operationError !== undefined && (typeof spec.operationError !== 'object' || spec.operationError === null || typeof spec.operationError.code !== 'string' || spec.operationError.code === '')) {
      throw new TypeError('operationError needs a code');
    }
    // Compile now so a bad pattern fails the control call, not a later request.
    this.patterns.set(spec.path, new RegExp(spec.path, 'i'));
    const fault: Fault = { ...spec, id: newGuid(), hits: 0 };
    delete fault.hanging;
    if (spec.hang) {
      fault.hanging = 0;
      this.retirements.set(fault.id, new AbortController());
    }
    this.faults.push(fault);
    return { ...fault };
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    this.retire(id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
    for (const id of [...this.retirements.keys()]) this.retire(id);
  }

  private retire(id: string): void {
    this.retirements.get(id)?.abort();
    this.retirements.delete(id);
  }

  /** Holds a request open for the hang fault `id` (already aborted when the fault is gone). */
  hold(id: string): HeldRequest {
    const controller = this.retirements.get(id);
    if (!controller) return { signal: AbortSignal.abort(), release: () => undefined };
    const fault = this.faults.find((f) => f.id === id);
    if (fault) fault.hanging = (fault.hanging ?? 0) + 1;
    let released = false;
    return {
      signal: controller.signal,
      release: () => {
        if (released) return;
        released = true;
        if (fault) fault.hanging = Math.max(0, (fault.hanging ?? 1) - 1);
      },
    };
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /** The fault that applies to this request, counting the hit; undefined when none does. */
  take(method: string, path: string): Fault | undefined {
    for (const fault of this.faults) {
      if (fault.operationError ? method.toUpperCase() !== 'PUT' : fault.method && fault.method.toUpperCase() !== method.toUpperCase()) continue;
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
