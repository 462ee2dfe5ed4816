import pg from 'pg';
import { createBookingClient, type BookingClient } from '@carebook/proto/booking';
import { createCatalogClient, type CatalogClient } from '@carebook/proto/catalog';
import { checkBookingInvariants, createTestDatabase, freePort, startServiceProcess, type InvariantReport, type ServiceProcess } from '@carebook/testing';

/** Deadline and reconciliation settings of the cluster's booking processes. */
export interface ClusterTiming {
  catalogTimeoutMs: number;
  reconcileGraceMs: number;
}

/** Catalog and booking replicas as separate OS processes, sharing one database per service. */
export interface Cluster {
  catalogs: ServiceProcess[];
  bookings: ServiceProcess[];
  catalogUrl: string;
  bookingUrl: string;
  /** A client of catalog replica 0, for seeding and checks. */
  catalogClient: CatalogClient;
  /** Starts catalog replica `i` again on its port, after it stopped or was killed. */
  restartCatalog(i: number): Promise<void>;
  /** Starts booking replica `i` again on its port. */
  restartBooking(i: number): Promise<void>;
  /** A booking client on a channel of its own, to replica `i`. */
  bookingClientOwnChannel(i: number): BookingClient;
  checkInvariants(settled: boolean): Promise<InvariantReport>;
  /** Ids of the appointments that are BOOKED in the booking database. */
  bookedAppointmentIds(): Promise<Set<string>>;
  close(): Promise<void>;
}

/** Databases a cluster runs on, with how to drop them when it closes. */
export interface ClusterDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * Starts `catalogs` catalog and `bookings` booking processes on fresh
 * databases cloned from the test templates, or on `databases` (which the
 * services migrate themselves at start-up, as in production).
 */
export async function startCluster(
  catalogs: number,
  bookings: number,
  timing: ClusterTiming,
  databases?: { catalog: ClusterDatabase; booking: ClusterDatabase },
): Promise<Cluster> {
  const [catalogDb, bookingDb] = databases ? [databases.catalog, databases.booking] : await Promise.all([createTestDatabase('catalog'), createTestDatabase('booking')]);
  const catalogPorts = await Promise.all(Array.from({ length: catalogs }, freePort));
  const bookingPorts = await Promise.all(Array.from({ length: bookings }, freePort));
  const catalogEnv = (port: number) => ({ CATALOG_PORT: String(port), CATALOG_DATABASE_URL: catalogDb.url, CATALOG_DB_POOL_SIZE: '10' });
  const bookingEnv = (port: number) => ({
    BOOKING_PORT: String(port),
    BOOKING_DATABASE_URL: bookingDb.url,
    BOOKING_DB_POOL_SIZE: '10',
    // Every booking replica balances over every catalog replica.
    CATALOG_ADDRESS: `ipv4:${catalogPorts.map((p) => `127.0.0.1:${p}`).join(',')}`,
    CATALOG_RPC_TIMEOUT_MS: String(timing.catalogTimeoutMs),
    BOOKING_RECONCILE_GRACE_MS: String(timing.reconcileGraceMs),
    // Short loops, so that tests settle soon after the grace period.
    BOOKING_RECONCILE_INTERVAL_MS: '250',
    BOOKING_RELEASE_INTERVAL_MS: '200',
    BOOKING_RELEASE_MAX_BACKOFF_MS: '1000',
  });

  const cluster: Cluster = {
    catalogs: await Promise.all(catalogPorts.map((port) => startServiceProcess('catalog', port, catalogEnv(port)))),
    bookings: await Promise.all(bookingPorts.map((port) => startServiceProcess('booking', port, bookingEnv(port)))),
    catalogUrl: catalogDb.url,
    bookingUrl: bookingDb.url,
    catalogClient: createCatalogClient(`127.0.0.1:${catalogPorts[0]}`),
    async restartCatalog(i) {
      cluster.catalogs[i] = await startServiceProcess('catalog', catalogPorts[i], catalogEnv(catalogPorts[i]));
    },
    async restartBooking(i) {
      cluster.bookings[i] = await startServiceProcess('booking', bookingPorts[i], bookingEnv(bookingPorts[i]));
    },
    bookingClientOwnChannel: (i) => createBookingClient(cluster.bookings[i].address, { 'grpc.use_local_subchannel_pool': 1 }),
    checkInvariants: (settled) =>
      checkBookingInvariants(catalogDb.url, bookingDb.url, { settled, graceMs: timing.reconcileGraceMs }),
    async bookedAppointmentIds() {
      const client = new pg.Client({ connectionString: bookingDb.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ id: string }>(`SELECT id FROM appointment WHERE status = 'booked'`);
        return new Set(rows.map((r) => r.id));
      } finally {
        await client.end();
      }
    },
    async close() {
      cluster.catalogClient.close();
      await Promise.all([...cluster.bookings, ...cluster.catalogs].map((p) => p.stop('SIGKILL')));
      await Promise.all([catalogDb.drop(), bookingDb.drop()]);
    },
  };
  return cluster;
}
