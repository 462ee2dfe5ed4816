// `npm run bench`: seeds a data set and measures carebook's services against
// raw-SQL and bare-gRPC baselines and peer booking strategies, in one run.
// Flags: `npm run bench -- --help` and the README.
import { parseOptions } from './options';
import { runBenchmark } from './run';

async function main(): Promise<void> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const result = await runBenchmark(options);
  if (result.files) {
    process.stdout.write(`\n${result.markdown}\n`);
    process.stdout.write(`results: ${result.files.json}\n          ${result.files.markdown}\n`);
  }
  // grpc-js and pg handles may linger; the work is done.
  process.exit(result.failures.length ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
