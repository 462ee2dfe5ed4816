import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';

// A client of the standard grpc.health.v1.Health service, built from the
// health.proto that grpc-health-check ships (no carebook protos involved).

export type HealthStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** A stream of Watch updates. */
export interface HealthWatch {
  /** Every status received so far, in order. */
  statuses: HealthStatus[];
  /** The error that ended the stream, if any. */
  error: grpc.ServiceError | undefined;
  /** Calls `listener` once the stream has ended, by the server or with an error. */
  onEnd(listener: () => void): void;
  cancel(): void;
}

export interface HealthClient {
  /** Health/Check of `service` ('' for the whole server); rejects with the gRPC error. */
  check(service: string, timeoutMs?: number): Promise<HealthStatus>;
  /** Opens Health/Watch of `service`. */
  watch(service: string): HealthWatch;
  close(): void;
}

type RawHealthClient = grpc.Client & {
  Check(req: { service: string }, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: { status: HealthStatus }) => void): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: HealthStatus }>;
};

/** A health client for the server at `address` (host:port); plaintext unless `channelCredentials` say otherwise. */
export function createHealthClient(address: string, channelCredentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()): HealthClient {
  const definition = loadSync(protoPath, { enums: String, defaults: true, keepCase: true });
  const Health = grpc.loadPackageDefinition(definition).grpc as unknown as { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  const client = new Health.health.v1.Health(address, channelCredentials) as unknown as RawHealthClient;
  return {
    check: (service, timeoutMs = 5_000) =>
      new Promise((resolve, reject) =>
        client.Check({ service }, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res.status))),
      ),
    watch(service) {
      const call = client.Watch({ service });
      const watch: HealthWatch = {
        statuses: [],
        error: undefined,
        onEnd: (listener) => call.on('status', () => listener()),
        cancel: () => call.cancel(),
      };
      call.on('data', (res: { status: HealthStatus }) => watch.statuses.push(res.status));
      call.on('error', (err: grpc.ServiceError) => (watch.error = err));
      return watch;
    },
    close: () => client.close(),
  };
}
