import {
  Modality as ModalityMessage,
  ScheduleExceptionKind,
  type CatalogServiceService,
  type Schedule as ScheduleMessage,
  type ScheduleRule as RuleMessage,
} from '@carebook/proto/catalog';
import { isTimeIdKey, maskedFields, RequestValidator, type Handlers, type PageTokens } from '@carebook/server';
import { parseModality, toModalityMessage } from '../modality';
import { toSlotMessage } from '../slots/handlers';
import { parseDate, parseLocalTime, parseSlotDuration, toDateMessage, toDuration, toTimeOfDay } from './calendar';
import type { SchedulesService } from './service';
import { sortRules, specViolations, type ExceptionKind, type ExceptionSpec, type Rule, type Schedule, type ScheduleSpec, type UpdatableField } from './spec';

type ScheduleHandlers = Pick<
  Handlers<CatalogServiceService>,
  'createSchedule' | 'getSchedule' | 'listSchedules' | 'updateSchedule' | 'deleteSchedule' | 'addScheduleException'
>;

const MAX_RULES = 50;

/** The update_mask paths UpdateSchedule accepts, and the field each one sets. */
const UPDATABLE: Record<string, UpdatableField> = {
  rules: 'rules',
  slot_duration: 'slotMinutes',
  valid_from: 'validFrom',
  valid_until: 'validUntil',
};

/** Schedule as the API shows it: rules by day and start, exceptions by date (CLOSED first) and start. */
export function toScheduleMessage(s: Schedule): ScheduleMessage {
  return {
    id: s.id,
    doctorId: s.doctorId,
    clinicId: s.clinicId,
    rules: sortRules(s.rules).map((r) => ({
      dayOfWeek: r.dayOfWeek,
      startLocalTime: toTimeOfDay(r.start),
      endLocalTime: toTimeOfDay(r.end),
      modality: toModalityMessage(r.modality),
    })),
    slotDuration: toDuration(s.slotMinutes),
    validFrom: toDateMessage(s.validFrom),
    validUntil: s.validUntil ? toDateMessage(s.validUntil) : undefined,
    exceptions: s.exceptions.map((e) => ({
      id: e.id,
      date: toDateMessage(e.date),
      kind: e.kind === 'closed' ? ScheduleExceptionKind.SCHEDULE_EXCEPTION_KIND_CLOSED : ScheduleExceptionKind.SCHEDULE_EXCEPTION_KIND_EXTRA,
      startLocalTime: e.start === undefined ? undefined : toTimeOfDay(e.start),
      endLocalTime: e.end === undefined ? undefined : toTimeOfDay(e.end),
      createTime: e.createTime,
      modality: e.modality ? toModalityMessage(e.modality) : ModalityMessage.MODALITY_UNSPECIFIED,
    })),
    materialisedThrough: s.materialisedThrough ? toDateMessage(s.materialisedThrough) : undefined,
    createTime: s.createTime,
    updateTime: s.updateTime,
  };
}

function parseRules(v: RequestValidator, field: string, rules: RuleMessage[]): Rule[] {
  if (rules.length === 0) v.fail(field, 'must hold at least one rule');
  if (rules.length > MAX_RULES) v.fail(field, `must hold at most ${MAX_RULES} rules`);
  return rules.map((rule, i) => {
    const dayOfWeek = rule.dayOfWeek;
    if (!(dayOfWeek >= 1 && dayOfWeek <= 7)) v.fail(`${field}[${i}].day_of_week`, 'must be MONDAY to SUNDAY');
    const start = parseLocalTime(v, `${field}[${i}].start_local_time`, rule.startLocalTime, 'start');
    const end = parseLocalTime(v, `${field}[${i}].end_local_time`, rule.endLocalTime, 'end');
    if (end <= start) v.fail(`${field}[${i}].end_local_time`, 'must be after start_local_time');
    const modality = parseModality(v, `${field}[${i}].modality`, rule.modality);
    return { dayOfWeek, start, end, modality };
  });
}

/** The named client-set fields of a schedule message (the others stay empty); records every violation. */
function parseSpec(v: RequestValidator, schedule: ScheduleMessage | undefined, prefix: string, fields: UpdatableField[]): ScheduleSpec {
  const has = (field: UpdatableField) => fields.includes(field);
  return {
    rules: has('rules') ? parseRules(v, `${prefix}rules`, schedule?.rules ?? []) : [],
    slotMinutes: has('slotMinutes') ? parseSlotDuration(v, `${prefix}slot_duration`, schedule?.slotDuration) : Number.NaN,
    validFrom: has('validFrom') ? parseDate(v, `${prefix}valid_from`, schedule?.validFrom) : '',
    validUntil: has('validUntil') && schedule?.validUntil ? parseDate(v, `${prefix}valid_until`, schedule.validUntil) : undefined,
  };
}

