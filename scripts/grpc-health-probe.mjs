#!/usr/bin/env node
// A small stand-in for grpc_health_probe, for container health checks:
//   node scripts/grpc-health-probe.mjs [host:port] [--service=NAME] [--timeout=MS]
// Calls grpc.health.v1.Health/Check and exits 0 if the answer is SERVING,
// 1 otherwise (NOT_SERVING, an error, or no answer before the timeout), as
// Docker's HEALTHCHECK expects. Uses only production dependencies.
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

const args = process.argv.slice(2);
const option = (name, fallback) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const address = args.find((a) => !a.startsWith('--')) ?? '127.0.0.1:50051';
const serviceName = option('service', '');
const timeoutMs = Number(option('timeout', '3000'));

const HealthClient = grpc.makeClientConstructor(healthService, 'grpc.health.v1.Health');
const client = new HealthClient(address, grpc.credentials.createInsecure());
const deadline = new Date(Date.now() + timeoutMs);

client.check({ service: serviceName }, { deadline }, (err, response) => {
  client.close();
  const target = serviceName ? `${address} (${serviceName})` : address;
  if (err) {
    process.stderr.write(`health check of ${target} failed: ${err.code === undefined ? '' : `${grpc.status[err.code]}: `}${err.details ?? err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${target}: ${response.status}\n`);
  process.exit(response.status === 'SERVING' ? 0 : 1);
});
