// How `npm start` shows the services' logs. The services always write pino
// JSON to stdout (production reads it as such); `npm start` turns each record
// into a readable line with pino-pretty when a person is watching, that is
// when its own stdout is a terminal, and passes the JSON through otherwise.
import { createInterface } from 'node:readline';
import { Writable, type Readable } from 'node:stream';
import type { StdioOptions } from 'node:child_process';
import pinoPretty from 'pino-pretty';

export type LogFormat = 'pretty' | 'json';

/** Pretty for a terminal, JSON for a pipe or a file. */
export function logFormat(stdout: { isTTY?: boolean }): LogFormat {
  return stdout.isTTY ? 'pretty' : 'json';
}

/** A service's stdio: its stdout piped through the prettifier, or inherited as it is. */
export function serviceStdio(format: LogFormat): StdioOptions {
  return format === 'pretty' ? ['inherit', 'pipe', 'inherit'] : 'inherit';
}

/** One line of a service's output as a person reads it: a pino record pretty-printed, any other line unchanged; ends with a newline. */
export function prettyLogLine(options: { colorize?: boolean } = {}): (line: string) => string {
  return pinoPretty.prettyFactory({
    colorize: options.colorize ?? pinoPretty.isColorSupported,
    translateTime: 'SYS:HH:MM:ss.l',
    // One line per record, its fields after the message; errors keep their stack below.
    singleLine: true,
    // `name` already says which service; pid and hostname are noise on one machine.
    ignore: 'pid,hostname,service',
  });
}

/** Copies `source` to `target` line by line through `format`. */
export function pipeLines(source: Readable, target: Writable, format: (line: string) => string): void {
  createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) => target.write(format(line)));
}

/** A pino destination that writes each record to `target` through `format`. */
export function formattedDestination(target: Writable, format: (line: string) => string): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) target.write(format(line));
      done();
    },
  });
}
