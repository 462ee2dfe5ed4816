// A bare @grpc/grpc-js server with one unary method that answers at once:
// the ceiling of any gRPC service on this machine, run as its own process
// like the services. Prints its port on stdout when listening.
import * as grpc from '@grpc/grpc-js';

/** The no-op method: bytes in, bytes out, no (de)serialisation work. */
export const NOOP_METHOD = {
  path: '/bench.Noop/Ping',
  requestStream: false,
  responseStream: false,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
} as const;

function main(): void {
  const server = new grpc.Server();
  server.addService({ Ping: NOOP_METHOD } as grpc.ServiceDefinition, {
    Ping: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.alloc(0)),
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    process.stdout.write(`listening ${port}\n`);
  });
  process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
}

if (process.argv[1]?.endsWith('noop-server.ts')) main();
