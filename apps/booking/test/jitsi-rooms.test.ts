import { createHmac, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jitsiRooms } from '../src/consultations/jitsi-rooms';
import type { ProviderOutcome, Room, RoomRequest } from '../src/consultations/video-room-provider';

const SECRET = 'a-jitsi-app-secret-of-32-characters-at-least';
const request = (): RoomRequest => ({
  appointmentId: randomUUID(),
  validFrom: new Date('2027-03-29T06:45:00.000Z'),
  validUntil: new Date('2027-03-29T07:50:00.000Z'),
  idempotencyKey: randomUUID(),
});

function accepted(outcome: ProviderOutcome<Room>): Room {
  if (outcome.kind !== 'accepted') throw new Error(`expected a room, got ${outcome.kind}: ${outcome.error}`);
  return outcome;
}

/** The claims of an HS256 JWT, after checking its header and its signature with `secret`. */
function verifiedClaims(jwt: string, secret: string): Record<string, unknown> {
  const [header, payload, signature] = jwt.split('.');
  expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
  expect(signature).toBe(createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url'));
  return JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
}

/** Every hex digit shows up at every position of `values` (all of one length): what uniformly random digits do, and a counter or clock never would. */
function everyDigitAtEveryPosition(values: string[]): boolean {
  return Array.from({ length: values[0].length }, (_, i) => new Set(values.map((v) => v[i])).size === 16).every(Boolean);
}

describe('the Jitsi adapter without token authentication', () => {
  const rooms = jitsiRooms({ baseUrl: 'https://meet.example.org' });

  it('makes a room on the base URL, with a patient link and a different doctor link', async () => {
    const room = accepted(await rooms.createRoom(request()));
    expect(room.providerRoomId).toMatch(/^carebook-[0-9a-f]{32}$/);
    expect(room.patientJoinUrl).toMatch(new RegExp(`^https://meet\\.example\\.org/${room.providerRoomId}\\?invite=[0-9a-f]{32}$`));
    expect(room.doctorJoinUrl).toMatch(new RegExp(`^https://meet\\.example\\.org/${room.providerRoomId}\\?invite=[0-9a-f]{32}$`));
    expect(room.doctorJoinUrl).not.toBe(room.patientJoinUrl);
  });

  it('draws room names and link tokens of 128 random bits each', async () => {
    const made = await Promise.all(Array.from({ length: 1000 }, async () => accepted(await rooms.createRoom(request()))));
    const names = made.map((r) => r.providerRoomId.slice('carebook-'.length));
    const tokens = made.flatMap((r) => [r.patientJoinUrl, r.doctorJoinUrl].map((url) => new URL(url).searchParams.get('invite')!));
    for (const values of [names, tokens]) {
      expect(values.every((v) => /^[0-9a-f]{32}$/.test(v))).toBe(true); // 32 hex digits: 128 bits
      expect(new Set(values).size).toBe(values.length);
      expect(everyDigitAtEveryPosition(values)).toBe(true);
    }
  });

  it('revokes by forgetting: Jitsi keeps no room to end', async () => {
    expect(await rooms.revokeRoom('carebook-00000000000000000000000000000000')).toEqual({ kind: 'accepted' });
  });
});

describe('the Jitsi adapter with token authentication', () => {
  const rooms = jitsiRooms({ baseUrl: 'https://Meet.Example.org/', jwt: { appId: 'carebook', secret: SECRET } });

  it("signs each link's JWT with the app secret: Jitsi's claims, valid from nbf to exp, the doctor a moderator and the patient not", async () => {
    const asked = request();
    const room = accepted(await rooms.createRoom(asked));
    const [patient, doctor] = [room.patientJoinUrl, room.doctorJoinUrl].map((link) => {
      const url = new URL(link);
      expect(`${url.origin}${url.pathname}`).toBe(`https://meet.example.org/${room.providerRoomId}`);
      expect([...url.searchParams.keys()]).toEqual(['jwt']);
      return verifiedClaims(url.searchParams.get('jwt')!, SECRET);
    });
    const common = {
      aud: 'carebook',
      iss: 'carebook',
      sub: 'meet.example.org',
      room: room.providerRoomId,
      nbf: +asked.validFrom / 1000,
      exp: +asked.validUntil / 1000,
    };
    expect(patient).toEqual({
      ...common,
      moderator: false,
      context: { user: { id: `${asked.appointmentId}:patient`, name: 'Patient', affiliation: 'member' } },
      jti: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(doctor).toEqual({
      ...common,
      moderator: true,
      context: { user: { id: `${asked.appointmentId}:doctor`, name: 'Doctor', affiliation: 'owner' } },
      jti: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(patient.jti).not.toBe(doctor.jti);
  });

  it('refuses to verify with another secret', async () => {
    const room = accepted(await rooms.createRoom(request()));
    const jwt = new URL(room.patientJoinUrl).searchParams.get('jwt')!;
    expect(() => verifiedClaims(jwt, `${SECRET}-rotated`)).toThrow();
  });

  it("names a tenant's deployment as its subject, with rooms under the tenant", async () => {
    const tenant = jitsiRooms({ baseUrl: 'https://8x8.example/Clinic-North', jwt: { appId: 'carebook', secret: SECRET } });
    const room = accepted(await tenant.createRoom(request()));
    expect(room.patientJoinUrl.startsWith(`https://8x8.example/Clinic-North/${room.providerRoomId}?jwt=`)).toBe(true);
    expect(verifiedClaims(new URL(room.doctorJoinUrl).searchParams.get('jwt')!, SECRET).sub).toBe('clinic-north');
  });
});
