import { Client, credentials, Metadata, status, type ChannelCredentials, type ChannelOptions, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { readStatusDetails } from '@carebook/server';

// Unary and server-streaming calls with bytes the caller encoded, and the size
// of everything that came back: status message, headers, trailers
// (grpc-status-details-bin) and body.

/** A reply to a raw call: its status and how many bytes the server sent back. */
export interface RawReply {
  code: status;
  details: string;
  /** Status message + every header and trailer (key and value) + response body. */
  replyBytes: number;
  /** Of which the grpc-status-details-bin trailer. */
  statusDetailsBytes: number;
  /** ErrorInfo.reason of an error, if it carries one. */
  reason?: string;
  /**
   * Set when the client's HTTP/2 stream or session broke instead of a status
   * arriving (e.g. trailers too large to receive): the status is grpc-js's, not
   * the server's, and the client must be replaced before the next call.
   */
  transportFailure?: string;
  /** A server stream's messages received before the caller ended it (see callRawStream). */
  streamedMessages?: number;
}

/** grpc-js's own statuses for a stream or session that broke under it. */
const TRANSPORT_FAILURE = /^Received RST_STREAM|session has been destroyed|Protocol error/;

function reasonOf(trailers: Metadata): string | undefined {
  try {
    return readStatusDetails({ metadata: trailers } as ServiceError).errorInfo?.reason;
  } catch {
    return undefined;
  }
}

const metadataBytes = (metadata: Metadata | undefined) =>
  Object.entries(metadata?.toJSON() ?? {}).reduce(
    (sum, [key, values]) => sum + values.reduce((s, v) => s + key.length + (typeof v === 'string' ? Buffer.byteLength(v) : v.length), 0),
    0,
  );

/** A grpc-js client to `address` that accepts replies of any size, so the test sees how big they are; plaintext unless `channelCredentials` say otherwise. */
export function createRawClient(address: string, channelCredentials: ChannelCredentials = credentials.createInsecure(), options: ChannelOptions = {}): Client {
  return new Client(address, channelCredentials, {
    ...options,
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    'grpc.max_metadata_size': 64 * 1024 * 1024,
  });
}

const identity = (b: Buffer) => b;

/** Sends `bytes` as the request of the unary method at `path`; every call has a deadline of `deadlineMs`. */
export function callRaw(client: Client, path: string, bytes: Uint8Array, metadata = new Metadata(), deadlineMs = 5000): Promise<RawReply> {
  return new Promise((resolve) => {
    let headers: Metadata | undefined;
    let body: Buffer | undefined;
    let error: ServiceError | null = null;
    const call = client.makeUnaryRequest(path, identity, identity, Buffer.from(bytes), metadata, { deadline: Date.now() + deadlineMs }, (err, response) => {
      error = err;
      body = response;
    });
    call.on('metadata', (m: Metadata) => (headers = m));
    call.on('status', (s: StatusObject) => {
      // The callback runs before 'status'; the error's details are the status's.
      const details = error?.details ?? s.details;
      const detailsBin = s.metadata.get('grpc-status-details-bin').reduce<number>((n, v) => n + v.length, 0);
      resolve({
        code: s.code,
        details,
        replyBytes: Buffer.byteLength(details) + metadataBytes(headers) + metadataBytes(s.metadata) + (body?.length ?? 0),
        statusDetailsBytes: detailsBin,
        reason: reasonOf(s.metadata),
        transportFailure: s.code !== status.OK && TRANSPORT_FAILURE.test(details) ? details : undefined,
      });
    });
  });
}

/** How long a server stream may stay silent before callRawStream ends it as accepted: a refusal comes sooner. */
export const STREAM_IDLE_MS = 500;

/**
 * Sends `bytes` as the request of the server-streaming method at `path`. A
 * refusal ends the stream with its status; a stream the server keeps open is
 * cancelled by the caller at its first message, or after `idleMs` without
 * one, and comes back as OK ("accepted") with the bytes received until then.
 */
export function callRawStream(client: Client, path: string, bytes: Uint8Array, metadata = new Metadata(), deadlineMs = 5000, idleMs = STREAM_IDLE_MS): Promise<RawReply> {
  return new Promise((resolve) => {
    let headers: Metadata | undefined;
    let bodyBytes = 0;
    let messages = 0;
    let endedByCaller = false;
    const call = client.makeServerStreamRequest(path, identity, identity, Buffer.from(bytes), metadata, { deadline: Date.now() + deadlineMs });
    const end = () => {
      if (endedByCaller) return;
      endedByCaller = true;
      call.cancel();
    };
    const idle = setTimeout(end, idleMs);
    call.on('metadata', (m: Metadata) => (headers = m));
    call.on('data', (message: Buffer) => {
      if (endedByCaller) return;
      messages++;
      bodyBytes += message.length;
      end();
    });
    call.on('error', () => {}); // the status carries it
    call.on('status', (s: StatusObject) => {
      clearTimeout(idle);
      const accepted = endedByCaller && s.code === status.CANCELLED;
      const details = accepted ? `stream ended by the caller after ${messages} message(s)` : s.details;
      resolve({
        code: accepted ? status.OK : s.code,
        details,
        replyBytes: Buffer.byteLength(accepted ? '' : s.details) + metadataBytes(headers) + (accepted ? 0 : metadataBytes(s.metadata)) + bodyBytes,
        statusDetailsBytes: s.metadata.get('grpc-status-details-bin').reduce<number>((n, v) => n + v.length, 0),
        reason: reasonOf(s.metadata),
        transportFailure: s.code !== status.OK && !accepted && TRANSPORT_FAILURE.test(s.details) ? s.details : undefined,
        streamedMessages: messages,
      });
    });
  });
}

/** A fuzz target's request encoder, from a grpc-js service definition's method. */
export function codecOf<T>(method: { requestSerialize(value: T): Buffer }): { encode(message: T): { finish(): Uint8Array } } {
  return { encode: (message) => ({ finish: () => method.requestSerialize(message) }) };
}
