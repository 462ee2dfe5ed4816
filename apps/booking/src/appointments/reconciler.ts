import { DeadlineExceededError, UnavailableError } from '@carebook/server';
import type { Logger } from 'pino';
import type { ConflictResolver } from '../conflicts/resolver';
import type { AppointmentsRepo } from './repo';
import type { AppointmentSettlement } from './settlement';

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
  batchSize?: number;
}

/**
 * Settles appointments left PENDING by a crash, a timeout or a lost
 * connection, by the slot's real state in catalog (settlement.settleOverdue),
 * then tries to claim back the slots of open slot conflicts.
 */
export function pendingReconciler(
  repo: AppointmentsRepo,
  settlement: AppointmentSettlement,
  conflicts: ConflictResolver,
  catalog: CatalogReachability,
  log: Logger,
  options: ReconcilerOptions,
) {
  return {
    /** Settles one batch of overdue PENDING appointments, then resolves conflicts; returns how many appointments were settled. */
    async reconcileOnce(): Promise<number> {
      // Nothing else may call catalog in a quiet hour; without a call, an
      // outage that has ended would still be reported as going on.
      if (catalog.down) await catalog.probe();
      const overdue = await repo.listPendingOverdue(options.graceMs, options.batchSize ?? 100);
      let settled = 0;
      for (const appointment of overdue) {
        try {
          const outcome = await settlement.settleOverdue(appointment);
          log.info({ appointmentId: appointment.id, outcome: outcome.kind, why: outcome.kind === 'booked' ? undefined : outcome.why }, 'pending appointment settled');
          settled++;
        } catch (err) {
          if (err instanceof UnavailableError || err instanceof DeadlineExceededError) {
            // Logged once per outage by the catalog gateway.
            log.debug({ err }, 'catalog unreachable; reconciliation postponed');
            return settled;
          }
          log.error({ err, appointmentId: appointment.id }, 'could not settle pending appointment');
        }
      }
      await conflicts.resolveOnce().catch((err) => {
        if (!(err instanceof UnavailableError || err instanceof DeadlineExceededError)) throw err;
      });
      return settled;
    },
  };
}

export type PendingReconciler = ReturnType<typeof pendingReconciler>;
