// Long-running ARM operations, started without waiting and resumed from their serialized state:
// the poller's state goes into the object's status (status.operation), so that any operator
// process polls the operation later, one GET at a time, and no worker ever waits on Azure.
import { retryAfterMsFromHeaders } from './errors.js';

/**
 * What starting a change gave:
 * - done: Azure made it (a synchronous answer, or an operation that finished at once);
 * - not done, with resumeToken: an operation is running; poll it from that state after retryAfterMs;
 * - not done, without resumeToken: Azure refused because another operation runs on the resource
 *   (ours, started by a process that died before it could record it, or anyone's): look again
 *   after retryAfterMs, and do not count it as a failure.
 */
export type Started = { done: true } | { done: false; resumeToken?: string; retryAfterMs: number };

export type Polled = { done: true } | { done: false; retryAfterMs: number };

/** Azure gives no Retry-After on some answers; this is how long to wait then. */
export const DEFAULT_POLL_MS = 2_000;

/** A failed long-running operation, with the ARM code from its status body. */
export class OperationFailedError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'OperationFailedError';
  }
}

/** An onResponse hook for the SDK that keeps the latest Retry-After it saw. */
export function retryAfterRecorder() {
  let retryAfterMs: number | undefined;
  return {
    onResponse: (response: { headers: { get(name: string): string | undefined } }) => {
      retryAfterMs = retryAfterMsFromHeaders(response.headers) ?? retryAfterMs;
    },
    retryAfterMs: () => retryAfterMs,
  };
}

/** The parts of core-lro's PollerLike this module uses. */
export interface PollerLikeMin {
  readonly isDone: boolean;
  readonly operationState: { status: string; error?: Error } | undefined;
  submitted(): Promise<void>;
  serialize(): Promise<string>;
  poll(options?: { abortSignal?: AbortSignal }): Promise<{ status: string; error?: Error }>;
}

// The poller is also a Promise (awaiting it polls until done), so it is never returned or awaited
// itself: only its submission and its serialized state leave this module.
export async function submitted(poller: PollerLikeMin, retryAfter: () => number | undefined): Promise<Started> {
  await poller.submitted().catch(rethrowAsOperationFailure);
  throwIfFailed(poller.operationState);
  if (poller.isDone) return { done: true };
  return { done: false, resumeToken: await poller.serialize(), retryAfterMs: retryAfter() ?? DEFAULT_POLL_MS };
}

/** One poll (one GET of the operation's status) of a poller restored from its resume token. */
export async function pollOnce(poller: PollerLikeMin, retryAfter: () => number | undefined, signal: AbortSignal): Promise<Polled> {
  const state = await poller.poll({ abortSignal: signal }).catch(rethrowAsOperationFailure);
  throwIfFailed(state);
  return poller.isDone ? { done: true } : { done: false, retryAfterMs: retryAfter() ?? DEFAULT_POLL_MS };
}

/** core-lro's words for a failed operation, with the ARM code and message it found. */
const LRO_FAILED = /^The long-running operation has failed\. ([A-Za-z][\w.]*)\. ([\s\S]*)$/;

/** A poll or submission that sees the operation fail rejects with core-lro's error rather than returning it. */
function rethrowAsOperationFailure(err: unknown): never {
  if (err instanceof Error && LRO_FAILED.test(err.message)) throwIfFailed({ status: 'failed', error: err });
  throw err;
}

function throwIfFailed(state: { status: string; error?: Error & { code?: string } } | undefined): void {
  if (state?.status !== 'failed' && state?.status !== 'canceled') return;
  const error = state.error;
  // core-lro gives the ARM code only inside its message ("The long-running operation has failed.
  // AllocationFailed. Allocation failed ..."), on an Error without .code.
  const fromMessage = LRO_FAILED.exec(error?.message ?? '');
  const code = error?.code ?? fromMessage?.[1] ?? 'OperationFailed';
  throw new OperationFailedError(code, fromMessage?.[2] ?? error?.message ?? `the operation ${state.status}`);
}

/**
 * Whether a refusal says that another operation is running on the resource (409 with one of
 * ARM's codes for it): the change may well be ours, in flight; it is not a failure.
 */
export function isAnotherOperationRunning(err: unknown): boolean {
  const { statusCode, code } = (err ?? {}) as { statusCode?: number; code?: string };
  return statusCode === 409 && (code === 'OperationNotAllowed' || code === 'AnotherOperationInProgress' || code === 'Conflict');
}
