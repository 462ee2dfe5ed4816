// Production build of one service: `node scripts/build-app.mjs <app>` bundles
// apps/<app>/src/main.ts into dist/apps/<app>/main.mjs. Workspace packages
// (@carebook/*) and generated code are bundled; the root package.json's
// dependencies stay external and come from node_modules at run time.
//
// Files the code finds through import.meta.url must sit where the bundle
// expects them:
// - the descriptor set (libs/proto/src/descriptors.ts reads ./descriptors.binpb
//   beside itself) is copied beside main.mjs;
// - the migrations (main.ts reads ../../../prisma/<app>/migrations) resolve from
//   dist/apps/<app>/ to <root>/prisma/<app>/migrations, as from apps/<app>/src/,
//   so an image must keep prisma/<app>/migrations at that place beside dist/.
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const app = process.argv[2];
if (!app || !/^[a-z][a-z0-9-]*$/.test(app)) {
  process.stderr.write('usage: node scripts/build-app.mjs <app>\n');
  process.exit(2);
}

const entry = join(root, 'apps', app, 'src', 'main.ts');
if (!existsSync(entry)) {
  process.stderr.write(`build-app: ${relative(root, entry)} does not exist\n`);
  process.exit(2);
}
const descriptorSet = join(root, 'libs', 'proto', 'src', 'descriptors.binpb');
if (!existsSync(descriptorSet)) {
  process.stderr.write(`build-app: ${relative(root, descriptorSet)} is missing; run \`npm run generate\` first\n`);
  process.exit(2);
}

const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = Object.keys(rootPackage.dependencies ?? {}).flatMap((name) => [name, `${name}/*`]);

const outDir = join(root, 'dist', 'apps', app);
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });

const outfile = join(outDir, 'main.mjs');
const result = await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external,
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});

await copyFile(descriptorSet, join(outDir, 'descriptors.binpb'));

const migrations = join(root, 'prisma', app, 'migrations');
if (!existsSync(migrations)) process.stderr.write(`build-app: warning: ${relative(root, migrations)} does not exist\n`);

const bytes = (await stat(outfile)).size;
const bundledInputs = Object.keys(result.metafile.inputs).length;
process.stdout.write(`build-app: ${relative(root, outfile)} (${Math.round(bytes / 1024)} KiB from ${bundledInputs} files) and descriptors.binpb\n`);
