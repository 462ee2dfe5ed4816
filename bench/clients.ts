import type { Client } from '@grpc/grpc-js';
import { createBookingClient, type BookingClient } from '@carebook/proto/booking';
import { createCatalogClient, type CatalogClient } from '@carebook/proto/catalog';

const OWN_CHANNEL = { 'grpc.use_local_subchannel_pool': 1 };

function ready(client: Client, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())));
}

/** `count` catalog clients, each on a channel (a TCP connection) of its own, connected before they are returned. */
export async function catalogClients(address: string, count: number): Promise<CatalogClient[]> {
  const clients = Array.from({ length: count }, () => createCatalogClient(address, OWN_CHANNEL));
  await Promise.all(clients.map((c) => ready(c.raw, 60_000)));
  return clients;
}

/** `count` booking clients, each on a channel of its own, connected before they are returned. */
export async function bookingClients(address: string, count: number): Promise<BookingClient[]> {
  const clients = Array.from({ length: count }, () => createBookingClient(address, OWN_CHANNEL));
  // Connect in batches: a thousand handshakes at once would be measured as the server's backlog.
  for (let i = 0; i < clients.length; i += 100) await Promise.all(clients.slice(i, i + 100).map((c) => ready(c.raw, 60_000)));
  return clients;
}

/** Closes every client. */
export function closeAll(clients: Array<{ close(): void }>): void {
  for (const c of clients) c.close();
}
