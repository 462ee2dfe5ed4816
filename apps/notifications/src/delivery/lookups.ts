import { Metadata, status } from '@grpc/grpc-js';
import { LRUCache } from 'lru-cache';
import { BookingServiceService, type Appointment, type BookingClient, type Patient } from '@carebook/proto/booking';
import { CatalogServiceService, type CatalogClient, type Clinic, type Doctor } from '@carebook/proto/catalog';
import type { CallSettings } from '@carebook/proto/client';
import { isServiceError, tracedClientCall, type OutageLog } from '@carebook/server';

// What the send path asks booking and catalog, by batch reads (AIP-231) of
// up to MAX_BATCH_GET ids with a deadline each, and their answers per id as
// values: found, not found, or unavailable (anything else, retried like a
// provider's failure). The clients carry the internal credential (main.ts).
// Each call is a CLIENT span, a child of the send job's span
// (delivery/send-span.ts), whose W3C trace context travels in the call's
// metadata, so booking's and catalog's spans join the job's trace.
//
// A batch read is all or nothing: one unknown id makes it NOT_FOUND. Ids
// are never deleted in booking or catalog, so that is a rare case, answered
// by asking for each id alone.
//
// Appointments and patients are asked on every job: whether the visit is
// still on, and the patient's address and consent, must be as booking has
// them right now. Doctors and clinics are kept for `placeTtlMs`: a burst of
// reminders names the same clinics again and again (a doctor less often: one
// visit starts at a time), and a name or an address changed in catalog
// reaching messages that much later misleads nobody (a clinic that moves
// tells its patients itself).

export type Lookup<T> = { kind: 'found'; value: T } | { kind: 'not-found' } | { kind: 'unavailable'; error: string };

/** The answer for each id asked. */
export type Lookups<T> = Map<string, Lookup<T>>;

/** Each method takes at most MAX_BATCH_GET distinct ids. */
export interface SendLookups {
  appointments(ids: readonly string[]): Promise<Lookups<Appointment>>;
  patients(ids: readonly string[]): Promise<Lookups<Patient>>;
  doctors(ids: readonly string[]): Promise<Lookups<Doctor>>;
  clinics(ids: readonly string[]): Promise<Lookups<Clinic>>;
}

export interface LookupOptions {
  bookingTimeoutMs: number;
  catalogTimeoutMs: number;
  /** How long a doctor or a clinic found in catalog is used without asking again; 0: asked every time. */
  placeTtlMs: number;
  /** Reachability of each, for logs and carebook_dependency_up. */
  bookingReachability: OutageLog;
  catalogReachability: OutageLog;
}

