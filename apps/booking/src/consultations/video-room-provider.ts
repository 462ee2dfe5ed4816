// The port to whatever makes consultation rooms: the default Jitsi adapter
// (jitsi-rooms.ts), which calls nothing outside, or a provider with an API
// (Zoom, Twilio, Daily), which the dispatcher calls the same way. Outcomes
// are values: the dispatcher decides what a failure means for the row.

/** What the dispatcher asks for: one room for one appointment. */
export interface RoomRequest {
  appointmentId: string;
  /** When the links start to work. */
  validFrom: Date;
  /** When they stop. */
  validUntil: Date;
  /**
   * The same on every try for one consultation: a provider with an API
   * passes it on (an Idempotency-Key header), so a try whose answer was
   * lost does not make a second room.
   */
  idempotencyKey: string;
}

/** A room the provider made. The two links differ; each is a secret. */
export interface Room {
  /** The provider's name for the room, which revokeRoom takes. */
  providerRoomId: string;
  patientJoinUrl: string;
  /** Where the provider knows roles, the doctor's link makes a moderator. */
  doctorJoinUrl: string;
}

/** How a call to the provider went. */
export type ProviderOutcome<T> =
  | ({ kind: 'accepted' } & T)
  /** Worth trying again later: a timeout, a 5xx, a rate limit. */
  | { kind: 'retryable'; error: string }
  /** Trying again cannot help: the provider refused the request itself. */
  | { kind: 'permanent'; error: string };

/** Makes and revokes consultation rooms. Never throws for a provider's failure: that is an outcome. */
export interface VideoRoomProvider {
  createRoom(request: RoomRequest): Promise<ProviderOutcome<Room>>;
  /** Ends the room, so that neither link works any more; a room the provider no longer knows counts as revoked. */
  revokeRoom(providerRoomId: string): Promise<ProviderOutcome<object>>;
}
