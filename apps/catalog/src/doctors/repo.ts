import { afterTimeIdKey, preparedByText, queryPrepared, type SqlPool, type TimeIdKey } from '@carebook/server';
import type { CatalogPrisma } from '../db';
import { Modality, Prisma } from '../generated/prisma/client';
import { MODALITY_SQL } from '../modality';
import type { Doctor as DoctorRow } from '../generated/prisma/client';

/** A doctor with every clinic they practise at: the primary clinic first, then the others in the order they were linked. */
export type Doctor = DoctorRow & { clinicIds: string[] };

/** A doctor with the modalities it offers (see offeredModalities), as the API shows it. */
export type DoctorWithModalities = Doctor & { modalities: Modality[] };

// The links in the order Doctor.clinic_ids lists them.
const withLinks = {
  clinicLinks: { select: { clinicId: true }, orderBy: [{ createTime: 'asc' as const }, { clinicId: 'asc' as const }] },
} satisfies Prisma.DoctorInclude;

/**
 * Whether doctor `d` offers `modality`: a rule or extra hours of it in a
 * schedule that has not ended (on the clinic's calendar), or an open slot of
 * it that has not started, by the database's clock. Each is an index probe,
 * but a doctor's slots of the other modality are read through until one of
 * this modality turns up (video ones from their own partial index).
 */
function offers(modality: Modality): Prisma.Sql {
  const m = MODALITY_SQL[modality];
  return Prisma.sql`(
    EXISTS (SELECT 1 FROM schedule sc JOIN clinic c ON c.id = sc.clinic_id JOIN schedule_rule r ON r.schedule_id = sc.id
            WHERE sc.doctor_id = d.id AND r.modality = ${m} AND (sc.valid_until IS NULL OR sc.valid_until >= (now() AT TIME ZONE c.time_zone)::date))
    OR EXISTS (SELECT 1 FROM schedule sc JOIN clinic c ON c.id = sc.clinic_id JOIN schedule_exception x ON x.schedule_id = sc.id
               WHERE sc.doctor_id = d.id AND x.modality = ${m} AND x.date >= (now() AT TIME ZONE c.time_zone)::date)
    OR EXISTS (SELECT 1 FROM slot s WHERE s.doctor_id = d.id AND s.status = 'open' AND s.modality = ${m} AND s.start_time > now()))`;
}

function toDoctor(row: DoctorRow & { clinicLinks: { clinicId: string }[] }): Doctor {
  const { clinicLinks, ...doctor } = row;
  const others = clinicLinks.map((l) => l.clinicId).filter((id) => id !== doctor.clinicId);
  return { ...doctor, clinicIds: [doctor.clinicId, ...others] };
}

export interface NewDoctor {
  clinicId: string;
  displayName: string;
  specialty: string;
}

export interface DoctorFilter {
  clinicId?: string;
  specialty?: string;
}

/**
 * The modalities of doctors $1, in enum order. Prepared: its six subqueries
 * over tables with many indexes take PostgreSQL several milliseconds to plan,
 * ten times what running it takes, and every doctor read runs it (a burst of
 * reminders reads a doctor per visit).
 */
const OFFERED_MODALITIES = (() => {
  const each = Object.values(Modality).map((m) => Prisma.sql`CASE WHEN ${offers(m)} THEN ${MODALITY_SQL[m]} END`);
  const { text } = Prisma.sql`
    SELECT d.id::text AS "doctorId", array_remove(ARRAY[${Prisma.join(each)}], NULL)::text[] AS modalities
    FROM unnest(${[]}::uuid[]) AS d(id)`;
  return preparedByText('doctor_modalities', text);
})();

/** Queries over the doctor table. */
export function doctorsRepo(prisma: CatalogPrisma, sql: SqlPool) {
  return {
    /** Creates the doctor with the link to its primary clinic, in one transaction. */
    create: async (doctor: NewDoctor): Promise<Doctor> =>
      toDoctor(await prisma.doctor.create({ data: { ...doctor, clinicLinks: { create: { clinicId: doctor.clinicId } } }, include: withLinks })),

    findById: async (id: string): Promise<Doctor | undefined> => {
      const row = await prisma.doctor.findUnique({ where: { id }, include: withLinks });
      return row ? toDoctor(row) : undefined;
    },

    findByIds: async (ids: readonly string[]): Promise<Doctor[]> =>
      (await prisma.doctor.findMany({ where: { id: { in: [...ids] } }, include: withLinks })).map(toDoctor),

    /** Links the doctor to the clinic; true if the link is new. */
    addClinic: async (doctorId: string, clinicId: string): Promise<boolean> =>
      (await prisma.doctorClinic.createMany({ data: [{ doctorId, clinicId }], skipDuplicates: true })).count > 0,

    /** One page in (create_time, id) order, after the keyset position if given. The clinic filter matches every clinic of the doctor. */
    listPage: async (filter: DoctorFilter, limit: number, after?: TimeIdKey): Promise<Doctor[]> => {
      const rows = await prisma.doctor.findMany({
        where: {
          ...(filter.clinicId && { clinicLinks: { some: { clinicId: filter.clinicId } } }),
          specialty: filter.specialty,
          ...afterTimeIdKey('createTime', after),
        },
        orderBy: [{ createTime: 'asc' }, { id: 'asc' }],
        take: limit,
        include: withLinks,
      });
      return rows.map(toDoctor);
    },

    /**
     * What each doctor offers (see `offers`), derived on every read so it
     * cannot go stale: a schedule whose slots lie beyond the horizon, or are
     * all booked, still counts; a doctor with neither gets none. In enum
     * order: in_person, then video.
     */
    async offeredModalities(doctorIds: string[]): Promise<Map<string, Modality[]>> {
      const rows = await queryPrepared<{ doctorId: string; modalities: Modality[] }>(sql, OFFERED_MODALITIES, [doctorIds]);
      return new Map(rows.map((r) => [r.doctorId, r.modalities]));
    },
  };
}

export type DoctorsRepo = ReturnType<typeof doctorsRepo>;
