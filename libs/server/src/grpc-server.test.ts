import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CatalogServiceClient,
  CatalogServiceService,
  type CreateClinicRequest,
  type CreateClinicResponse,
} from '@carebook/proto/catalog';
import { createHealthClient, expectGrpcError, pollUntil, type HealthClient } from '@carebook/testing';
import { InvalidArgumentError, NotFoundError } from './errors';
import type { AccessTable } from './caller-access';
import { accessTableProblems } from './caller-access';
import { registration, startGrpcServer, type CarebookGrpcServer, type RequestContext } from './grpc-server';

// The server library on its own: a catalog service definition with stand-in
// handlers, and a readiness hook the test controls.

const SERVICE = 'carebook.catalog.v1.CatalogService';
const DOMAIN = 'test.carebook.dev';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type CreateClinic = (request: CreateClinicRequest, ctx: RequestContext) => Promise<CreateClinicResponse>;

interface LogRecord {
  level: number;
  msg: string;
  correlationId?: string;
  method?: string;
  err?: { message: string; stack: string };
  [key: string]: unknown;
}

/** A promise with its resolve function, to hold a handler or readiness check until the test lets go. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const clinicOf = (id: string, displayName = 'x') => ({ clinic: { id, displayName, timeZone: 'UTC', address: 'a' } });

interface Started {
  server: CarebookGrpcServer;
  address: string;
  client: CatalogServiceClient;
  health: HealthClient;
  logs: LogRecord[];
  /** Replace to change what CreateClinic does. */
  setCreateClinic(handler: CreateClinic): void;
  /** Whether the readiness hook succeeds. */
  setReady(ready: boolean): void;
}

const started: Started[] = [];

afterEach(async () => {
  for (const s of started.splice(0)) {
    s.client.close();
    s.health.close();
    await s.server.shutdown();
  }
});

/** Every method open to any caller: these tests are about the wrapper, not the rules. */
const OPEN_TO_ALL = Object.fromEntries(Object.keys(CatalogServiceService).map((key) => [key, 'authenticated'])) as AccessTable<typeof CatalogServiceService>;

