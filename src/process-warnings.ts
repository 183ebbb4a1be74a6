// Node prints process warnings (deprecations, experimental features, MaxListenersExceeded, ...)
// to stderr as plain text, which breaks the operator's JSON-lines logs: a log pipeline that
// parses each line as JSON drops or mangles them. main.ts imports this module before anything
// else, so that Node's own printer is taken off before any dependency can emit a warning (Node
// emits them on the next tick). Warnings are kept until the logger exists and then logged as
// JSON lines at level warn, like `node --no-warnings` plus a 'warning' listener, but without
// relying on a flag or NODE_OPTIONS that a user may override.
import type { Logger } from 'pino';

interface ProcessWarning {
  name: string;
  code?: string;
  message: string;
}

const pending: ProcessWarning[] = [];
let logger: Logger | undefined;

function logWarning(warning: ProcessWarning): void {
  logger!.warn({ warning: { name: warning.name, ...(warning.code ? { code: warning.code } : {}), message: warning.message } }, 'node process warning');
}

// Node's default printer is an ordinary 'warning' listener (installed at start unless
// --no-warnings or NODE_NO_WARNINGS=1); at this point it is the only one.
for (const listener of process.listeners('warning')) process.removeListener('warning', listener);
process.on('warning', (warning: Error & { code?: string }) => {
  const entry: ProcessWarning = { name: warning.name, message: warning.message, ...(warning.code ? { code: warning.code } : {}) };
  if (logger) logWarning(entry);
  else pending.push(entry);
});

/** Logs the warnings emitted so far, and every later one, with this logger. */
export function logProcessWarnings(to: Logger): void {
  logger = to;
  for (const warning of pending.splice(0)) logWarning(warning);
}
