import { createInterface } from 'node:readline';
import { CatalogServiceService as Catalog, Clinic } from '@carebook/proto/catalog';
import { callRaw, createRawClient } from '@carebook/testing/raw-call';

// The hostile caller of big-requests.test.ts, as its own process: it sends
// `count` CreateClinic requests at once from as many clients, each with a time
// zone `bytes` long, and prints one JSON line with every reply's status and
// size. On its own process, as an attacker is, the 80 MB it pushes through
// HTTP/2 costs the test's own process nothing, so the test's calls time
// catalog alone.
//   node --import tsx apps/catalog/test/flood-client.ts <address> <bytes> <count>
// It prints "connected" once every client is connected, then waits for a line
// on stdin to start, and prints "started" as the requests leave.

const [address, bytes, count] = process.argv.slice(2);
const clients = Array.from({ length: Number(count) }, () => createRawClient(address));
await Promise.all(clients.map((c) => new Promise<void>((resolve, reject) => c.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())))));
const request = Catalog.createClinic.requestSerialize({ clinic: Clinic.fromPartial({ displayName: 'Praxis', timeZone: 'x'.repeat(Number(bytes)), address: 'Markt 1' }) });
process.stdout.write('connected\n');
await createInterface({ input: process.stdin })[Symbol.asyncIterator]().next();
const started = performance.now();
const replies = Promise.all(clients.map((c) => callRaw(c, Catalog.createClinic.path, request, undefined, 30_000)));
process.stdout.write('started\n');
const done = await replies;
process.stdout.write(`${JSON.stringify({ ms: Math.round(performance.now() - started), replies: done.map((r) => ({ code: r.code, replyBytes: r.replyBytes })) })}\n`);
clients.forEach((c) => c.close());
