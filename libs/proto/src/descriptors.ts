import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createFileRegistry, fromBinary, type FileRegistry } from '@bufbuild/protobuf';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { loadFileDescriptorSetFromBuffer, loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';

const descriptorSetPath = fileURLToPath(new URL('./descriptors.binpb', import.meta.url));

/** The encoded FileDescriptorProtos of a FileDescriptorSet, byte for byte as buf wrote them. */
function splitDescriptorSet(set: Uint8Array): Buffer[] {
  const reader = new BinaryReader(set);
  const files: Buffer[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) files.push(Buffer.from(reader.bytes()));
    else reader.skip(wireType);
  }
  return files;
}

/**
 * What server reflection serves: every carebook proto with its imports, plus
 * grpc.health.v1. The files buf wrote go first and unchanged, because the
 * reflection service keeps the first copy of each file, and proto-loader's
 * re-encoded copies lose their `dependency` lists (without which grpcurl
 * cannot resolve google.protobuf.Timestamp).
 */
export function reflectionPackageDefinition(): PackageDefinition {
  const set = readFileSync(descriptorSetPath);
  // The reflection service reads only `fileDescriptorProtos` of each entry,
  // so the original files can ride along as an entry of their own.
  const originals = { fileDescriptorProtos: splitDescriptorSet(set) } as unknown as PackageDefinition[string];
  return { 'carebook.originalFiles': originals, ...loadFileDescriptorSetFromBuffer(set), ...loadSync(healthProtoPath) };
}

/** The name reflection lists for the standard health service. */
export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

/** Every carebook proto and its imports as a protobuf-es registry, for decoding requests reflectively. */
export function descriptorRegistry(): FileRegistry {
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetPath)));
}
