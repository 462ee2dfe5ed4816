import type pg from 'pg';
import type { WorkerUtils } from 'graphile-worker';
import type { Logger } from '@carebook/server';

// Crash recovery for graphile-worker. A worker that dies (kill -9, a lost
// host) leaves its jobs locked, and graphile-worker frees such jobs only
// after 4 hours: reminders would go out hours late. So each process writes a
// heartbeat per worker (by the database's clock), and every replica looks
// for jobs locked for longer than the stale period by a worker whose
// heartbeat is missing or older than that, and frees them with
// forceUnlockWorkers: the opt-in "worker recovery" of graphile-worker-rs.
// A job freed while its worker was merely paused longer than the stale
// period may be sent twice; the stale period is chosen far above any pause.
// The lock's own age is checked too, so a worker that took a job before its
// first heartbeat was written is never taken for dead.

const BEAT = `INSERT INTO worker_heartbeat (worker_id, beat_time) SELECT unnest($1::text[]), now()
  ON CONFLICT (worker_id) DO UPDATE SET beat_time = now()`;
const STALE_LOCKERS = `SELECT DISTINCT j.locked_by AS "workerId" FROM graphile_worker.jobs j
  LEFT JOIN worker_heartbeat h ON h.worker_id = j.locked_by
  WHERE j.locked_by IS NOT NULL AND j.locked_at < now() - $1::int * interval '1 millisecond'
    AND (h.beat_time IS NULL OR h.beat_time < now() - $1::int * interval '1 millisecond')`;
// Heartbeats of workers gone for good (stopped, or dead and freed) that lock nothing.
const FORGET_GONE = `DELETE FROM worker_heartbeat h WHERE h.beat_time < now() - $1::int * interval '1 millisecond'
  AND NOT EXISTS (SELECT 1 FROM graphile_worker.jobs j WHERE j.locked_by = h.worker_id)`;
const FORGET = 'DELETE FROM worker_heartbeat WHERE worker_id = ANY($1::text[])';

export interface WorkerRecovery {
  /** Writes this process's heartbeats, then frees the jobs of dead workers; returns the ids of the workers freed. */
  beatAndRecover(): Promise<string[]>;
  /** Removes this process's heartbeats (at a graceful stop, once its workers have released their jobs). */
  forget(): Promise<void>;
}

/** Heartbeats for the worker ids `ownWorkers()` returns, and recovery of stale ones through `utils`. */
export function workerRecovery(pool: pg.Pool, utils: Pick<WorkerUtils, 'forceUnlockWorkers'>, ownWorkers: () => string[], staleMs: number, log: Logger): WorkerRecovery {
  return {
    async beatAndRecover() {
      const own = ownWorkers();
      if (own.length > 0) await pool.query(BEAT, [own]);
      const { rows } = await pool.query<{ workerId: string }>(STALE_LOCKERS, [staleMs]);
      const dead = rows.map((r) => r.workerId);
      if (dead.length > 0) {
        await utils.forceUnlockWorkers(dead);
        log.warn({ workerIds: dead, staleMs }, 'freed the jobs of delivery workers that stopped beating');
      }
      await pool.query(FORGET_GONE, [staleMs * 10]);
      return dead;
    },
    async forget() {
      const own = ownWorkers();
      if (own.length > 0) await pool.query(FORGET, [own]);
    },
  };
}
