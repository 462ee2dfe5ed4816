import type { Logger } from 'pino';
import type { AppointmentsRepo } from '../appointments/repo';
import type { CatalogGateway } from '../catalog-gateway';
import type { ConflictsRepo } from './repo';

// A re-claim is an ordinary claim with the appointment's id: it can only win
// an open slot, and the appointment is already BOOKED, so no reconciler waits
// on its outcome and a short deadline is enough.
const RECLAIM_DEADLINE_MS = 5_000;

/**
 * Claims slots back for BOOKED appointments that lost them (conflicts). Each
 * pass tries every open conflict once: the slot is claimed again once the
 * stray claim is released, or the conflict closes when the appointment is no
 * longer booked or the slot is gone. A slot still held by the stray claim is
 * tried again next pass, counted but not logged: the conflict was logged once,
 * when it was recorded.
 */
export function conflictResolver(conflicts: ConflictsRepo, appointments: AppointmentsRepo, catalog: CatalogGateway, log: Logger) {
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
        const outcome = await catalog.claimSlot(conflict.slotId, appointment.id, new Date(Date.now() + RECLAIM_DEADLINE_MS));
        if (outcome.claimed || outcome.why === 'not_found') {
          const resolution = outcome.claimed ? 'reclaimed' : 'slot_gone';
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
