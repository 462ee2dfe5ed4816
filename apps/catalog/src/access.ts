import type { CatalogServiceService } from '@carebook/proto/catalog';
import type { AccessTable } from '@carebook/server';

/**
 * Who may call each of catalog's RPCs: the one place this is decided
 * (docs/operations.md, section 5). Reads are open to any caller the transport
 * admits; writes of the catalog's data to the callers listed in
 * CATALOG_ADMIN_CALLERS (under mutual TLS); claims and releases to booking
 * alone: the internal token, and under mutual TLS an identity listed in
 * CATALOG_CLAIM_CALLERS. A test walks every RPC of the service against it.
 */
export const CATALOG_ACCESS: AccessTable<typeof CatalogServiceService> = {
  createClinic: 'admin',
  getClinic: 'authenticated',
  listClinics: 'authenticated',
  createDoctor: 'admin',
  getDoctor: 'authenticated',
  batchGetDoctors: 'authenticated',
  listDoctors: 'authenticated',
  addDoctorClinic: 'admin',
  createSchedule: 'admin',
  getSchedule: 'authenticated',
  listSchedules: 'authenticated',
  updateSchedule: 'admin',
  deleteSchedule: 'admin',
  addScheduleException: 'admin',
  createSlots: 'admin',
  searchSlots: 'authenticated',
  findNextAvailable: 'authenticated',
  getSlot: 'authenticated',
  claimSlot: 'internal',
  releaseSlot: 'internal',
};
