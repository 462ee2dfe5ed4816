import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';

// Database errors carry the offending row in `detail` (PostgreSQL's "Failing
// row contains …") and, behind Prisma, in `meta`: patient data that must not
// reach the logs. The SQLSTATE, constraint and message stay.
const ROW_DATA_KEYS = ['detail', 'meta', 'where'];

function errorWithoutRowData(err: Error): Record<string, unknown> {
  const serialized = stdSerializers.err(err) as unknown as Record<string, unknown>;
  for (const key of ROW_DATA_KEYS) delete serialized[key];
  return serialized;
}

/** The process-wide JSON logger of a service, on stdout unless `destination` is given. */
export function createLogger(service: string, level: string = 'info', destination?: DestinationStream): Logger {
  const options = { name: service, level, base: { service, pid: process.pid }, serializers: { err: errorWithoutRowData } };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