/** A failed call's answer for every id it asked about. */
function unavailable<T>(ids: readonly string[], err: unknown, reachability: OutageLog): Lookups<T> {
  if (isServiceError(err) && (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED)) reachability.failed(err);
  const code = isServiceError(err) ? status[err.code] : 'ERROR';
  const error = `${code}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 200);
  return new Map(ids.map((id) => [id, { kind: 'unavailable', error }]));
}

const isNotFound = (err: unknown) => isServiceError(err) && err.code === status.NOT_FOUND;

/** Asks for each of `ids` alone, at once. */
async function eachAlone<T>(ids: readonly string[], one: (id: string) => Promise<T | undefined>, reachability: OutageLog): Promise<Lookups<T>> {
  const answers = await Promise.all(
    ids.map(async (id): Promise<[string, Lookup<T>]> => {
      try {
        const value = await one(id);
        reachability.succeeded();
        return [id, value ? { kind: 'found', value } : { kind: 'not-found' }];
      } catch (err) {
        if (!isNotFound(err)) return [id, unavailable<T>([id], err, reachability).get(id)!];
        reachability.succeeded();
        return [id, { kind: 'not-found' }];
      }
    }),
  );
  return new Map(answers);
}

/** Asks for `ids` in one batch read; when one of them is unknown, asks for each alone. */
async function batchLookup<T extends { id: string }>(
  ids: readonly string[],
  batch: (ids: readonly string[]) => Promise<T[]>,
  one: (id: string) => Promise<T | undefined>,
  reachability: OutageLog,
): Promise<Lookups<T>> {
  if (ids.length === 0) return new Map();
  try {
    const found = await batch(ids);
    reachability.succeeded();
    return new Map(found.map((value) => [value.id, { kind: 'found', value }]));
  } catch (err) {
    if (!isNotFound(err)) return unavailable(ids, err, reachability);
    reachability.succeeded();
    return eachAlone(ids, one, reachability);
  }
}

/** Runs one call to the method at `path` within `timeoutMs`, in a CLIENT span whose trace context goes with the call. */
function traced<T>(path: string, timeoutMs: number, call: (settings: CallSettings) => Promise<T>): Promise<T> {
  const settings = { deadline: new Date(Date.now() + timeoutMs), metadata: new Metadata() };
  return tracedClientCall(path, settings.metadata, () => call(settings));
}

/** The most doctors, and the most clinics, kept at once; the least recently used go first. */
const CACHE_ENTRIES = 10_000;

/** `find` answering from what it found in the last `ttlMs`, asking only for the rest; only what was found is kept. */
function cached<T extends object>(find: (ids: readonly string[]) => Promise<Lookups<T>>, ttlMs: number): (ids: readonly string[]) => Promise<Lookups<T>> {
  if (ttlMs === 0) return find;
  const found = new LRUCache<string, T>({ max: CACHE_ENTRIES, ttl: ttlMs });
  return async (ids) => {
    const answers: Lookups<T> = new Map();
    for (const id of ids) {
      const kept = found.get(id);
      if (kept) answers.set(id, { kind: 'found', value: kept });
    }
    const asked = await find(ids.filter((id) => !answers.has(id)));
    for (const [id, answer] of asked) {
      if (answer.kind === 'found') found.set(id, answer.value);
      answers.set(id, answer);
    }
    return answers;
  };
}

/** The send path's lookups through `booking` and `catalog`. */
export function sendLookups(booking: BookingClient, catalog: CatalogClient, options: LookupOptions): SendLookups {
  const { bookingTimeoutMs: bookingMs, catalogTimeoutMs: catalogMs, bookingReachability, catalogReachability } = options;
  const inBooking = <T>(path: string, call: (settings: CallSettings) => Promise<T>) => traced(path, bookingMs, call);
  const inCatalog = <T>(path: string, call: (settings: CallSettings) => Promise<T>) => traced(path, catalogMs, call);
  const B = BookingServiceService;
  const C = CatalogServiceService;
  return {
    appointments: (ids) =>
      batchLookup(
        ids,
        async (batch) => (await inBooking(B.batchGetAppointments.path, (s) => booking.batchGetAppointments({ ids: [...batch] }, s))).appointments,
        async (id) => (await inBooking(B.getAppointment.path, (s) => booking.getAppointment({ id }, s))).appointment,
        bookingReachability,
      ),
    patients: (ids) =>
      batchLookup(
        ids,
        async (batch) => (await inBooking(B.batchGetPatients.path, (s) => booking.batchGetPatients({ ids: [...batch] }, s))).patients,
        async (id) => (await inBooking(B.getPatient.path, (s) => booking.getPatient({ id }, s))).patient,
        bookingReachability,
      ),
    doctors: cached(
      (ids) =>
        batchLookup(
          ids,
          async (batch) => (await inCatalog(C.batchGetDoctors.path, (s) => catalog.batchGetDoctors({ ids: [...batch] }, s))).doctors,
          async (id) => (await inCatalog(C.getDoctor.path, (s) => catalog.getDoctor({ id }, s))).doctor,
          catalogReachability,
        ),
      options.placeTtlMs,
    ),
    // catalog has no batch read of clinics: a burst names few of them, and they are kept.
    clinics: cached(
      (ids) => eachAlone(ids, async (id) => (await inCatalog(C.getClinic.path, (s) => catalog.getClinic({ id }, s))).clinic, catalogReachability),
      options.placeTtlMs,
    ),
  };
}
