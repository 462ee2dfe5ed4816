import * as grpc from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
// Deep imports: the package exports only ReflectionService, which keeps these
// two implementations private. Both are public in its typings, and the
// version is pinned.
import { ReflectionV1Implementation } from '@grpc/reflection/build/src/implementations/reflection-v1.js';
import { ReflectionV1AlphaImplementation } from '@grpc/reflection/build/src/implementations/reflection-v1alpha.js';

/**
 * @grpc/reflection answers AllExtensionNumbersOfType with NOT_FOUND for a
 * type that no extension extends. grpc-go answers an empty list, and grpcurl
 * relies on it: it asks for the extensions of every Any it decodes, so with
 * NOT_FOUND it prints google.rpc.ErrorInfo and BadRequest details as raw bytes.
 * Unknown symbols still get NOT_FOUND.
 */
function answerEmptyExtensionLists(reflection: ReflectionV1Implementation): void {
  const allExtensionNumbersOfType = reflection.allExtensionNumbersOfType.bind(reflection);
  reflection.allExtensionNumbersOfType = (symbol) => {
    try {
      return allExtensionNumbersOfType(symbol);
    } catch (err) {
      if ((err as { statusCode?: unknown }).statusCode !== grpc.status.NOT_FOUND) throw err;
      reflection.fileContainingSymbol(symbol); // throws NOT_FOUND for a symbol it does not know
      return { baseTypeName: symbol, extensionNumber: [] };
    }
  };
}

/** Adds server reflection v1 and v1alpha for the files of `definition`, listing `services`. */
export function addReflection(server: Pick<grpc.Server, 'addService'>, definition: PackageDefinition, services: string[]): void {
  for (const reflection of [
    new ReflectionV1Implementation(definition, { services }),
    new ReflectionV1AlphaImplementation(definition, { services }),
  ]) {
    answerEmptyExtensionLists(reflection);
    reflection.addToServer(server);
  }
}
