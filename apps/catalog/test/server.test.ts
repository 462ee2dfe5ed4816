import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CatalogServiceClient, CreateClinicResponse } from '@carebook/proto/catalog';
import {
  adminUrl,
  callUnaryDynamically,
  createHealthClient,
  createReflectionClient,
  expectGrpcError,
  pollUntil,
  type HealthClient,
} from '@carebook/testing';
import { CATALOG_SERVICE_NAME } from '../src/server';
import { countRows, startCatalogUnderTest, type CatalogUnderTest } from './harness';

// The catalog server as a whole: health, correlation ids, reflection and
// shutdown, over real gRPC and a real database.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let catalog: CatalogUnderTest;
let health: HealthClient;
let closed = false;

beforeAll(async () => {
  catalog = await startCatalogUnderTest();
  health = createHealthClient(catalog.address);
});

afterAll(async () => {
  health?.close();
  if (!closed) await catalog?.close();
});

/** CreateClinic through the generated client, keeping the response headers. */
function createClinicWithHeaders(client: CatalogServiceClient, metadata: grpc.Metadata) {
  let call!: grpc.ClientUnaryCall;
  const response = new Promise<CreateClinicResponse>((resolve, reject) => {
    call = client.createClinic(
      { clinic: { id: '', displayName: 'Request Id Clinic', timeZone: 'Europe/Berlin', address: 'Hauptstr. 1' } },
      metadata,
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
  const headers = new Promise<grpc.Metadata>((resolve) => call.on('metadata', resolve));
  return { headers, response };
}

/** Runs `sql` as the admin on the server's maintenance database. */
async function asAdmin(sql: string, params: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl(inject('databaseAdminUrl'), 'postgres') });
  await client.connect();
  try {
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

const statusOf = async (service: string) => health.check(service).catch((e: grpc.ServiceError) => `error ${grpc.status[e.code]}`);

describe('health', () => {
  it('is SERVING for the server and the catalog service once the database answers', async () => {
    expect(await health.check('')).toBe('SERVING');
    expect(await health.check(CATALOG_SERVICE_NAME)).toBe('SERVING');
  });

  it('turns NOT_SERVING while the database refuses connections, and SERVING again after', async () => {
    const database = new URL(catalog.databaseUrl).pathname.slice(1);
    catalog.sql.on('error', () => undefined); // its idle connections are about to be terminated
    await asAdmin(`ALTER DATABASE ${pg.escapeIdentifier(database)} ALLOW_CONNECTIONS false`);
    try {
      await asAdmin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [database]);
      // Readiness is re-checked every 5 s.
      await pollUntil('NOT_SERVING', async () => ((await statusOf('')) === 'NOT_SERVING' ? true : undefined), 20_000, 100);
      expect(await health.check(CATALOG_SERVICE_NAME)).toBe('NOT_SERVING');
      // Calls meanwhile are told to retry, never INTERNAL.
      const err = await expectGrpcError(catalog.client.listClinics({ pageSize: 1, pageToken: '' }), grpc.status.UNAVAILABLE, { reason: 'DATABASE_UNAVAILABLE' });
      expect(err.details).toContain('safe to retry');
    } finally {
      await asAdmin(`ALTER DATABASE ${pg.escapeIdentifier(database)} ALLOW_CONNECTIONS true`);
    }
    await pollUntil('SERVING again', async () => ((await statusOf('')) === 'SERVING' ? true : undefined), 20_000, 100);
    expect(await health.check(CATALOG_SERVICE_NAME)).toBe('SERVING');
    // And the service works again on fresh connections.
    const { clinic } = await catalog.client.createClinic({
      clinic: { id: '', displayName: 'After Outage', timeZone: 'UTC', address: 'x' },
    });
    expect(clinic?.id).toMatch(UUID);
  });
});

describe('correlation ids (x-request-id)', () => {
  it('echoes the x-request-id the client sent', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-request-id', 'catalog-test-7');
    const { headers, response } = createClinicWithHeaders(catalog.client.raw, metadata);
    expect((await headers).get('x-request-id')).toEqual(['catalog-test-7']);
    expect((await response).clinic?.displayName).toBe('Request Id Clinic');
  });

  it('generates a UUID correlation id when the client sent none', async () => {
    const first = createClinicWithHeaders(catalog.client.raw, new grpc.Metadata());
    const second = createClinicWithHeaders(catalog.client.raw, new grpc.Metadata());
    const ids = [(await first.headers).get('x-request-id')[0], (await second.headers).get('x-request-id')[0]];
    expect(ids[0]).toMatch(UUID);
    expect(ids[1]).toMatch(UUID);
    expect(ids[0]).not.toBe(ids[1]);
    await Promise.all([first.response, second.response]);
  });
});

describe.each(['v1', 'v1alpha'] as const)('server reflection %s', (version) => {
  it('lists the catalog service', async () => {
    const reflection = createReflectionClient(catalog.address, version);
    try {
      expect(await reflection.listServices()).toContain(CATALOG_SERVICE_NAME);
    } finally {
      reflection.close();
    }
  });

  it('serves each file with its imports, the health service and the error detail types, as grpcurl needs', async () => {
    const reflection = createReflectionClient(catalog.address, version);
    try {
      const [catalogFile] = await reflection.fileContainingSymbol(CATALOG_SERVICE_NAME);
      const file = descriptor.FileDescriptorProto.decode(catalogFile) as unknown as descriptor.IFileDescriptorProto;
      expect(file.name).toBe('carebook/catalog/v1/catalog.proto');
      expect(file.dependency).toEqual(
        expect.arrayContaining(['google/protobuf/timestamp.proto', 'google/type/latlng.proto', 'google/type/timeofday.proto']),
      );
      const [timestamp] = await reflection.fileContainingSymbol('google.protobuf.Timestamp');
      expect((descriptor.FileDescriptorProto.decode(timestamp) as unknown as descriptor.IFileDescriptorProto).name).toBe('google/protobuf/timestamp.proto');
      // The search filters' types, so grpcurl can send near and local_time_from.
      for (const [symbol, name] of [['google.type.LatLng', 'google/type/latlng.proto'], ['google.type.TimeOfDay', 'google/type/timeofday.proto']]) {
        const [typeFile] = await reflection.fileContainingSymbol(symbol);
        expect((descriptor.FileDescriptorProto.decode(typeFile) as unknown as descriptor.IFileDescriptorProto).name).toBe(name);
      }
      expect(await reflection.listServices()).toContain('grpc.health.v1.Health');
      // The error detail types, so grpcurl can decode grpc-status-details-bin.
      for (const symbol of ['google.rpc.ErrorInfo', 'google.rpc.BadRequest']) {
        const [file] = await reflection.fileContainingSymbol(symbol);
        expect((descriptor.FileDescriptorProto.decode(file) as unknown as descriptor.IFileDescriptorProto).name).toBe('google/rpc/error_details.proto');
      }
    } finally {
      reflection.close();
    }
  });

  it('answers an empty extension list for the error detail types, as grpcurl asks before decoding an Any', async () => {
    const reflection = createReflectionClient(catalog.address, version);
    try {
      for (const symbol of ['google.rpc.ErrorInfo', 'google.rpc.BadRequest']) {
        expect(await reflection.allExtensionNumbersOfType(symbol)).toEqual([]);
      }
      await expect(reflection.allExtensionNumbersOfType('google.rpc.NoSuchDetail')).rejects.toThrow(/reflection error 5: Symbol not found/);
    } finally {
      reflection.close();
    }
  });

  it('serves file descriptors from which CreateClinic can be called without carebook protos', async () => {
    const reflection = createReflectionClient(catalog.address, version);
    try {
      const files = await reflection.fileContainingSymbol(CATALOG_SERVICE_NAME);
      expect(files.length).toBeGreaterThan(0);

      const root = await reflection.loadSymbol(CATALOG_SERVICE_NAME);
      const service = root.lookupService(CATALOG_SERVICE_NAME);
      expect(Object.keys(service.methods)).toEqual(
        expect.arrayContaining(['CreateClinic', 'GetClinic', 'ListClinics', 'CreateSlots', 'SearchSlots', 'ClaimSlot', 'ReleaseSlot']),
      );

      const before = await countRows(catalog.sql);
      const displayName = `Reflected Clinic ${version}`;
      const response = await callUnaryDynamically(catalog.address, root, CATALOG_SERVICE_NAME, 'CreateClinic', {
        clinic: { display_name: displayName, time_zone: 'Europe/Paris', address: '1 rue de Rivoli' },
      });
      const clinic = response.clinic as { id: string; display_name: string; time_zone: string; create_time: { seconds: string } };
      expect(clinic).toMatchObject({ display_name: displayName, time_zone: 'Europe/Paris', address: '1 rue de Rivoli' });
      expect(clinic.id).toMatch(UUID);
      expect(Math.abs(Number(clinic.create_time.seconds) * 1000 - Date.now())).toBeLessThan(60_000);

      const { rows } = await catalog.sql.query('SELECT display_name, time_zone FROM clinic WHERE id = $1', [clinic.id]);
      expect(rows).toEqual([{ display_name: displayName, time_zone: 'Europe/Paris' }]);
      expect((await countRows(catalog.sql)).clinics).toBe(before.clinics + 1);
    } finally {
      reflection.close();
    }
  });

  it('lets a dynamic client read error details, and a refused create writes nothing', async () => {
    const reflection = createReflectionClient(catalog.address, version);
    try {
      const root = await reflection.loadSymbol(CATALOG_SERVICE_NAME);
      const before = await countRows(catalog.sql);
      const call = callUnaryDynamically(catalog.address, root, CATALOG_SERVICE_NAME, 'CreateClinic', {
        clinic: { display_name: ' ', time_zone: 'Mars/Olympus_Mons', address: 'x' },
      });
      const err = await expectGrpcError(call, grpc.status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field: 'clinic.time_zone' });
      expect(err.badRequest?.fieldViolations.map((v) => v.field)).toEqual(['clinic.display_name', 'clinic.time_zone']);
      expect(await countRows(catalog.sql)).toEqual(before);
    } finally {
      reflection.close();
    }
  });
});

describe('shutdown', () => {
  // Runs last: it stops this file's server.
  it('tells watchers NOT_SERVING, ends their streams and then refuses calls', async () => {
    const watch = health.watch(CATALOG_SERVICE_NAME);
    await pollUntil('first watch update', async () => (watch.statuses.length > 0 ? true : undefined));
    const ended = new Promise<void>((resolve) => watch.onEnd(resolve));

    closed = true;
    await catalog.close();
    await ended;
    expect(watch.statuses).toEqual(['SERVING', 'NOT_SERVING']);
    await expectGrpcError(health.check('', 2_000), grpc.status.UNAVAILABLE);
  });
});
