import { databaseGauge } from '@carebook/server';
import { Gauge, type Registry } from 'prom-client';
import type { AppointmentsRepo } from './appointments/repo';
import type { ConflictsRepo } from './conflicts/repo';
import type { ConsultationsRepo } from './consultations/repo';
import type { AppointmentEventsRepo } from './events/repo';
import type { ReleasesRepo } from './releases/repo';

// booking's own gauges, read from its database at each scrape. What each
// alert should be is in docs/operations.md, section 4.

/** Shares one `read` among the callers that ask while it runs: the gauges of one scrape, collected together, run its query once. */
function shared<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= read().finally(() => (running = undefined));
    return running;
  };
}

/**
 * `carebook_booking_event_consumer_lag_events{consumer}`: for each consumer
 * inside booking with a cursor row, how many events it trails the feed by, all
 * read by one query at each scrape. A failed read keeps the last values, as
 * databaseGauge does.
 */
function registerConsumerLag(registry: Registry, events: Pick<AppointmentEventsRepo, 'consumerLag'>): void {
  new Gauge({
    name: 'carebook_booking_event_consumer_lag_events',
    help: "Events of the appointment feed a consumer inside booking has not applied yet: the feed's latest position less the consumer's cursor.",
    labelNames: ['consumer'],
    registers: [registry],
    async collect() {
      const rows = await events.consumerLag().catch(() => undefined);
      if (!rows) return;
      this.reset();
      for (const { consumer, lag } of rows) this.set({ consumer }, lag);
    },
  });
}

/** Registers the PENDING, owed-release, slot-conflict, event-feed, feed-consumer and consultation-room gauges. */
export function registerBookingMetrics(
  registry: Registry,
  repos: {
    appointments: Pick<AppointmentsRepo, 'pendingStats'>;
    releases: Pick<ReleasesRepo, 'owedStats'>;
    conflicts: Pick<ConflictsRepo, 'countOpen'>;
    events: Pick<AppointmentEventsRepo, 'bounds' | 'unpositionedStats' | 'consumerLag'>;
    consultations: Pick<ConsultationsRepo, 'owedStats'>;
  },
): void {
  const pending = shared(() => repos.appointments.pendingStats());
  const owed = shared(() => repos.releases.owedStats());
  databaseGauge(registry, 'carebook_booking_pending_appointments', 'Appointments PENDING: recorded, their claim not yet settled.', async () => (await pending()).count);
  databaseGauge(
    registry,
    'carebook_booking_pending_oldest_age_seconds',
    'Age of the oldest PENDING appointment (0 when none); above the reconcile grace period, the reconciler is behind.',
    async () => (await pending()).oldestAgeSeconds,
  );
  databaseGauge(registry, 'carebook_booking_releases_owed', 'Slot releases owed to catalog and not yet confirmed (the outbox).', async () => (await owed()).count);
  databaseGauge(
    registry,
    'carebook_booking_release_oldest_age_seconds',
    'Age of the oldest slot release still owed (0 when none).',
    async () => (await owed()).oldestAgeSeconds,
  );
  databaseGauge(
    registry,
    'carebook_booking_slot_conflicts_open',
    'Booked appointments whose slot catalog let go of, not yet claimed back.',
    () => repos.conflicts.countOpen(),
  );
  const unpositioned = shared(() => repos.events.unpositionedStats());
  databaseGauge(
    registry,
    'carebook_booking_event_feed_latest_position',
    "The appointment event feed's latest position; consumers' lag is this less their cursor (booking's own consumers: carebook_booking_event_consumer_lag_events; notifications exports its own).",
    async () => (await repos.events.bounds()).latest,
  );
  databaseGauge(
    registry,
    'carebook_booking_event_unpositioned_oldest_age_seconds',
    'Age of the oldest committed event still waiting for its feed position (0 when none); above a second, the sequencer is stuck.',
    async () => (await unpositioned()).oldestAgeSeconds,
  );
  registerConsumerLag(registry, repos.events);
  const rooms = shared(() => repos.consultations.owedStats());
  databaseGauge(
    registry,
    'carebook_booking_consultation_rooms_owed',
    'Consultation rooms owed to the video provider: to make (CREATING) or to revoke (REVOKING).',
    async () => (await rooms()).count,
  );
  databaseGauge(
    registry,
    'carebook_booking_consultation_room_oldest_age_seconds',
    'How long the oldest room owed to the video provider has waited (0 when none); growing, the provider is failing.',
    async () => (await rooms()).oldestAgeSeconds,
  );
}
