import { SlotStatus, type CatalogServiceService, type Slot as SlotMessage } from '@carebook/proto/catalog';
import { decodePageToken, isTimeIdKey, RequestValidator, type Handlers } from '@carebook/server';
import { normaliseSpecialty } from '../doctors/handlers';
import type { Slot, SlotInterval, SlotNames } from './repo';
import { parseLocalWindow, parseNear } from './search-request';
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

/** Slot as the API shows it; the names are empty unless the query joined them. */
export function toSlotMessage(s: Slot & Partial<SlotNames>): SlotMessage {
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
    claimId: s.claimId ?? '',
    createTime: s.createTime,
    updateTime: s.updateTime,
    doctorDisplayName: s.doctorDisplayName ?? '',
    specialty: named ? s.specialty : '',
    clinicDisplayName: s.clinicDisplayName ?? '',
    clinicTimeZone: s.clinicTimeZone ?? '',
  };
}

/** gRPC handlers for slots. */
export function slotHandlers(slots: SlotsService, now: () => Date = () => new Date()): SlotHandlers {
  return {
    async createSlots(request) {
      const v = new RequestValidator();
      const doctorId = v.uuid('doctor_id', request.doctorId);
      if (request.slots.length === 0) v.fail('slots', 'must hold at least one slot');
      if (request.slots.length > MAX_SLOTS_PER_BATCH) v.fail('slots', `must hold at most ${MAX_SLOTS_PER_BATCH} slots`);
      const intervals: SlotInterval[] = request.slots.map((slot, i) => {
        const startTime = v.timestamp(`slots[${i}].start_time`, slot.startTime);
        const endTime = v.timestamp(`slots[${i}].end_time`, slot.endTime);
        if (slot.startTime && slot.startTime < now()) v.fail(`slots[${i}].start_time`, 'must be in the future');
        if (slot.startTime && slot.endTime) {
          if (endTime <= startTime) v.fail(`slots[${i}].end_time`, 'must be after start_time');
          else if (+endTime - +startTime > MAX_SLOT_MS) v.fail(`slots[${i}].end_time`, 'must be at most 24 hours after start_time');
        }
        return { startTime, endTime };
      });
      const clinicId = v.optionalUuid('clinic_id', request.clinicId ?? '');
      v.done();
      const created = await slots.createMany(doctorId, intervals, clinicId);
      return { slots: created.map(toSlotMessage) };
    },

    async searchSlots(request) {
      const v = new RequestValidator();
      const from = v.timestamp('start_time_from', request.startTimeFrom);
      const to = v.timestamp('start_time_to', request.startTimeTo);
      if (request.startTimeFrom && request.startTimeTo) {
        if (to <= from) v.fail('start_time_to', 'must be after start_time_from');
        else if (+to - +from > MAX_SEARCH_WINDOW_MS) v.fail('start_time_to', 'must be at most 31 days after start_time_from');
      }
      const search = {
        specialty: normaliseSpecialty(request.specialty) || undefined,
        clinicId: v.optionalUuid('clinic_id', request.clinicId),
        doctorId: v.optionalUuid('doctor_id', request.doctorId),
        near: parseNear(v, request.near, request.radiusKm),
        localWindow: parseLocalWindow(v, request),
        from,
        to,
      };
      const pageSize = v.pageSize('page_size', request.pageSize);
      v.done();
      const page = await slots.search(search, pageSize, decodePageToken(request.pageToken, { slots: search }, isTimeIdKey));
      return { slots: page.items.map(toSlotMessage), nextPageToken: page.nextPageToken };
    },

    async findNextAvailable(request) {
      const v = new RequestValidator();
      // A past `after` means now: what has started can no longer be booked.
      const after = request.after ? v.timestamp('after', request.after) : now();
      const from = new Date(Math.max(+after, +now()));
      const search = {
        specialty: normaliseSpecialty(request.specialty) || undefined,
        clinicId: v.optionalUuid('clinic_id', request.clinicId),
        near: parseNear(v, request.near, request.radiusKm),
        localWindow: parseLocalWindow(v, request),
        from,
        to: new Date(+from + NEXT_AVAILABLE_HORIZON_MS),
        limit: v.pageSize('limit', request.limit, 20, 100),
      };
      v.done();
      return { slots: (await slots.nextAvailable(search)).map(toSlotMessage) };
    },

    async getSlot({ id }) {
      const v = new RequestValidator();
      const slotId = v.uuid('id', id);
      v.done();
      return { slot: toSlotMessage(await slots.getNamed(slotId)) };
    },

    async claimSlot(request, ctx) {
      const v = new RequestValidator();
      const slotId = v.uuid('slot_id', request.slotId);
      const claimId = v.uuid('claim_id', request.claimId);
      v.done();
      return { slot: toSlotMessage(await slots.claim(slotId, claimId, ctx.deadline)) };
    },

    async releaseSlot(request) {
      const v = new RequestValidator();
      const slotId = v.uuid('slot_id', request.slotId);
      const claimId = v.uuid('claim_id', request.claimId);
      v.done();
      return { slot: toSlotMessage(await slots.release(slotId, claimId)) };
    },
  };
}
