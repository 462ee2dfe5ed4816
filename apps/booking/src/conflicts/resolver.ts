import type { Logger } from 'pino';
import type { AppointmentsRepo } from '../appointments/repo';
import type { CatalogGateway } from '../catalog-gateway';
import type { ReleaseDispatcher } from '../releases/dispatcher';
import type { ConflictsRepo } from './repo';

/** What the resolver needs besides the conflicts: the appointments, catalog, and a way to owe a slot back. */
export interface ConflictResolverDeps {
  conflicts: ConflictsRepo;
  appointments: Pick<AppointmentsRepo, 'findById' | 'oweRelease'>;
  catalog: Pick<CatalogGateway, 'claimSlot'>;
  releases: Pick<ReleaseDispatcher, 'deliverNow'>;
  log: Logger;
}

/**
 * Claims slots back for BOOKED appointments that lost them (conflicts). Each
 * pass tries every open conflict once: the slot is claimed again once the
 * stray claim is released, or the conflict closes when the appointment is no
 * longer booked or the slot is gone. A slot still held by the stray claim is
 * tried again next pass, counted but not logged: the conflict was logged once,
 * when it was recorded.
 */
export function conflictResolver({ conflicts, appointments, catalog, releases, log }: ConflictResolverDeps) {
  /**
   * After a re-claim won: if the appointment stopped being BOOKED meanwhile
   * (a cancellation between the read and the claim, whose own release found
   * the slot still open), the re-claim holds a slot no one booked, so it is
   * owed back. Returns how the conflict ends.
   */
  async function afterReclaim(appointmentId: string, slotId: string): Promise<'reclaimed' | 'not_booked'> {
    const now = await appointments.findById(appointmentId);
    if (now?.status === 'booked') return 'reclaimed';
    await appointments.oweRelease(slotId, appointmentId);
    await releases.deliverNow(slotId, appointmentId);
    return 'not_booked';
  }

  return {
    /** Tries every open conflict once; returns how many were resolved. */
    async resolveOnce(batchSize = 100): Promise<number> {
      let resolved = 0;
      for (const conflict of await conflicts.listOpen(batchSize)) {
        const appointment = await appointments.findById(conflict.appointmentId);
        if (appointment?.status !== 'booked') {
          await conflicts.resolve(conflict.id, 'not_booked');
          resolved++;
          continue;
        }
        // An ordinary claim with the appointment's id, which can only win an
        // open slot. The appointment is BOOKED, so no reconciler waits on the
        // outcome, and no absolute deadline is needed.
        const outcome = await catalog.claimSlot(conflict.slotId, appointment.id, undefined);
        if (outcome.claimed || outcome.why === 'not_found') {
          const resolution = outcome.claimed ? await afterReclaim(appointment.id, conflict.slotId) : 'slot_gone';
          await conflicts.resolve(conflict.id, resolution);
          log.info({ appointmentId: appointment.id, slotId: conflict.slotId, resolution }, 'slot conflict resolved');
          resolved++;
        } else {
          await conflicts.countAttempt(conflict.id);
        }
      }
      return resolved;
    },
  };
}

export type ConflictResolver = ReturnType<typeof conflictResolver>;
