// The operator's logger: pino JSON lines. Redaction is a safety net only (no code logs a secret):
// any field named like a credential is replaced before the line is written.
import pino, { type Logger } from 'pino';

export const REDACTED_FIELDS = ['clientSecret', 'clientCertificate', 'password', 'adminPassword', 'authorization', 'access_token', 'token', 'data'];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { component: 'gallery-share-operator' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACTED_FIELDS, ...REDACTED_FIELDS.map((f) => `*.${f}`)], censor: '[redacted]' },
    },
    destination,
  );
}
