import { selectList, type ColumnsOf } from '@carebook/server';
import { Prisma, type Slot } from '../generated/prisma/client';

/** Every column of the Slot model under its field name; test/row-columns.test.ts checks it against schema.prisma. */
export const SLOT_FIELDS: ColumnsOf<Slot> = {
  id: 'id',
  doctorId: 'doctor_id',
  specialty: 'specialty',
  clinicId: 'clinic_id',
  startTime: 'start_time',
  endTime: 'end_time',
  status: 'status',
  claimId: 'claim_id',
  createTime: 'create_time',
  updateTime: 'update_time',
  scheduleId: 'schedule_id',
  modality: 'modality',
};

/** The slot `s` as a Slot: every column of the model, under the model's field names. */
export const SLOT_COLUMNS = Prisma.raw(selectList(SLOT_FIELDS, 's'));
