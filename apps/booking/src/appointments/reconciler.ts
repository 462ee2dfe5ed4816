import { DeadlineExceededError, FailedPreconditionError, NotFoundError, UnavailableError } from '@carebook/server';
import type { Logger } from 'pino';
import type { CatalogGateway } from '../catalog-gateway';
import type { AppointmentsRepo } from './repo';
import type { AppointmentSettlement } from './settlement';

export interface ReconcilerOptions {
  /** Only appointments PENDING for longer than this are settled: it outlasts any claim in flight. */
  graceMs: number;
  batchSize?: number;
}

/**
 * Settles appointments left PENDING by a crash, a timeout or a lost
 * connection, by the slot's real state in catalog: claimed by this
 * appointment's id means BOOKED, anything else FAILED.
 */
export function pendingReconciler(
  repo: AppointmentsRepo,
  catalog: CatalogGateway,
  settlement: AppointmentSettlement,
  log: Logger,
  options: ReconcilerOptions,
) {
  return {
    /** Settles one batch of overdue PENDING appointments; returns how many were settled. */
    async reconcileOnce(): Promise<number> {
      const overdue = await repo.listPendingBefore(new Date(Date.now() - options.graceMs), options.batchSize ?? 100);
      let settled = 0;
      for (const appointment of overdue) {
        try {
          const slot = await catalog.getSlot(appointment.slotId);
          if (slot.claimId === appointment.id) {
            await settlement.claimed(appointment);
            log.info({ appointmentId: appointment.id }, 'pending appointment settled as booked');
          } else {
            await settlement.notClaimed(appointment);
            log.info({ appointmentId: appointment.id }, 'pending appointment settled as failed');
          }
          settled++;
        } catch (err) {
          if (err instanceof NotFoundError) {
            await settlement.notClaimed(appointment);
            settled++;
          } else if (err instanceof FailedPreconditionError) {
            // Settled as FAILED with its claim given back (a reschedule whose
            // original was cancelled meanwhile).
            log.info({ appointmentId: appointment.id, reason: err.reason }, 'pending appointment settled as failed');
            settled++;
          } else if (err instanceof UnavailableError || err instanceof DeadlineExceededError) {
            log.warn({ err }, 'catalog unreachable; reconciliation postponed');
            break;
          } else {
            log.error({ err, appointmentId: appointment.id }, 'could not settle pending appointment');
          }
        }
      }
      return settled;
    },
  };
}

export type PendingReconciler = ReturnType<typeof pendingReconciler>;
