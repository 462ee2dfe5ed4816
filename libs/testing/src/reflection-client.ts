import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';

// A gRPC server-reflection client, as grpcurl would use it: it knows only the
// reflection protos that @grpc/reflection ships, learns every other type from
// the server, and calls methods dynamically with protobufjs.

export type ReflectionVersion = 'v1' | 'v1alpha';

interface ReflectionResponse {
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  list_services_response?: { service: { name: string }[] };
  all_extension_numbers_response?: { base_type_name: string; extension_number: number[] };
  error_response?: { error_code: number; error_message: string };
}

type ReflectionStub = grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<object, ReflectionResponse> };

export interface ReflectionClient {
  /** Fully-qualified names of the services the server lists. */
  listServices(): Promise<string[]>;
  /** The encoded FileDescriptorProtos the server returns for a symbol. */
  fileContainingSymbol(symbol: string): Promise<Buffer[]>;
  /** The extension field numbers of message type `type` (grpcurl asks this of every Any it decodes). */
  allExtensionNumbersOfType(type: string): Promise<number[]>;
  /** A protobufjs Root built from the file defining `symbol` and, transitively, every file it imports. */
  loadSymbol(symbol: string): Promise<protobuf.Root>;
  close(): void;
}

function reflectionProtoPath(version: ReflectionVersion): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json'));
  return join(packageDir, 'build', 'proto', 'grpc', 'reflection', version, 'reflection.proto');
}

/** A reflection client of `version` for the server at `address`. */
export function createReflectionClient(address: string, version: ReflectionVersion): ReflectionClient {
  const definition = loadSync(reflectionProtoPath(version), { keepCase: true, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: Record<ReflectionVersion, { ServerReflection: grpc.ServiceClientConstructor }> };
  };
  const stub = new pkg.grpc.reflection[version].ServerReflection(address, grpc.credentials.createInsecure()) as unknown as ReflectionStub;

  const ask = (request: object) =>
    new Promise<ReflectionResponse>((resolve, reject) => {
      const call = stub.ServerReflectionInfo();
      call.once('data', (response: ReflectionResponse) => {
        call.end();
        if (response.error_response) reject(new Error(`reflection error ${response.error_response.error_code}: ${response.error_response.error_message}`));
        else resolve(response);
      });
      call.once('error', reject);
      call.write(request);
    });
  const files = async (request: object) => (await ask(request)).file_descriptor_response?.file_descriptor_proto ?? [];

  return {
    listServices: async () => ((await ask({ list_services: '*' })).list_services_response?.service ?? []).map((s) => s.name),
    fileContainingSymbol: (symbol) => files({ file_containing_symbol: symbol }),
    allExtensionNumbersOfType: async (type) =>
      (await ask({ all_extension_numbers_of_type: type })).all_extension_numbers_response?.extension_number ?? [],
    async loadSymbol(symbol) {
      const byName = new Map<string, descriptor.IFileDescriptorProto>();
      const add = (buffers: Buffer[]) => {
        for (const bytes of buffers) {
          const file = descriptor.FileDescriptorProto.decode(bytes) as unknown as descriptor.IFileDescriptorProto;
          byName.set(file.name!, file);
        }
      };
      add(await files({ file_containing_symbol: symbol }));
      // Servers may or may not include dependencies; fetch whatever is still missing by file name.
      for (let missing = missingDependencies(byName); missing.length > 0; missing = missingDependencies(byName)) {
        for (const name of missing) add(await files({ file_by_filename: name }));
      }
      return rootFromDescriptor({ file: [...byName.values()] });
    },
    close: () => stub.close(),
  };
}

// protobufjs/ext/descriptor adds Root.fromDescriptor at run time; its typings do not declare it.
const rootFromDescriptor = (set: descriptor.IFileDescriptorSet): protobuf.Root =>
  (protobuf.Root as unknown as { fromDescriptor(set: descriptor.IFileDescriptorSet): protobuf.Root }).fromDescriptor(set);

function missingDependencies(files: Map<string, descriptor.IFileDescriptorProto>): string[] {
  const missing = new Set<string>();
  for (const file of files.values()) for (const dep of file.dependency ?? []) if (!files.has(dep)) missing.add(dep);
  return [...missing];
}

/** Calls unary `service`/`method` at `address` with types from `root` (e.g. learnt through reflection); resolves with the response as a plain object. */
export function callUnaryDynamically(
  address: string,
  root: protobuf.Root,
  service: string,
  method: string,
  request: Record<string, unknown>,
  metadata = new grpc.Metadata(),
): Promise<Record<string, unknown>> {
  const definition = root.lookupService(service).methods[method];
  if (!definition) throw new Error(`${service} has no method ${method}`);
  const requestType = root.lookupType(definition.requestType);
  const responseType = root.lookupType(definition.responseType);
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    client.makeUnaryRequest(
      `/${service}/${method}`,
      (value: Record<string, unknown>) => Buffer.from(requestType.encode(requestType.fromObject(value)).finish()),
      (bytes: Buffer) => responseType.toObject(responseType.decode(bytes), { longs: String, enums: String, defaults: true }),
      request,
      metadata,
      { deadline: Date.now() + 10_000 },
      (err, response) => (err ? reject(err) : resolve(response!)),
    );
  }).finally(() => client.close());
}
