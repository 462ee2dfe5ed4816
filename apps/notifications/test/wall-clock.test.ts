// Times in messages are the clinic's wall clock on either side of a daylight
// saving change, with the abbreviation of the zone in force at that instant.
import { describe, expect, it } from 'vitest';
import { wallClock } from '../src/messages/wall-clock';

describe('wallClock', () => {
  it('shows 09:00 in Berlin as 09:00 CET before the change of 28 Mar 2027 (01:00 UTC) and 09:00 CEST after it', () => {
    expect(wallClock(new Date('2027-03-27T08:00:00Z'), 'Europe/Berlin')).toBe('Sat 27 Mar 2027, 09:00 CET (Europe/Berlin)');
    expect(wallClock(new Date('2027-03-29T07:00:00Z'), 'Europe/Berlin')).toBe('Mon 29 Mar 2027, 09:00 CEST (Europe/Berlin)');
  });

  it('switches at the instant of the change itself: 01:59 CET, then 03:00 CEST', () => {
    expect(wallClock(new Date('2027-03-28T00:59:00Z'), 'Europe/Berlin')).toBe('Sun 28 Mar 2027, 01:59 CET (Europe/Berlin)');
    expect(wallClock(new Date('2027-03-28T01:00:00Z'), 'Europe/Berlin')).toBe('Sun 28 Mar 2027, 03:00 CEST (Europe/Berlin)');
  });

  it('shows 09:00 in New York as 09:00 EST before the change of 14 Mar 2027 and 09:00 EDT after it', () => {
    expect(wallClock(new Date('2027-03-07T14:00:00Z'), 'America/New_York')).toBe('Sun 7 Mar 2027, 09:00 EST (America/New_York)');
    expect(wallClock(new Date('2027-03-15T13:00:00Z'), 'America/New_York')).toBe('Mon 15 Mar 2027, 09:00 EDT (America/New_York)');
  });

  it('uses the 24-hour clock, midnight as 00:00', () => {
    expect(wallClock(new Date('2027-03-28T22:00:00Z'), 'Europe/Berlin')).toBe('Mon 29 Mar 2027, 00:00 CEST (Europe/Berlin)');
    expect(wallClock(new Date('2027-03-29T16:30:00Z'), 'Europe/Berlin')).toBe('Mon 29 Mar 2027, 18:30 CEST (Europe/Berlin)');
  });

  it('finds abbreviations only regional locales know', () => {
    expect(wallClock(new Date('2027-09-01T03:30:00Z'), 'Asia/Kolkata')).toBe('Wed 1 Sep 2027, 09:00 IST (Asia/Kolkata)');
    expect(wallClock(new Date('2027-01-15T00:00:00Z'), 'Australia/Sydney')).toBe('Fri 15 Jan 2027, 11:00 AEDT (Australia/Sydney)');
    expect(wallClock(new Date('2027-07-15T08:00:00Z'), 'Europe/London')).toBe('Thu 15 Jul 2027, 09:00 BST (Europe/London)');
  });

  it('shows the offset for a zone without an abbreviation', () => {
    expect(wallClock(new Date('2027-09-01T03:30:00Z'), 'Asia/Tokyo')).toBe('Wed 1 Sep 2027, 12:30 GMT+9 (Asia/Tokyo)');
    expect(wallClock(new Date('2027-09-01T03:30:00Z'), 'Asia/Kathmandu')).toBe('Wed 1 Sep 2027, 09:15 GMT+5:45 (Asia/Kathmandu)');
  });

  it('refuses a zone that does not exist', () => {
    expect(() => wallClock(new Date('2027-09-01T03:30:00Z'), 'Mars/Olympus_Mons')).toThrow(RangeError);
  });
});