function parseKind(v: RequestValidator, kind: ScheduleExceptionKind): ExceptionKind {
  if (kind === ScheduleExceptionKind.SCHEDULE_EXCEPTION_KIND_CLOSED) return 'closed';
  if (kind === ScheduleExceptionKind.SCHEDULE_EXCEPTION_KIND_EXTRA) return 'extra';
  v.fail('kind', 'must be CLOSED or EXTRA');
  return 'closed';
}

/** gRPC handlers for schedules. */
export function scheduleHandlers(schedules: SchedulesService, tokens: PageTokens): ScheduleHandlers {
  return {
    async createSchedule({ schedule }) {
      const v = new RequestValidator();
      if (!schedule) v.fail('schedule', 'is required');
      const doctorId = v.uuid('schedule.doctor_id', schedule?.doctorId ?? '');
      const clinicId = v.uuid('schedule.clinic_id', schedule?.clinicId ?? '');
      const spec = parseSpec(v, schedule, 'schedule.', Object.values(UPDATABLE));
      for (const violation of specViolations(spec, 'schedule.')) v.fail(violation.field, violation.description);
      v.done();
      return { schedule: toScheduleMessage(await schedules.create({ doctorId, clinicId, ...spec })) };
    },

    async getSchedule({ id }) {
      const v = new RequestValidator();
      const scheduleId = v.uuid('id', id);
      v.done();
      return { schedule: toScheduleMessage(await schedules.get(scheduleId)) };
    },

    async listSchedules({ doctorId, pageSize, pageToken }) {
      const v = new RequestValidator();
      const doctor = v.uuid('doctor_id', doctorId);
      const size = v.pageSize('page_size', pageSize);
      v.done();
      const filters = { schedules: { doctorId: doctor } };
      const page = await schedules.list(doctor, size, tokens.decode(pageToken, filters, isTimeIdKey));
      return { schedules: page.items.map(toScheduleMessage), nextPageToken: tokens.encode(page.next, filters) };
    },

    async updateSchedule({ schedule, updateMask }, ctx) {
      const v = new RequestValidator();
      if (!schedule) v.fail('schedule', 'is required');
      const id = v.uuid('schedule.id', schedule?.id ?? '');
      // An empty mask names every field (AIP-134).
      const fields = maskedFields(v, updateMask?.length ? updateMask : ['*'], UPDATABLE);
      // Cross-field rules are checked by the service, against the merged schedule.
      const spec = parseSpec(v, schedule, 'schedule.', fields);
      v.done();
      const change = await schedules.update(id, spec, fields);
      return { schedule: toScheduleMessage(change.schedule), orphanedClaimedSlots: change.orphanedClaimed.map((slot) => toSlotMessage(slot, ctx)) };
    },

    async deleteSchedule({ id }, ctx) {
      const v = new RequestValidator();
      const scheduleId = v.uuid('id', id);
      v.done();
      return { orphanedClaimedSlots: (await schedules.delete(scheduleId)).map((slot) => toSlotMessage(slot, ctx)) };
    },

    async addScheduleException(request, ctx) {
      const v = new RequestValidator();
      const scheduleId = v.uuid('schedule_id', request.scheduleId);
      const date = parseDate(v, 'date', request.date);
      const kind = parseKind(v, request.kind);
      let hours: Pick<ExceptionSpec, 'start' | 'end' | 'modality'> = {};
      if (kind === 'extra') {
        const start = parseLocalTime(v, 'start_local_time', request.startLocalTime, 'start');
        const end = parseLocalTime(v, 'end_local_time', request.endLocalTime, 'end');
        if (end <= start) v.fail('end_local_time', 'must be after start_local_time');
        hours = { start, end, modality: parseModality(v, 'modality', request.modality) };
      } else {
        if (request.startLocalTime || request.endLocalTime) {
          v.fail(request.startLocalTime ? 'start_local_time' : 'end_local_time', 'must be unset for a CLOSED day');
        }
        // A closed day closes the weekly hours of both modalities.
        if (request.modality) v.fail('modality', 'must be unset for a CLOSED day, which closes the hours of every modality');
      }
      v.done();
      const change = await schedules.addException(scheduleId, { date, kind, ...hours });
      return { schedule: toScheduleMessage(change.schedule), orphanedClaimedSlots: change.orphanedClaimed.map((slot) => toSlotMessage(slot, ctx)) };
    },
  };
}
