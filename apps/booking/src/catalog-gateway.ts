import { Metadata, status as Code } from '@grpc/grpc-js';
import { SlotStatus, type CatalogClient, type Slot as SlotMessage } from '@carebook/proto/catalog';
import { DeadlineExceededError, isServiceError, NotFoundError, readStatusDetails, UnavailableError } from '@carebook/server';

/** A catalog slot as booking needs it. */
export interface CatalogSlot {
  id: string;
  doctorId: string;
  clinicId: string;
  startTime: Date;
  endTime: Date;
  open: boolean;
  claimId: string | undefined;
}

/** Who a catalog call is made for: its deadline bounds the call, its request id is passed on. */
export interface CallerContext {
  deadline?: Date;
  requestId?: string;
}

/** What a claim came to: the slot is ours, or someone else holds it. */
export type ClaimOutcome = { claimed: true; slot: CatalogSlot } | { claimed: false };

/** What a release came to; both mean nothing more is owed. */
export type ReleaseOutcome = 'released' | 'not_held';

// Time left for the caller's answer after a catalog call returns.
const RESPONSE_MARGIN_MS = 50;

function toCatalogSlot(slot: SlotMessage | undefined): CatalogSlot {
  if (!slot?.startTime || !slot.endTime) throw new Error('catalog returned a slot without times');
  return {
    id: slot.id,
    doctorId: slot.doctorId,
    clinicId: slot.clinicId,
    startTime: slot.startTime,
    endTime: slot.endTime,
    open: slot.status === SlotStatus.SLOT_STATUS_OPEN,
    claimId: slot.claimId || undefined,
  };
}

/**
 * The booking service's only way to reach catalog: one long-lived client,
 * every call bounded by the configured timeout and by the caller's own
 * deadline. Transport failures become UNAVAILABLE or DEADLINE_EXCEEDED.
 */
export function catalogGateway(client: CatalogClient, timeoutMs: number) {
  /** Deadline and metadata of a call made for `caller`. */
  function settings(caller: CallerContext): { deadline: Date; metadata: Metadata } {
    const metadata = new Metadata();
    if (caller.requestId) metadata.set('x-request-id', caller.requestId);
    const own = Date.now() + timeoutMs;
    if (!caller.deadline) return { deadline: new Date(own), metadata };
    const callerBound = +caller.deadline - RESPONSE_MARGIN_MS;
    if (callerBound <= Date.now()) throw new DeadlineExceededError('the deadline passed before catalog was asked', 'DEADLINE_EXCEEDED');
    return { deadline: new Date(Math.min(own, callerBound)), metadata };
  }

  function reasonOf(err: unknown): string | undefined {
    return isServiceError(err) ? readStatusDetails(err).errorInfo?.reason : undefined;
  }

  /** Rethrows transport failures as domain errors; returns for the caller to inspect otherwise. */
  function rethrowTransport(err: unknown): never {
    if (isServiceError(err)) {
      if (err.code === Code.DEADLINE_EXCEEDED) throw new DeadlineExceededError('catalog did not answer in time', 'CATALOG_TIMEOUT', {}, { cause: err });
      if (err.code === Code.UNAVAILABLE || err.code === Code.CANCELLED)
        throw new UnavailableError('catalog is unavailable', 'CATALOG_UNAVAILABLE', {}, { cause: err });
    }
    throw err;
  }

  return {
    /** The slot; NOT_FOUND if catalog does not know it. */
    async getSlot(slotId: string, caller: CallerContext = {}): Promise<CatalogSlot> {
      try {
        const { slot } = await client.getSlot({ id: slotId }, settings(caller));
        return toCatalogSlot(slot);
      } catch (err) {
        if (isServiceError(err) && err.code === Code.NOT_FOUND) throw new NotFoundError('slot', slotId);
        rethrowTransport(err);
      }
    },

    /** Claims the slot for `claimId` (idempotent). */
    async claimSlot(slotId: string, claimId: string, caller: CallerContext = {}): Promise<ClaimOutcome> {
      try {
        const { slot } = await client.claimSlot({ slotId, claimId }, settings(caller));
        return { claimed: true, slot: toCatalogSlot(slot) };
      } catch (err) {
        if (reasonOf(err) === 'SLOT_UNAVAILABLE') return { claimed: false };
        if (isServiceError(err) && err.code === Code.NOT_FOUND) throw new NotFoundError('slot', slotId);
        rethrowTransport(err);
      }
    },

    /** Releases the slot if `claimId` holds it; a slot held by another claim, open or gone is left alone. */
    async releaseSlot(slotId: string, claimId: string, caller: CallerContext = {}): Promise<ReleaseOutcome> {
      try {
        await client.releaseSlot({ slotId, claimId }, settings(caller));
        return 'released';
      } catch (err) {
        if (reasonOf(err) === 'CLAIM_MISMATCH' || (isServiceError(err) && err.code === Code.NOT_FOUND)) return 'not_held';
        rethrowTransport(err);
      }
    },
  };
}

export type CatalogGateway = ReturnType<typeof catalogGateway>;
