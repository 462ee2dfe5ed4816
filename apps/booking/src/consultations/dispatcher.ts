import type { Logger } from 'pino';
import { backoffMs } from '../releases/dispatcher';
import type { ConsultationsRepo, LeasedConsultation } from './repo';
import type { VideoRoomProvider } from './video-room-provider';

// Calls the video provider for the rooms owed to it, as the slot release
// dispatcher calls catalog: each room is leased (other dispatchers skip it
// until the lease ends), the call is made outside any transaction, and the
// outcome recorded. A retryable failure waits a capped, jittered backoff; a
// permanent one ends the room FAILED (to make) or REVOKED (to revoke: the
// provider no longer knows it). An adapter that throws is treated as a
// retryable failure.

export interface RoomDispatcherOptions {
  /** Longest wait between two tries of one room. */
  maxBackoffMs: number;
  /** How long a leased room is hidden from other dispatchers: longer than any provider call (an adapter's own timeout must be shorter). */
  leaseMs: number;
  batchSize?: number;
}

const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Makes and revokes the consultation rooms owed to `provider`. */
export function roomDispatcher(repo: ConsultationsRepo, provider: VideoRoomProvider, log: Logger, options: RoomDispatcherOptions) {
  const retry = async (room: LeasedConsultation, error: string): Promise<false> => {
    const delay = backoffMs(room.attempts, options.maxBackoffMs);
    await repo.retryAfter(room.id, room.status, delay, error);
    log.warn({ consultationId: room.id, appointmentId: room.appointmentId, status: room.status, attempts: room.attempts, retryInMs: delay, error }, 'video provider call failed');
    return false;
  };

  async function create(room: LeasedConsultation): Promise<boolean> {
    const outcome = await provider
      .createRoom({ appointmentId: room.appointmentId, validFrom: room.validFrom, validUntil: room.validUntil, idempotencyKey: room.id })
      .catch((err: unknown) => ({ kind: 'retryable' as const, error: describe(err) }));
    if (outcome.kind === 'retryable') return retry(room, outcome.error);
    if (outcome.kind === 'permanent') {
      await repo.markFailed(room.id, outcome.error);
      log.error({ consultationId: room.id, appointmentId: room.appointmentId, error: outcome.error }, 'video provider refused the room for good');
      return false;
    }
    const status = await repo.recordRoom(room.id, outcome);
    log.info({ consultationId: room.id, appointmentId: room.appointmentId, status }, 'consultation room made');
    return status !== undefined;
  }

  async function revoke(room: LeasedConsultation): Promise<boolean> {
    // A REVOKING room always has its provider's id (consultation_provider_room_id_check).
    const outcome = await provider.revokeRoom(room.providerRoomId!).catch((err: unknown) => ({ kind: 'retryable' as const, error: describe(err) }));
    if (outcome.kind === 'retryable') return retry(room, outcome.error);
    await repo.markRevoked(room.id, outcome.kind === 'permanent' ? outcome.error : null);
    log.info({ consultationId: room.id, appointmentId: room.appointmentId }, 'consultation room revoked');
    return true;
  }

  return {
    /** Tries every due room once; returns how many calls succeeded. */
    async dispatchDue(): Promise<number> {
      const abandoned = await repo.abandonExpired();
      if (abandoned > 0) log.error({ count: abandoned }, 'consultation rooms never made: the appointments were over');
      const due = await repo.leaseDue(options.batchSize ?? 100, options.leaseMs);
      const results = await Promise.all(due.map((room) => (room.status === 'creating' ? create(room) : revoke(room))));
      return results.filter(Boolean).length;
    },
  };
}

export type RoomDispatcher = ReturnType<typeof roomDispatcher>;
