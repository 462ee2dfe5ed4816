import { status } from '@grpc/grpc-js';
import type { Appointment, BookingClient, Patient } from '@carebook/proto/booking';
import type { CatalogClient, Clinic, Doctor } from '@carebook/proto/catalog';
import { isServiceError, type OutageLog } from '@carebook/server';

// What the send path asks booking and catalog, with a deadline each, and
// their answers as values: found, not found, or unavailable (anything else,
// retried like a provider's failure). The clients carry the internal
// credential (main.ts).

export type Lookup<T> = { kind: 'found'; value: T } | { kind: 'not-found' } | { kind: 'unavailable'; error: string };

export interface SendLookups {
  appointment(id: string): Promise<Lookup<Appointment>>;
  patient(id: string): Promise<Lookup<Patient>>;
  place(doctorId: string, clinicId: string): Promise<Lookup<{ doctor: Doctor; clinic: Clinic }>>;
}

export interface LookupOptions {
  bookingTimeoutMs: number;
  catalogTimeoutMs: number;
  /** Reachability of each, for logs and carebook_dependency_up. */
  bookingReachability: OutageLog;
  catalogReachability: OutageLog;
}

async function lookup<T>(call: () => Promise<T | undefined>, reachability: OutageLog): Promise<Lookup<T>> {
  try {
    const value = await call();
    reachability.succeeded();
    return value === undefined ? { kind: 'not-found' } : { kind: 'found', value };
  } catch (err) {
    if (isServiceError(err) && err.code === status.NOT_FOUND) {
      reachability.succeeded();
      return { kind: 'not-found' };
    }
    if (isServiceError(err) && (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED)) reachability.failed(err);
    const code = isServiceError(err) ? status[err.code] : 'ERROR';
    return { kind: 'unavailable', error: `${code}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 200) };
  }
}

/** The send path's lookups through `booking` and `catalog`. */
export function sendLookups(booking: BookingClient, catalog: CatalogClient, options: LookupOptions): SendLookups {
  const bookingDeadline = () => ({ deadline: new Date(Date.now() + options.bookingTimeoutMs) });
  const catalogDeadline = () => ({ deadline: new Date(Date.now() + options.catalogTimeoutMs) });
  return {
    appointment: (id) => lookup(async () => (await booking.getAppointment({ id }, bookingDeadline())).appointment, options.bookingReachability),
    patient: (id) => lookup(async () => (await booking.getPatient({ id }, bookingDeadline())).patient, options.bookingReachability),
    place: (doctorId, clinicId) =>
      lookup(async () => {
        const [{ doctor }, { clinic }] = await Promise.all([
          catalog.getDoctor({ id: doctorId }, catalogDeadline()),
          catalog.getClinic({ id: clinicId }, catalogDeadline()),
        ]);
        return doctor && clinic ? { doctor, clinic } : undefined;
      }, options.catalogReachability),
  };
}
