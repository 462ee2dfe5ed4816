import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CatalogServiceService as Catalog, Clinic, createCatalogClient, type CatalogClient } from '@carebook/proto/catalog';
import { clientChannelOptions } from '@carebook/server';
import { callRaw, createRawClient, createTestDatabase, expectGrpcError, freePort, startServiceProcess, type ServiceProcess } from '@carebook/testing';

// Big hostile requests against catalog as it runs in production, its own
// process: 20 at once, each carrying a 3.9 MB bad value, must not blow up
// its memory nor stall other callers. Requests over the cap are refused
// before they are parsed; those under it are refused with a short reply.
//
// The flood comes from a process of its own (flood-client.ts), as an
// attacker's would. Sent from this one, the 78 MB it pushes through HTTP/2
// held up this process's own GetClinic for 0.4 to 1.9 s, while a third
// process's calls, every 10 ms through the flood, took 3 to 90 ms: the wait
// was the sender's, not catalog's. So this process reads a clinic every
// 20 ms while the flood runs, and the slowest read is the bound.

const FLOOD = 20;
const RSS_LIMIT_BYTES = 400 * 1024 * 1024;
const OTHER_CALLER_LIMIT_MS = 500;
const root = fileURLToPath(new URL('../../..', import.meta.url));

let catalog: ServiceProcess;
let drop: () => Promise<void>;
let client: CatalogClient;
let clinicId: string;

beforeAll(async () => {
  const db = await createTestDatabase('catalog');
  drop = db.drop;
  const port = await freePort();
  catalog = await startServiceProcess('catalog', port, { CATALOG_PORT: String(port), CATALOG_DATABASE_URL: db.url, CATALOG_DB_POOL_SIZE: '5' });
  client = createCatalogClient(catalog.address);
  const { clinic } = await client.createClinic({ clinic: Clinic.fromPartial({ displayName: 'Praxis', timeZone: 'UTC', address: 'Markt 1' }) });
  clinicId = clinic!.id;
});

afterAll(async () => {
  client?.close();
  await catalog?.stop();
  await drop?.();
});

/** The process's peak resident memory so far (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

interface FloodResult {
  /** How long the flood took, from its first request to its last reply. */
  ms: number;
  replies: { code: status; replyBytes: number }[];
  /** This process's GetClinic latencies while the flood ran, in ms. */
  reads: number[];
}

/** Floods CreateClinic from flood-client.ts with FLOOD requests whose time zone is `bytes` long, while this process reads a clinic every 20 ms. */
async function floodWhileReading(bytes: number): Promise<FloodResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/catalog/test/flood-client.ts', catalog.address, String(bytes), String(FLOOD)], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async () => {
    const { value } = await lines.next();
    if (value === undefined) throw new Error(`the flood client ended early: ${stderr}`);
    return value as string;
  };
  try {
    expect(await nextLine()).toBe('connected');
    child.stdin.write('go\n');
    expect(await nextLine()).toBe('started');
    let finished = false;
    const result = nextLine().finally(() => (finished = true));
    const reads: number[] = [];
    do {
      const started = performance.now();
      await client.getClinic({ id: clinicId });
      reads.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20)); // the reads' pace
    } while (!finished);
    return { ...(JSON.parse(await result) as Omit<FloodResult, 'reads'>), reads };
  } finally {
    child.kill();
  }
}

const describeFlood = (label: string, flood: FloodResult, rss: number) =>
  `${FLOOD} × ${label}: peak RSS ${(rss / 1024 / 1024).toFixed(0)} MB, flood ${flood.ms} ms, ` +
  `another caller's GetClinic × ${flood.reads.length} during it: slowest ${Math.max(...flood.reads).toFixed(0)} ms, first ${flood.reads[0].toFixed(0)} ms`;

it(`refuses ${FLOOD} concurrent 3.9 MB requests before parsing them, stays under 400 MB and answers another caller within 500 ms throughout`, async () => {
  const flood = await floodWhileReading(3_900_000);
  const rss = peakRss(catalog.pid!);
  console.log(describeFlood('3.9 MB', flood, rss));
  expect(flood.replies.map((r) => r.code)).toEqual(Array(FLOOD).fill(status.RESOURCE_EXHAUSTED));
  expect(Math.max(...flood.replies.map((r) => r.replyBytes))).toBeLessThan(16 * 1024);
  expect(rss).toBeLessThan(RSS_LIMIT_BYTES);
  expect(Math.max(...flood.reads)).toBeLessThan(OTHER_CALLER_LIMIT_MS);
});

it(`answers ${FLOOD} concurrent bad values just under the cap with short errors, under 400 MB`, async () => {
  const flood = await floodWhileReading(250_000);
  const rss = peakRss(catalog.pid!);
  console.log(describeFlood('250 kB', flood, rss));
  expect(flood.replies.map((r) => r.code)).toEqual(Array(FLOOD).fill(status.INVALID_ARGUMENT));
  expect(Math.max(...flood.replies.map((r) => r.replyBytes))).toBeLessThan(1024);
  expect(rss).toBeLessThan(RSS_LIMIT_BYTES);
  expect(Math.max(...flood.reads)).toBeLessThan(OTHER_CALLER_LIMIT_MS);
});

/** A CreateClinic request whose time zone is `bytes` long. */
const clinicWithTimeZoneOf = (bytes: number) =>
  Catalog.createClinic.requestSerialize({ clinic: Clinic.fromPartial({ displayName: 'Praxis', timeZone: 'x'.repeat(bytes), address: 'Markt 1' }) });

it('refuses a 5 MB request with RESOURCE_EXHAUSTED, and the same connection and other callers carry on', async () => {
  const raw = createRawClient(catalog.address);
  try {
    const big = callRaw(raw, Catalog.createClinic.path, clinicWithTimeZoneOf(5 * 1024 * 1024), undefined, 30_000);
    const others = Promise.all(Array.from({ length: 5 }, () => client.getClinic({ id: clinicId })));
    const reply = await big;
    expect(status[reply.code]).toBe('RESOURCE_EXHAUSTED');
    expect((await others).map((r) => r.clinic?.id)).toEqual(Array(5).fill(clinicId));
    const after = await callRaw(raw, Catalog.getClinic.path, Catalog.getClinic.requestSerialize({ id: clinicId }));
    expect(status[after.code]).toBe('OK');
  } finally {
    raw.close();
  }
});

it("is refused by carebook's own clients before sending: their send cap is 4 MiB (clientChannelOptions)", async () => {
  const capped = createCatalogClient(catalog.address, clientChannelOptions());
  try {
    const clinic = Clinic.fromPartial({ displayName: 'Praxis', timeZone: 'x'.repeat(5 * 1024 * 1024), address: 'Markt 1' });
    await expectGrpcError(capped.createClinic({ clinic }), status.RESOURCE_EXHAUSTED);
    expect((await capped.getClinic({ id: clinicId })).clinic?.id).toBe(clinicId);
  } finally {
    capped.close();
  }
});
