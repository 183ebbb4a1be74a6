// How long to wait before looking again at something that passes by itself or by a person's hand
// elsewhere (consent given, a role assigned, an image version replicated): a doubling schedule,
// measured from when the wait began, so that a restarted operator keeps it.

export interface RecheckContext {
  /** Now, in ms since the epoch. */
  now: number;
  recheck: { initialMs: number; maxMs: number };
  /** In [-1, 1]: where in ±10% this recheck falls (Math.random() * 2 - 1 in production). */
  jitter: number;
}

/**
 * First after `initialMs`, then twice as long as the wait so far, at most `maxMs`, ±10%. `since`
 * is when the wait began (a detail condition's lastTransitionTime): after waits of 30, 60, 120 s
 * the elapsed time is 210 s, and the next wait is 240 s.
 */
export function recheckDelay(since: number | undefined, context: RecheckContext): number {
  const elapsed = since === undefined ? 0 : Math.max(0, context.now - since);
  const base = Math.min(context.recheck.maxMs, elapsed + context.recheck.initialMs);
  return Math.round(base * (1 + 0.1 * Math.max(-1, Math.min(1, context.jitter))));
}