async function start(options: { ready?: boolean | (() => Promise<void>); shutdownGraceMs?: number } = {}): Promise<Started> {
  const logs: LogRecord[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  let ready = options.ready ?? true;
  let createClinic: CreateClinic = async (_req, ctx) => clinicOf(ctx.correlationId);
  const handlers = { createClinic: (req: CreateClinicRequest, ctx: RequestContext) => createClinic(req, ctx) };
  const server = await startGrpcServer(
    {
      log: pino({ level: 'debug' }, stream),
      errorDomain: DOMAIN,
      services: [registration(SERVICE, CatalogServiceService, handlers as never, OPEN_TO_ALL)],
      checkReady: async () => {
        if (typeof ready === 'function') return ready();
        if (!ready) throw new Error('database unreachable');
      },
      shutdownGraceMs: options.shutdownGraceMs ?? 5_000,
      readinessIntervalMs: 20,
      maxRequestBytes: 64 * 1024,
    },
    '127.0.0.1',
    0,
  );
  const address = `127.0.0.1:${server.port}`;
  const s: Started = {
    server,
    address,
    client: new CatalogServiceClient(address, grpc.credentials.createInsecure()),
    health: createHealthClient(address),
    logs,
    setCreateClinic: (h) => (createClinic = h),
    setReady: (r) => (ready = r),
  };
  started.push(s);
  return s;
}

/** CreateClinic through the raw client, keeping the response headers. */
function createClinic(
  client: CatalogServiceClient,
  metadata = new grpc.Metadata(),
  options: Partial<grpc.CallOptions> = {},
): { headers: Promise<grpc.Metadata>; response: Promise<CreateClinicResponse> } {
  let call!: grpc.ClientUnaryCall;
  const response = new Promise<CreateClinicResponse>((resolve, reject) => {
    call = client.createClinic({ clinic: undefined }, metadata, options, (err, res) => (err ? reject(err) : resolve(res)));
  });
  const headers = new Promise<grpc.Metadata>((resolve) => call.on('metadata', resolve));
  return { headers, response };
}

describe('health', () => {
  it('answers SERVING for the server and each service once the readiness check passes', async () => {
    const s = await start();
    expect(await s.health.check('')).toBe('SERVING');
    expect(await s.health.check(SERVICE)).toBe('SERVING');
  });

  it('answers NOT_FOUND for a service it does not serve', async () => {
    const s = await start();
    await expectGrpcError(s.health.check('carebook.nothing.v1.NothingService'), grpc.status.NOT_FOUND);
  });

  it('follows the readiness check: NOT_SERVING while it fails, SERVING when it passes again', async () => {
    const s = await start({ ready: false });
    expect(await s.health.check('')).toBe('NOT_SERVING');
    expect(await s.health.check(SERVICE)).toBe('NOT_SERVING');

    s.setReady(true);
    await pollUntil('SERVING', async () => ((await s.health.check('')) === 'SERVING' ? true : undefined));
    expect(await s.health.check(SERVICE)).toBe('SERVING');

    s.setReady(false);
    await pollUntil('NOT_SERVING', async () => ((await s.health.check('')) === 'NOT_SERVING' ? true : undefined));
    expect(await s.health.check(SERVICE)).toBe('NOT_SERVING');
    // Checked every 20 ms, but each outage is logged once when it starts and once when it ends.
    const outages = s.logs.filter((l) => l.msg === 'dependency unavailable');
    expect(outages).toHaveLength(2);
    expect(outages.every((l) => l.dependency === 'database' && l.err?.message === 'database unreachable')).toBe(true);
    expect(s.logs.filter((l) => l.msg === 'dependency available again')).toHaveLength(1);
  });

  it('turns NOT_SERVING for watchers as soon as shutdown starts', async () => {
    const s = await start();
    const watches = ['', SERVICE].map((name) => s.health.watch(name));
    await pollUntil('first watch update', async () => (watches.every((w) => w.statuses.length > 0) ? true : undefined));
    expect(watches.map((w) => w.statuses)).toEqual([['SERVING'], ['SERVING']]);

    const stopped = s.server.shutdown();
    await pollUntil('NOT_SERVING on both watches', async () =>
      watches.every((w) => w.statuses.at(-1) === 'NOT_SERVING') ? true : undefined,
    );
    expect(watches.map((w) => w.statuses)).toEqual([
      ['SERVING', 'NOT_SERVING'],
      ['SERVING', 'NOT_SERVING'],
    ]);
    for (const w of watches) w.cancel();
    await stopped;
  });

  it('ends Watch streams at shutdown instead of waiting the grace period for them', async () => {
    const s = await start({ shutdownGraceMs: 30_000 });
    const watch = s.health.watch('');
    await pollUntil('first watch update', async () => (watch.statuses.length > 0 ? true : undefined));
    const ended = new Promise<void>((resolve) => watch.onEnd(resolve));
    const started = Date.now();
    await s.server.shutdown();
    await ended;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(watch.statuses).toEqual(['SERVING', 'NOT_SERVING']);
    expect(watch.error).toBeUndefined();
    expect(s.logs.some((l) => l.msg === 'in-flight calls cut off at shutdown')).toBe(false);
  });

  it('does not turn SERVING again when a readiness check that started before shutdown passes after it', async () => {
    let gate = deferred();
    gate.resolve();
    let checks = 0;
    const s = await start({
      ready: () => {
        checks += 1;
        return gate.promise;
      },
    });
    const watch = s.health.watch('');
    await pollUntil('SERVING', async () => (watch.statuses.includes('SERVING') ? true : undefined));
    // Hold the next periodic check, start shutting down while it is pending, then let it pass.
    gate = deferred();
    const checksBefore = checks;
    await pollUntil('a held readiness check', async () => (checks > checksBefore ? true : undefined));
    const stopped = s.server.shutdown();
    await pollUntil('NOT_SERVING', async () => (watch.statuses.at(-1) === 'NOT_SERVING' ? true : undefined));
    gate.resolve();
    watch.cancel();
    await stopped;
    expect(watch.statuses).toEqual(['SERVING', 'NOT_SERVING']);
    expect(s.logs.filter((l) => l.msg === 'health changed').map((l) => l.status)).toEqual(['SERVING', 'NOT_SERVING']);
  });
});

describe('correlation ids', () => {
  it('echoes the x-request-id the client sent and hands it to the handler', async () => {
    const s = await start();
    const metadata = new grpc.Metadata();
    metadata.set('x-request-id', 'req-42');
    const { headers, response } = createClinic(s.client, metadata);
    expect((await headers).get('x-request-id')).toEqual(['req-42']);
    expect((await response).clinic?.id).toBe('req-42');
  });

  it('generates a UUID when the client sent none, or one too long to trust', async () => {
    const s = await start();
    const none = createClinic(s.client);
    const [generated] = (await none.headers).get('x-request-id') as string[];
    expect(generated).toMatch(UUID);
    expect((await none.response).clinic?.id).toBe(generated);

    const metadata = new grpc.Metadata();
    metadata.set('x-request-id', 'x'.repeat(129));
    const tooLong = createClinic(s.client, metadata);
    expect((await tooLong.headers).get('x-request-id')[0]).toMatch(UUID);
  });

  it('sends the correlation id with errors too, and logs it with the full error', async () => {
    const s = await start();
    s.setCreateClinic(async () => {
      throw new Error('connection to 10.1.2.3 refused', { cause: new Error('ECONNREFUSED') });
    });
    const metadata = new grpc.Metadata();
    metadata.set('x-request-id', 'req-failing');
    const { headers, response } = createClinic(s.client, metadata);
    const err = await expectGrpcError(response, grpc.status.INTERNAL, { reason: 'INTERNAL' });
    expect(err.details).toBe('internal error');
    expect(err.errorInfo?.domain).toBe(DOMAIN);
    expect((await headers).get('x-request-id')).toEqual(['req-failing']);
    const logged = s.logs.find((l) => l.msg === 'call failed');
    expect(logged).toMatchObject({ level: 50, correlationId: 'req-failing', method: '/carebook.catalog.v1.CatalogService/CreateClinic' });
    // pino logs the whole error, causes included.
    expect(logged?.err?.message).toBe('connection to 10.1.2.3 refused: ECONNREFUSED');
    expect(logged?.err?.stack).toContain('grpc-server.test.ts');
  });
});

describe('errors over the wire', () => {
  it('keeps the code, reason, metadata and field violations of domain errors', async () => {
    const s = await start();
    s.setCreateClinic(async () => {
      throw new NotFoundError('clinic', 'c-1');
    });
    const notFound = await expectGrpcError(createClinic(s.client).response, grpc.status.NOT_FOUND, { reason: 'CLINIC_NOT_FOUND' });
    expect(notFound.errorInfo).toEqual({ reason: 'CLINIC_NOT_FOUND', domain: DOMAIN, metadata: { clinic_id: 'c-1' } });

    s.setCreateClinic(async () => {
      throw new InvalidArgumentError([
        { field: 'clinic.display_name', description: 'is required' },
        { field: 'clinic.address', description: 'is required' },
      ]);
    });
    const invalid = await expectGrpcError(createClinic(s.client).response, grpc.status.INVALID_ARGUMENT, { field: 'clinic.address' });
    expect(invalid.badRequest?.fieldViolations.map((v) => v.field)).toEqual(['clinic.display_name', 'clinic.address']);
    expect(s.logs.filter((l) => l.msg === 'call refused').map((l) => l.reason)).toEqual(['CLINIC_NOT_FOUND', 'INVALID_ARGUMENT']);
  });

  it('passes the caller deadline to the handler', async () => {
    const s = await start();
    s.setCreateClinic(async (_req, ctx) => clinicOf(ctx.correlationId, ctx.deadline?.toISOString() ?? 'none'));
    const deadline = new Date(Date.now() + 30_000);
    const withDeadline = await createClinic(s.client, new grpc.Metadata(), { deadline }).response;
    expect(Math.abs(Date.parse(withDeadline.clinic!.displayName) - deadline.getTime())).toBeLessThan(1_000);
    expect((await createClinic(s.client).response).clinic?.displayName).toBe('none');
  });
});

describe('graceful shutdown', () => {
  it('lets an in-flight call finish and refuses new ones', async () => {
    const s = await start();
    const entered = deferred();
    const release = deferred();
    s.setCreateClinic(async (_req, ctx) => {
      entered.resolve();
      await release.promise;
      return clinicOf(ctx.correlationId, 'finished');
    });
    const inFlight = createClinic(s.client).response;
    await entered.promise;

    let stoppedAt = 0;
    const stopped = s.server.shutdown().then(() => (stoppedAt = Date.now()));
    const late = new CatalogServiceClient(s.address, grpc.credentials.createInsecure());
    try {
      await expectGrpcError(createClinic(late, new grpc.Metadata(), { deadline: Date.now() + 5_000 }).response, grpc.status.UNAVAILABLE);
      expect(await s.health.check('', 2_000).catch((e: grpc.ServiceError) => grpc.status[e.code])).toBe('UNAVAILABLE');
    } finally {
      late.close();
    }
    expect(stoppedAt).toBe(0); // still waiting for the in-flight call

    const releasedAt = Date.now();
    release.resolve();
    expect((await inFlight).clinic?.displayName).toBe('finished');
    await stopped;
    expect(stoppedAt).toBeGreaterThanOrEqual(releasedAt);
    expect(s.logs.some((l) => l.msg === 'in-flight calls cut off at shutdown')).toBe(false);
    expect(s.logs.at(-1)?.msg).toBe('grpc server stopped');
  });

  it('cuts off calls that outlive the grace period', async () => {
    const s = await start({ shutdownGraceMs: 200 });
    const entered = deferred();
    s.setCreateClinic(async () => {
      entered.resolve();
      return new Promise<CreateClinicResponse>(() => undefined); // never answers
    });
    const stuck = createClinic(s.client).response;
    await entered.promise;
    await s.server.shutdown();
    const err = (await stuck.catch((e: unknown) => e)) as grpc.ServiceError;
    expect([grpc.status.UNAVAILABLE, grpc.status.CANCELLED, grpc.status.INTERNAL]).toContain(err.code);
    expect(s.logs.some((l) => l.msg === 'in-flight calls cut off at shutdown' && l.graceMs === 200)).toBe(true);
  });

  it('is idempotent', async () => {
    const s = await start();
    await Promise.all([s.server.shutdown(), s.server.shutdown()]);
    await s.server.shutdown();
    expect(s.logs.filter((l) => l.msg === 'grpc server stopped')).toHaveLength(1);
  });
});

describe('access tables', () => {
  it('name every method without a rule and every rule without a method', () => {
    const { createClinic: _omitted, ...others } = OPEN_TO_ALL;
    expect(accessTableProblems(CatalogServiceService, { ...others, createClinc: 'admin' })).toEqual([
      '/carebook.catalog.v1.CatalogService/CreateClinic has no access rule',
      'the access rule for createClinc names no method',
    ]);
    expect(accessTableProblems(CatalogServiceService, { ...OPEN_TO_ALL, getSlot: 'anyone' })).toEqual(['/carebook.catalog.v1.CatalogService/GetSlot has no access rule']);
  });

  it('stop a server from starting with an incomplete table', async () => {
    const { getSlot: _omitted, ...others } = OPEN_TO_ALL;
    await expect(
      startGrpcServer(
        {
          log: pino({ level: 'silent' }),
          errorDomain: DOMAIN,
          services: [registration(SERVICE, CatalogServiceService, {} as never, others as never)],
          checkReady: async () => {},
          shutdownGraceMs: 0,
          maxRequestBytes: 1024,
        },
        '127.0.0.1',
        0,
      ),
    ).rejects.toThrow('GetSlot has no access rule');
  });
});
