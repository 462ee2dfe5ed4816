import { Metadata, status } from '@grpc/grpc-js';
import { BookingServiceService, type Appointment, type BookingClient, type Patient } from '@carebook/proto/booking';
import { CatalogServiceService, type CatalogClient, type Clinic, type Doctor } from '@carebook/proto/catalog';
import type { CallSettings } from '@carebook/proto/client';
import { isServiceError, tracedClientCall, type OutageLog } from '@carebook/server';

// What the send path asks booking and catalog, with a deadline each, and
// their answers as values: found, not found, or unavailable (anything else,
// retried like a provider's failure). The clients carry the internal
// credential (main.ts). Each call is a CLIENT span, a child of the send job's
// span (delivery/send-span.ts), whose W3C trace context travels in the call's
// metadata, so booking's and catalog's spans join the job's trace.

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

/** Runs one call to the method at `path` within `timeoutMs`, in a CLIENT span whose trace context goes with the call. */
function traced<T>(path: string, timeoutMs: number, call: (settings: CallSettings) => Promise<T>): Promise<T> {
  const settings = { deadline: new Date(Date.now() + timeoutMs), metadata: new Metadata() };
  return tracedClientCall(path, settings.metadata, () => call(settings));
}

/** The send path's lookups through `booking` and `catalog`. */
export function sendLookups(booking: BookingClient, catalog: CatalogClient, options: LookupOptions): SendLookups {
  const { bookingTimeoutMs, catalogTimeoutMs } = options;
  return {
    appointment: (id) =>
      lookup(
        async () => (await traced(BookingServiceService.getAppointment.path, bookingTimeoutMs, (s) => booking.getAppointment({ id }, s))).appointment,
        options.bookingReachability,
      ),
    patient: (id) =>
      lookup(
        async () => (await traced(BookingServiceService.getPatient.path, bookingTimeoutMs, (s) => booking.getPatient({ id }, s))).patient,
        options.bookingReachability,
      ),
    place: (doctorId, clinicId) =>
      lookup(async () => {
        const [{ doctor }, { clinic }] = await Promise.all([
          traced(CatalogServiceService.getDoctor.path, catalogTimeoutMs, (s) => catalog.getDoctor({ id: doctorId }, s)),
          traced(CatalogServiceService.getClinic.path, catalogTimeoutMs, (s) => catalog.getClinic({ id: clinicId }, s)),
        ]);
        return doctor && clinic ? { doctor, clinic } : undefined;
      }, options.catalogReachability),
  };
}
