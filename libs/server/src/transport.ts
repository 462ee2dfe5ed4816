import * as grpc from '@grpc/grpc-js';
import type { ClientTls, ServerTls } from './tls-config';

// How carebook's processes talk gRPC: credentials (plaintext, TLS or mutual
// TLS), keepalive and message sizes, set explicitly on both sides so they
// agree (docs/operations.md, section 5).

/** The largest reply a server sends, and a client accepts, in bytes (grpc-js's own default, set explicitly). */
export const MAX_REPLY_BYTES = 4 * 1024 * 1024;

/** How often a client pings an idle connection, to find a dead peer (a half-open TCP connection) before a call does. */
export const CLIENT_KEEPALIVE_TIME_MS = 30_000;
/** How often a server pings its clients' connections, to drop those of vanished clients. */
export const SERVER_KEEPALIVE_TIME_MS = 60_000;
/** How long either side waits for a ping's answer before closing the connection. */
export const KEEPALIVE_TIMEOUT_MS = 10_000;
/**
 * The shortest interval between a client's pings a server tolerates without
 * data (the setting of gRPC C-core and of proxies that follow it; grpc-js
 * servers do not police pings). Clients ping three times less often.
 */
export const MIN_PING_INTERVAL_MS = 10_000;

/** grpc-js server options: request cap, reply cap and keepalive. */
export function serverChannelOptions(maxRequestBytes: number): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': maxRequestBytes,
    'grpc.max_send_message_length': MAX_REPLY_BYTES,
    'grpc.keepalive_time_ms': SERVER_KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': MIN_PING_INTERVAL_MS,
  };
}

/**
 * grpc-js client options of one long-lived channel: keepalive pings (also
 * between calls), reply and request caps, and with TLS the name the server's
 * certificate must carry when the target's host is not it.
 */
export function clientChannelOptions(tls?: ClientTls): grpc.ChannelOptions {
  return {
    'grpc.keepalive_time_ms': CLIENT_KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_receive_message_length': MAX_REPLY_BYTES,
    'grpc.max_send_message_length': MAX_REPLY_BYTES,
    ...(tls?.serverName ? { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } : {}),
  };
}

/** Server credentials: plaintext without `tls`; TLS; or mutual TLS (client certificates required and verified) when `tls.ca` is set. */
export function serverCredentials(tls?: ServerTls): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(tls.ca ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.ca !== undefined);
}

/** Channel credentials: plaintext without `tls`; else TLS verifying the server against `tls.ca`, presenting `tls.cert` if set. */
export function channelCredentials(tls?: ClientTls): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null);
}
