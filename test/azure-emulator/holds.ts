// Holding long-running operations: an operation started by a request whose normalized path matches
// a hold stays InProgress until the test releases it (control: holdOperations, releaseOperations),
// so that a test can restart the client in the middle of it.
import { newGuid } from './ids.js';

export interface OperationHoldSpec {
  /**
   * Regular expression (source text), matched case-insensitively against the normalized path of
   * the request that starts an operation; every request when absent.
   */
  path?: string;
}

export interface OperationHold extends OperationHoldSpec {
  id: string;
}

export class OperationHolds {
  private holds: OperationHold[] = [];
  private readonly patterns = new Map<string, RegExp>();

  add(spec: OperationHoldSpec): OperationHold {
    // Compile now so a bad pattern fails the control call, not a later request.
    if (spec.path !== undefined) this.patterns.set(spec.path, new RegExp(spec.path, 'i'));
    const hold: OperationHold = { id: newGuid(), ...(spec.path !== undefined ? { path: spec.path } : {}) };
    this.holds.push(hold);
    return { ...hold };
  }

  clear(): void {
    this.holds = [];
  }

  list(): OperationHold[] {
    return this.holds.map((h) => ({ ...h }));
  }

  /** Whether operations started by a request to this (normalized) path are held. */
  matches(path: string): boolean {
    return this.holds.some((h) => h.path === undefined || (this.patterns.get(h.path)?.test(path) ?? false));
  }
}
