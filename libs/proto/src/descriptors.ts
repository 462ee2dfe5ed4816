import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadFileDescriptorSetFromBuffer, type PackageDefinition } from '@grpc/proto-loader';

const descriptorSetPath = fileURLToPath(new URL('./descriptors.binpb', import.meta.url));

/** The FileDescriptorSet of every carebook proto (with imports), built by `buf build`. */
export function loadCarebookPackageDefinition(): PackageDefinition {
  return loadFileDescriptorSetFromBuffer(readFileSync(descriptorSetPath), {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
  });
}
