import { randomBytes } from 'node:crypto';
import { signHs256Jwt } from './hs256-jwt';
import type { ProviderOutcome, Room, RoomRequest, VideoRoomProvider } from './video-room-provider';

// The default video provider: rooms on a Jitsi Meet deployment, made without
// any outside call. A Jitsi room exists as soon as someone opens its URL, so
// "making" one is choosing an unguessable name; and per-participant links
// are Jitsi's token authentication (lib-jitsi-meet doc/tokens.md): a JWT,
// HS256 with the deployment's app secret, passed as ?jwt=. With tokens the
// deployment admits only holders of a valid token for this room, between
// nbf and exp, and the doctor's token makes a moderator. What the
// deployment must enable is in docs/operations.md ("Video consultations").

export interface JitsiOptions {
  /** The deployment, e.g. https://meet.jit.si, or https://host/tenant for a tenant. */
  baseUrl: string;
  /** The deployment's app_id and app_secret; without them links carry a random token instead of a JWT. */
  jwt?: { appId: string; secret: string };
}

/** Random bytes in every room name and link token: 128 bits. */
const RANDOM_BYTES = 16;

// Lower-case hex: Jitsi lower-cases room names, so mixed-case letters would
// add no entropy there.
const randomHex = () => randomBytes(RANDOM_BYTES).toString('hex');

type Participant = 'patient' | 'doctor';

/**
 * The JWT `sub`: the tenant of a tenant URL (https://host/tenant), else the
 * domain, both lower case, as Jitsi compares them.
 */
function subjectOf(base: URL): string {
  const tenant = base.pathname.split('/').filter(Boolean)[0];
  return (tenant ?? base.hostname).toLowerCase();
}

/** The Jitsi adapter of the VideoRoomProvider port. */
export function jitsiRooms(options: JitsiOptions): VideoRoomProvider {
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const subject = subjectOf(base);

  const tokenFor = (participant: Participant, room: string, request: RoomRequest): string => {
    if (!options.jwt) return `invite=${randomHex()}`;
    const moderator = participant === 'doctor';
    const claims = {
      aud: options.jwt.appId,
      iss: options.jwt.appId,
      sub: subject,
      room,
      nbf: Math.floor(+request.validFrom / 1000),
      exp: Math.ceil(+request.validUntil / 1000),
      moderator,
      // No names: the link travels by e-mail and SMS. token_affiliation reads
      // the affiliation, token_moderation the top-level moderator claim.
      context: { user: { id: `${request.appointmentId}:${participant}`, name: moderator ? 'Doctor' : 'Patient', affiliation: moderator ? 'owner' : 'member' } },
    };
    // A random jti makes each token unguessable on its own, as a link without a JWT is.
    return `jwt=${signHs256Jwt({ ...claims, jti: randomHex() }, options.jwt.secret)}`;
  };

  return {
    async createRoom(request): Promise<ProviderOutcome<Room>> {
      const room = `carebook-${randomHex()}`;
      const url = new URL(room, base).toString();
      return {
        kind: 'accepted',
        providerRoomId: room,
        patientJoinUrl: `${url}?${tokenFor('patient', room, request)}`,
        doctorJoinUrl: `${url}?${tokenFor('doctor', room, request)}`,
      };
    },

    // Jitsi keeps no room to end: a room lives while someone is in it. With
    // tokens, the links stop working at exp; without, a revoked room's links
    // keep working for whoever kept them (docs/operations.md, section 9).
    async revokeRoom() {
      return { kind: 'accepted' };
    },
  };
}
