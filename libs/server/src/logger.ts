import { pino, type Logger } from 'pino';

/** The process-wide JSON logger of a service. */
export function createLogger(service: string, level: string = 'info'): Logger {
  return pino({ name: service, level, base: { service, pid: process.pid } });
}

export type { Logger };
