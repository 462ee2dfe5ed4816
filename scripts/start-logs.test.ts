// What `npm start` does with the services' logs, without a terminal: the
// choice of format, and the pretty-printing it would apply on one.
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@carebook/server';
import { formattedDestination, logFormat, pipeLines, prettyLogLine, serviceStdio } from './start-logs';

/** A stream that keeps what is written to it. */
function sink() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

const record = { level: 30, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), name: 'catalog', service: 'catalog', pid: 42, hostname: 'h', port: 50051, msg: 'server listening' };
const pretty = prettyLogLine({ colorize: false });

describe('npm start logs', () => {
  it('are pretty on a terminal and JSON, passed through untouched, otherwise', () => {
    expect(logFormat({ isTTY: true })).toBe('pretty');
    expect(logFormat({ isTTY: false })).toBe('json');
    expect(logFormat({})).toBe('json'); // a pipe's stdout has no isTTY
    expect(serviceStdio('json')).toBe('inherit');
    expect(serviceStdio('pretty')).toEqual(['inherit', 'pipe', 'inherit']);
  });

  it('print a record as one readable line with its fields, without pid, hostname or the repeated service', () => {
    const line = pretty(JSON.stringify(record));
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(catalog\): server listening \{"port":50051\}\n$/);
  });

  it('keep an error stack readable', () => {
    const error = { ...record, level: 50, msg: 'call failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at handler (x.ts:1:1)' } };
    expect(pretty(JSON.stringify(error))).toMatch(/ERROR \(catalog\): call failed[\s\S]*Error: boom\n\s+at handler \(x\.ts:1:1\)/);
  });

  it('leave lines that are not pino records as they are', () => {
    expect(pretty('node:internal/modules/run_main: something crashed')).toBe('node:internal/modules/run_main: something crashed\n');
  });

  it('pretty-print a service output line by line, however it is chunked', async () => {
    const source = new PassThrough();
    const target = sink();
    pipeLines(source, target.stream, pretty);
    const json = JSON.stringify(record);
    source.write(json.slice(0, 20));
    source.write(`${json.slice(20)}\nplain line\n${json}`);
    source.end('\n');
    await new Promise((resolve) => source.on('end', resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(target.text().match(/INFO \(catalog\): server listening/g)).toHaveLength(2);
    expect(target.text()).toContain('\nplain line\n');
    expect(target.text()).not.toContain('"level"');
  });

  it("pretty-print start's own logger through the same formatter", () => {
    const target = sink();
    createLogger('start', 'info', formattedDestination(target.stream, pretty)).warn({ port: 54329 }, 'embedded postgres slow');
    expect(target.text()).toMatch(/WARN \(start\): embedded postgres slow \{"port":54329\}\n/);
  });
});
