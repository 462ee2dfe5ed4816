import type { BookingPrisma } from '../db';
import type { SlotConflict, SlotConflictResolution } from '../generated/prisma/client';

export type { SlotConflict, SlotConflictResolution };

/** The record of BOOKED appointments whose slot catalog no longer held for them. */
export function conflictsRepo(prisma: BookingPrisma) {
  return {
    /** Records the conflict unless one is already open for the appointment; true if this call recorded it. */
    async record(appointmentId: string, slotId: string): Promise<boolean> {
      const inserted = await prisma.$executeRaw`
        INSERT INTO slot_conflict (appointment_id, slot_id) VALUES (${appointmentId}::uuid, ${slotId}::uuid)
        ON CONFLICT (appointment_id) WHERE resolve_time IS NULL DO NOTHING`;
      return inserted === 1;
    },

    /** Open conflicts, oldest first. */
    // Fewest attempts first: conflicts stuck behind a claim booking cannot
    // release do not keep newer ones from their turn.
    listOpen: (limit: number) =>
      prisma.slotConflict.findMany({ where: { resolveTime: null }, orderBy: [{ attempts: 'asc' }, { detectTime: 'asc' }], take: limit }),

    /** Closes an open conflict; the database's clock stamps it. */
    resolve: (id: string, resolution: SlotConflictResolution) =>
      prisma.$executeRaw`
        UPDATE slot_conflict SET resolve_time = now(), resolution = ${resolution}::slot_conflict_resolution
        WHERE id = ${id}::uuid AND resolve_time IS NULL`,

    /** Counts one more try at claiming the slot back. */
    countAttempt: (id: string) => prisma.slotConflict.update({ where: { id }, data: { attempts: { increment: 1 } } }),

    /** Conflicts still open: an alert should fire while this is above 0 for long. */
    countOpen: () => prisma.slotConflict.count({ where: { resolveTime: null } }),
  };
}

export type ConflictsRepo = ReturnType<typeof conflictsRepo>;
