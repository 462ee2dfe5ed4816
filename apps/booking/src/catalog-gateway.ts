import { Metadata, status as Code } from '@grpc/grpc-js';
import { CatalogServiceService, SlotStatus, type CatalogClient, type Slot as SlotMessage } from '@carebook/proto/catalog';
import { DeadlineExceededError, isServiceError, readStatusDetails, tracedClientCall, UnavailableError, type OutageLog } from '@carebook/server';
import { slotModality, type Modality } from './appointments/modality';

/** A catalog slot as booking needs it. */
export interface CatalogSlot {
  id: string;
  doctorId: string;
  clinicId: string;
  startTime: Date;
  endTime: Date;
  modality: Modality;
  open: boolean;
  claimId: string | undefined;
  /** Set while the slot is held: when the hold lapses, by catalog's database clock (catalog shows a lapsed hold as open). */
  holdExpireTime: Date | undefined;
}

/** Who a catalog call is made for: its deadline bounds the call, its correlation id is passed on. */
export interface CallerContext {
  deadline?: Date;
  correlationId?: string;
}

/** What a claim came to: the slot is ours; another claim holds it; no such slot; the slot has started; or its deadline had passed. */
export type ClaimOutcome = { claimed: true; slot: CatalogSlot } | { claimed: false; why: 'taken' | 'not_found' | 'in_past' | 'late' };

/** What a release came to; both mean nothing more is owed. */
export type ReleaseOutcome = 'released' | 'not_held';

// Time left for the caller's answer after a catalog call returns.
const RESPONSE_MARGIN_MS = 50;

function toCatalogSlot(slot: SlotMessage | undefined): CatalogSlot {
  if (!slot?.startTime || !slot.endTime) throw new Error('catalog returned a slot without times');
  if (slot.status === SlotStatus.SLOT_STATUS_HELD && !slot.holdExpireTime) throw new Error('catalog returned a held slot without its expiry');
  return {
    id: slot.id,
    doctorId: slot.doctorId,
    clinicId: slot.clinicId,
    startTime: slot.startTime,
    endTime: slot.endTime,
    modality: slotModality(slot.modality),
    open: slot.status === SlotStatus.SLOT_STATUS_OPEN,
    claimId: slot.claimId || undefined,
    holdExpireTime: slot.status === SlotStatus.SLOT_STATUS_HELD ? slot.holdExpireTime : undefined,
  };
}

export interface CatalogGatewayOptions {
  /** Deadline of each call (CATALOG_RPC_TIMEOUT_MS). */
  timeoutMs: number;
  /** The internal credential (CATALOG_INTERNAL_TOKEN), sent with every call: claims and releases need it, and slots show their claim only with it. */
  internalToken: string;
  /** Where catalog's reachability is logged, once per outage. */
  reachability: OutageLog;
}

/**
 * The booking service's only way to reach catalog: one long-lived client,
 * every call bounded by the configured timeout and by the caller's own
 * deadline, and carrying the internal credential. Transport failures become
 * UNAVAILABLE or DEADLINE_EXCEEDED, and mark catalog unreachable until a call
 * gets through again.
 */
