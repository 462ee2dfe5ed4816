import { SlotStatus, type CatalogServiceService, type Slot as SlotMessage } from '@carebook/proto/catalog';
import { FILTER_TIME_RANGE, isTimeIdKey, RequestValidator, STORED_TIME_RANGE, type Handlers, type PageTokens } from '@carebook/server';
import { specialtyFilter } from '../doctors/handlers';
import { parseModality, toModalityMessage } from '../modality';
import type { Slot, SlotInterval, SlotNames } from './repo';
import { parseLocalWindow, parseNear, parseSearchModality } from './search-request';
import type { SlotsService } from './service';

type SlotHandlers = Pick<
  Handlers<CatalogServiceService>,
  'createSlots' | 'searchSlots' | 'findNextAvailable' | 'getSlot' | 'claimSlot' | 'releaseSlot'
>;

const HOUR_MS = 3_600_000;
const MAX_SLOT_MS = 24 * HOUR_MS;
const MAX_SEARCH_WINDOW_MS = 31 * 24 * HOUR_MS;
const MAX_SLOTS_PER_BATCH = 1000;
// FindNextAvailable looks this far ahead of `after`, so its query stays bounded.
const NEXT_AVAILABLE_HORIZON_MS = 90 * 24 * HOUR_MS;

/** Who sees a slot: its claim id is shown only to internal callers (booking), as it is the appointment's id. */
export interface SlotViewer {
  internalCaller: boolean;
}

/** Slot as the API shows it; the names are empty unless the query joined them, the claim id unless `viewer` is internal. */
export function toSlotMessage(s: Slot & Partial<SlotNames>, viewer: SlotViewer): SlotMessage {
  // The slot's own specialty column (a search key) is shown only with the
  // other names, as the API promises: all four, or none.
  const named = s.doctorDisplayName !== undefined;
  return {
    id: s.id,
    doctorId: s.doctorId,
    clinicId: s.clinicId,
    startTime: s.startTime,
    endTime: s.endTime,
    status: s.status === 'open' ? SlotStatus.SLOT_STATUS_OPEN : SlotStatus.SLOT_STATUS_BOOKED,
    claimId: viewer.internalCaller ? (s.claimId ?? '') : '',
    createTime: s.createTime,
    updateTime: s.updateTime,
    doctorDisplayName: s.doctorDisplayName ?? '',
    specialty: named ? s.specialty : '',
    clinicDisplayName: s.clinicDisplayName ?? '',
    clinicTimeZone: s.clinicTimeZone ?? '',
    modality: toModalityMessage(s.modality),
  };
}

/** gRPC handlers for slots. */
export function slotHandlers(slots: SlotsService, tokens: PageTokens, now: () => Date = () => new Date()): SlotHandlers {
  return {
    async createSlots(request, ctx) {
      const v = new RequestValidator();
      const doctorId = v.uuid('doctor_id', request.doctorId);
      if (request.slots.length === 0) v.fail('slots', 'must hold at least one slot');
      if (request.slots.length > MAX_SLOTS_PER_BATCH) v.fail('slots', `must hold at most ${MAX_SLOTS_PER_BATCH} slots`);
      const intervals: SlotInterval[] = request.slots.map((slot, i) => {
        const startTime = v.timestamp(`slots[${i}].start_time`, slot.startTime, STORED_TIME_RANGE);
        const endTime = v.timestamp(`slots[${i}].end_time`, slot.endTime, STORED_TIME_RANGE);
        if (slot.startTime && slot.startTime < now()) v.fail(`slots[${i}].start_time`, 'must be in the future');
        if (slot.startTime && slot.endTime) {
          if (endTime <= startTime) v.fail(`slots[${i}].end_time`, 'must be after start_time');
          else if (+endTime - +startTime > MAX_SLOT_MS) v.fail(`slots[${i}].end_time`, 'must be at most 24 hours after start_time');
        }
        return { startTime, endTime };
      });
      const clinicId = v.optionalUuid('clinic_id', request.clinicId ?? '');
      const modality = parseModality(v, 'modality', request.modality);
      v.done();
      const created = await slots.createMany(doctorId, intervals, { clinicId, modality });
      return { slots: created.map((slot) => toSlotMessage(slot, ctx)) };
    },

    async searchSlots(request, ctx) {
      const v = new RequestValidator();
      const from = v.timestamp('start_time_from', request.startTimeFrom, FILTER_TIME_RANGE);
      const to = v.timestamp('start_time_to', request.startTimeTo, FILTER_TIME_RANGE);
      if (request.startTimeFrom && request.startTimeTo) {
        if (to <= from) v.fail('start_time_to', 'must be after start_time_from');
        else if (+to - +from > MAX_SEARCH_WINDOW_MS) v.fail('start_time_to', 'must be at most 31 days after start_time_from');
      }
      const search = {
        specialty: specialtyFilter(v, 'specialty', request.specialty),
        clinicId: v.optionalUuid('clinic_id', request.clinicId),
        doctorId: v.optionalUuid('doctor_id', request.doctorId),
        near: parseNear(v, request.near, request.radiusKm),
        localWindow: parseLocalWindow(v, request),
        modality: parseSearchModality(v, request),
        from,
        to,
      };
      const pageSize = v.pageSize('page_size', request.pageSize);
      v.done();
      const page = await slots.search(search, pageSize, tokens.decode(request.pageToken, { slots: search }, isTimeIdKey));
      return { slots: page.items.map((slot) => toSlotMessage(slot, ctx)), nextPageToken: tokens.encode(page.next, { slots: search }) };
    },

    async findNextAvailable(request, ctx) {
      const v = new RequestValidator();
      // A past `after` means now: what has started can no longer be booked.
      const after = v.optionalTimestamp('after', request.after) ?? now();
      const from = new Date(Math.max(+after, +now()));
      const search = {
        specialty: specialtyFilter(v, 'specialty', request.specialty),
        clinicId: v.optionalUuid('clinic_id', request.clinicId),
        near: parseNear(v, request.near, request.radiusKm),
        localWindow: parseLocalWindow(v, request),
        modality: parseSearchModality(v, request),
        from,
        to: new Date(+from + NEXT_AVAILABLE_HORIZON_MS),
        limit: v.pageSize('limit', request.limit, 20, 100),
      };
      v.done();
      return { slots: (await slots.nextAvailable(search)).map((slot) => toSlotMessage(slot, ctx)) };
    },

    async getSlot({ id }, ctx) {
      const v = new RequestValidator();
      const slotId = v.uuid('id', id);
      v.done();
      return { slot: toSlotMessage(await slots.getNamed(slotId), ctx) };
    },

    async claimSlot(request, ctx) {
      const v = new RequestValidator();
      const slotId = v.uuid('slot_id', request.slotId);
      const claimId = v.uuid('claim_id', request.claimId);
      // The caller's absolute deadline; without one, the call's own deadline.
      const deadline = v.optionalTimestamp('deadline', request.deadline) ?? ctx.deadline;
      v.done();
      return { slot: toSlotMessage(await slots.claim(slotId, claimId, deadline), ctx) };
    },

    async releaseSlot(request, ctx) {
      const v = new RequestValidator();
      const slotId = v.uuid('slot_id', request.slotId);
      const claimId = v.uuid('claim_id', request.claimId);
      v.done();
      return { slot: toSlotMessage(await slots.release(slotId, claimId), ctx) };
    },
  };
}
