import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@carebook/server';

/** A pino log record as JSON.parse gives it. */
export type LogRecord = Record<string, unknown> & { msg?: string; level?: number };

/** A service's logger that keeps its records in memory (from `level` up), for a test to read. */
export function capturedLogger(service: string, level = 'info'): { log: Logger; records(): LogRecord[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { log: createLogger(service, level, destination), records: () => lines.map((line) => JSON.parse(line) as LogRecord) };
}