export function catalogGateway(client: CatalogClient, { timeoutMs, internalToken, reachability }: CatalogGatewayOptions) {
  const authorization = `Bearer ${internalToken}`;

  /** Deadline and metadata of a call made for `caller`. */
  function settings(caller: CallerContext): { deadline: Date; metadata: Metadata } {
    const metadata = new Metadata();
    metadata.set('authorization', authorization);
    if (caller.correlationId) metadata.set('x-request-id', caller.correlationId);
    const own = Date.now() + timeoutMs;
    if (!caller.deadline) return { deadline: new Date(own), metadata };
    const callerBound = +caller.deadline - RESPONSE_MARGIN_MS;
    if (callerBound <= Date.now()) throw new DeadlineExceededError('the deadline passed before catalog was asked', 'DEADLINE_EXCEEDED');
    return { deadline: new Date(Math.min(own, callerBound)), metadata };
  }

  /**
   * Runs one call of `method` for `caller`, in a CLIENT span whose trace
   * context travels in the call's metadata. Its answer, whatever it is, shows
   * catalog reachable, and a transport failure unreachable.
   */
  async function call<T>(
    method: keyof typeof CatalogServiceService,
    caller: CallerContext,
    run: (callSettings: { deadline: Date; metadata: Metadata }) => Promise<T>,
  ): Promise<T> {
    // Before the span and outside the try: a deadline already past makes no
    // call at all, and says nothing about catalog's reachability.
    const callSettings = settings(caller);
    try {
      const result = await tracedClientCall(CatalogServiceService[method].path, callSettings.metadata, () => run(callSettings));
      reachability.succeeded();
      return result;
    } catch (err) {
      if (isUnusable(err)) reachability.failed(err);
      else reachability.succeeded();
      throw err;
    }
  }

  /**
   * True when the call did not reach catalog, or catalog refused booking's
   * credential: a transport failure carries no ErrorInfo of catalog's, while
   * catalog's own answers (CLAIM_DEADLINE_PASSED, say) do and show it
   * reachable. A refused credential is a misconfiguration that, like an
   * outage, stops every booking until someone fixes it.
   */
  function isUnusable(err: unknown): boolean {
    if (!isServiceError(err)) return false;
    if (err.code === Code.UNAUTHENTICATED || err.code === Code.PERMISSION_DENIED) return true;
    const transport = err.code === Code.UNAVAILABLE || err.code === Code.DEADLINE_EXCEEDED || err.code === Code.CANCELLED;
    return transport && readStatusDetails(err).errorInfo === undefined;
  }

  const reasonOf = (err: unknown): string | undefined => (isServiceError(err) ? readStatusDetails(err).errorInfo?.reason : undefined);
  const isNotFound = (err: unknown) => isServiceError(err) && err.code === Code.NOT_FOUND;

  /** Rethrows transport failures and a refused credential as domain errors, and anything else unchanged. */
  function rethrowTransport(err: unknown): never {
    if (isServiceError(err)) {
      if (err.code === Code.UNAUTHENTICATED || err.code === Code.PERMISSION_DENIED) {
        throw new UnavailableError(
          "catalog refused booking's internal credential (CATALOG_INTERNAL_TOKEN, or the certificate identity under mutual TLS); retrying the same request is safe once it is fixed",
          'CATALOG_REFUSED_CREDENTIAL',
          {},
          { cause: err },
        );
      }
      if (err.code === Code.DEADLINE_EXCEEDED) throw new DeadlineExceededError('catalog did not answer in time', 'CATALOG_TIMEOUT', {}, { cause: err });
      if (err.code === Code.UNAVAILABLE || err.code === Code.CANCELLED)
        throw new UnavailableError('catalog is unavailable; retrying the same request is safe', 'CATALOG_UNAVAILABLE', {}, { cause: err });
    }
    throw err;
  }

  return {
    /** The slot, or undefined if catalog does not know it. */
    async findSlot(slotId: string, caller: CallerContext = {}): Promise<CatalogSlot | undefined> {
      try {
        const { slot } = await call('getSlot', caller, (c) => client.getSlot({ id: slotId }, c));
        return toCatalogSlot(slot);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        rethrowTransport(err);
      }
    },

    /**
     * Claims the slot for `claimId` (idempotent): booked, or held for
     * `holdMs` until an instant catalog sets by its database clock. catalog
     * refuses it once its database clock reaches `claimDeadline`, if given
     * (else the call's own deadline). Claiming a slot this claim holds turns
     * the hold into a booking. catalog refuses a slot that has started (by
     * its database clock) unless this claim holds it already.
     */
    async claimSlot(slotId: string, claimId: string, claimDeadline: Date | undefined, caller: CallerContext = {}, holdMs?: number): Promise<ClaimOutcome> {
      const holdDuration = holdMs === undefined ? undefined : { seconds: Math.floor(holdMs / 1000), nanos: (holdMs % 1000) * 1_000_000 };
      try {
        const { slot } = await call('claimSlot', caller, (c) => client.claimSlot({ slotId, claimId, deadline: claimDeadline, holdDuration }, c));
        return { claimed: true, slot: toCatalogSlot(slot) };
      } catch (err) {
        const reason = reasonOf(err);
        if (reason === 'SLOT_UNAVAILABLE') return { claimed: false, why: 'taken' };
        if (reason === 'SLOT_IN_PAST') return { claimed: false, why: 'in_past' };
        if (reason === 'CLAIM_DEADLINE_PASSED') return { claimed: false, why: 'late' };
        if (isNotFound(err)) return { claimed: false, why: 'not_found' };
        rethrowTransport(err);
      }
    },

    /** Asks catalog anything, to learn whether it answers again after an outage; never throws. */
    async probe(): Promise<void> {
      // A slot no one has: NOT_FOUND is an answer, and so reachable.
      await call('getSlot', {}, (c) => client.getSlot({ id: '00000000-0000-4000-8000-000000000000' }, c)).catch(() => undefined);
    },

    /** Releases the slot if `claimId` holds it; a slot held by another claim, open or gone is left alone. */
    async releaseSlot(slotId: string, claimId: string, caller: CallerContext = {}): Promise<ReleaseOutcome> {
      try {
        await call('releaseSlot', caller, (c) => client.releaseSlot({ slotId, claimId }, c));
        return 'released';
      } catch (err) {
        if (reasonOf(err) === 'CLAIM_MISMATCH' || isNotFound(err)) return 'not_held';
        rethrowTransport(err);
      }
    },
  };
}

export type CatalogGateway = ReturnType<typeof catalogGateway>;
