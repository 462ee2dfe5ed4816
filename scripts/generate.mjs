// Regenerates everything derived from source: ts-proto stubs and the
// descriptor set (from proto/ through buf), and each service's Prisma Client.
// Runs on `npm install`; needs nothing outside node_modules.
import { execFileSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const run = (cmd, args, env = {}) =>
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });

const googleProtos = ['google/rpc/status.proto', 'google/rpc/error_details.proto'];

if (!only || only === 'proto') {
  const paths = ['--path', 'proto/carebook', ...googleProtos.flatMap((p) => ['--path', `node_modules/google-proto-files/${p}`])];
  run(bin('buf'), ['generate', ...paths]);
  // The descriptor set serves reflection; with the google.rpc error types in
  // it, grpcurl can decode the details of carebook's errors.
  run(bin('buf'), ['build', ...paths, '-o', 'libs/proto/src/descriptors.binpb']);
}

if (!only || only === 'prisma') {
  // prisma generate needs no schema engine, but insists the variable names a
  // file when set; the engine download is unreachable here anyway.
  const env = { PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' };
  for (const service of readdirSync(join(root, 'prisma'))) {
    const schema = join('prisma', service, 'schema.prisma');
    if (existsSync(join(root, schema))) run(bin('prisma'), ['generate', '--schema', schema], env);
  }
}
