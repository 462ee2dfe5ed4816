import { withFacts, type Appointment } from '../appointments/repo';
import { appointmentFromSnapshot } from '../events/handlers';
import type { StoredEvent } from '../events/repo';
import type { WantedRoom } from './repo';
import { isVideo } from './video';

// What a run of feed events means for consultation rooms, decided without
// I/O. Only BOOKED and RESCHEDULED events make rooms: an appointment that was
// never booked (a hold that expired, a failed booking) has no event of
// either kind, and so never gets one.

/** Rooms to make, and appointments whose rooms are no longer wanted. */
export interface RoomPlan {
  wanted: WantedRoom[];
  unwanted: string[];
}

/**
 * The plan of `events`, in feed order. Within one run an appointment is
 * booked before it is cancelled (it is never booked again), so making every
 * wanted room before revoking the unwanted ones ends as applying the events
 * one by one would.
 */
export function roomPlanOf(events: StoredEvent[]): RoomPlan {
  const plan: RoomPlan = { wanted: [], unwanted: [] };
  const want = (appointment: Appointment) => {
    // A BOOKED or RESCHEDULED event's snapshot always has its slot's facts (appointment_slot_facts_check).
    const { id, startTime, endTime } = withFacts(appointment);
    if (isVideo(appointment)) plan.wanted.push({ appointmentId: id, startTime, endTime });
  };
  for (const event of events) {
    switch (event.type) {
      case 'booked':
        want(appointmentFromSnapshot(event.snapshot));
        break;
      case 'rescheduled':
        want(appointmentFromSnapshot(event.snapshot));
        if (event.replacedSnapshot) plan.unwanted.push(appointmentFromSnapshot(event.replacedSnapshot).id);
        break;
      case 'cancelled':
        plan.unwanted.push(appointmentFromSnapshot(event.snapshot).id);
        break;
    }
  }
  return plan;
}
