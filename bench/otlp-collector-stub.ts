// A stand-in for an OpenTelemetry collector: accepts OTLP/HTTP trace exports
// (protobuf, as the services' exporter sends them), counts their spans and
// discards them. It runs in the load generator's process, so its CPU is
// counted there, not in the services'.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

/** A running stub: where to send spans, and what it got. */
export interface CollectorStub {
  /** The base URL for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces). */
  endpoint: string;
  /** Spans received so far. */
  spans(): number;
  /** Export requests received so far, and how many could not be read. */
  requests(): { received: number; unreadable: number };
  close(): Promise<void>;
}

/** The number of entries of repeated message field `field` in `bytes`, each read by `inner` (or counted as 1). */
function countRepeated(bytes: Uint8Array, field: number, inner?: (b: Uint8Array) => number): number {
  const reader = new BinaryReader(bytes);
  let count = 0;
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    if (no === field && wireType === WireType.LengthDelimited) {
      const entry = reader.bytes();
      count += inner ? inner(entry) : 1;
    } else reader.skip(wireType, no);
  }
  return count;
}

/**
 * Spans in an ExportTraceServiceRequest: resource_spans (1) → scope_spans (2)
 * → spans (2), per opentelemetry/proto/collector/trace/v1.
 */
export const spansInExport = (body: Uint8Array): number => countRepeated(body, 1, (rs) => countRepeated(rs, 2, (ss) => countRepeated(ss, 2)));

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

/** Starts the stub on 127.0.0.1 at a free port. */
export async function startCollectorStub(): Promise<CollectorStub> {
  let spans = 0;
  let received = 0;
  let unreadable = 0;
  const server = createServer((req, res) => {
    bodyOf(req).then(
      (body) => {
        received++;
        try {
          spans += spansInExport(body);
        } catch {
          unreadable++;
        }
        // An empty ExportTraceServiceResponse: everything accepted.
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      },
      () => res.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: () => spans,
    requests: () => ({ received, unreadable }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
