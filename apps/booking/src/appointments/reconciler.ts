import { DeadlineExceededError, UnavailableError } from '@carebook/server';
import type { Logger } from 'pino';
import type { ConflictResolver } from '../conflicts/resolver';
import type { HoldSettlement } from './hold-settlement';
import type { Appointment, AppointmentsRepo } from './repo';
import type { AppointmentSettlement, Settlement } from './settlement';

/** Whether catalog answered the last call, and how to ask it again. */
export interface CatalogReachability {
  readonly down: boolean;
  probe(): Promise<void>;
}

export interface ReconcilerOptions {
  /**
   * Only appointments PENDING for longer than this, by the booking database's
   * clock, are settled: their claim deadline plus the clock skew bound.
   */
  graceMs: number;
  /**
   * HELD appointments whose hold lapsed longer ago than this, by the booking
   * database's clock, are settled: the clock skew bound, after which no
   * confirmation can land by catalog's clock.
   */
  skewBoundMs: number;
  batchSize?: number;
}

/**
 * Settles appointments left PENDING by a crash, a timeout or a lost
 * connection, by the slot's real state in catalog (settlement.settleOverdue);
 * then HELD appointments whose hold lapsed unconfirmed, EXPIRED and owing the
 * slot back (holds.settleLapsed); then tries to claim back the slots of open
 * slot conflicts.
 */
export function pendingReconciler(
  repo: AppointmentsRepo,
  settlement: AppointmentSettlement,
  holds: HoldSettlement,
  conflicts: ConflictResolver,
  catalog: CatalogReachability,
  log: Logger,
  options: ReconcilerOptions,
) {
  /** Settles each appointment in turn, logging how; stops (postponed) once catalog is unreachable. */
  async function settleEach(appointments: Appointment[], what: string, settle: (a: Appointment) => Promise<object>) {
    let settled = 0;
    for (const appointment of appointments) {
      try {
        log.info({ appointmentId: appointment.id, ...(await settle(appointment)) }, `${what} settled`);
        settled++;
      } catch (err) {
        if (err instanceof UnavailableError || err instanceof DeadlineExceededError) {
          // Logged once per outage by the catalog gateway.
          log.debug({ err }, 'catalog unreachable; reconciliation postponed');
          return { settled, postponed: true };
        }
        log.error({ err, appointmentId: appointment.id }, `could not settle ${what}`);
      }
    }
    return { settled, postponed: false };
  }

  return {
    /** Settles one batch of overdue PENDING appointments and one of lapsed holds, then resolves conflicts; returns how many appointments were settled. */
    async reconcileOnce(): Promise<number> {
      // Nothing else may call catalog in a quiet hour; without a call, an
      // outage that has ended would still be reported as going on.
      if (catalog.down) await catalog.probe();
      const batchSize = options.batchSize ?? 100;
      const pending = await settleEach(await repo.listPendingOverdue(options.graceMs, batchSize), 'pending appointment', async (a) =>
        outcomeFields(await settlement.settleOverdue(a)),
      );
      if (pending.postponed) return pending.settled;
      const lapsed = await settleEach(await repo.listLapsedHolds(options.skewBoundMs, batchSize), 'lapsed hold', async (a) => ({
        outcome: (await holds.settleLapsed(a)).appointment.status,
      }));
      const settled = pending.settled + lapsed.settled;
      if (lapsed.postponed) return settled;
      await conflicts.resolveOnce().catch((err) => {
        if (!(err instanceof UnavailableError || err instanceof DeadlineExceededError)) throw err;
      });
      return settled;
    },
  };
}

/** A settlement's outcome as logged. */
function outcomeFields(outcome: Settlement): { outcome: string; why?: string } {
  return 'why' in outcome ? { outcome: outcome.kind, why: outcome.why } : { outcome: outcome.kind };
}

export type PendingReconciler = ReturnType<typeof pendingReconciler>;
