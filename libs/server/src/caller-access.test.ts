import { describe, expect, it } from 'vitest';
import { callerNotAllowedError, isAllowed, uriSans } from './caller-access';

describe('uriSans', () => {
  it('reads the URIs of a subjectaltname as Node reports it, and nothing else', () => {
    expect(uriSans('URI:spiffe://carebook/booking, DNS:localhost, IP Address:127.0.0.1')).toEqual(['spiffe://carebook/booking']);
    expect(uriSans('DNS:localhost, URI:spiffe://a/b, URI:spiffe://c/d')).toEqual(['spiffe://a/b', 'spiffe://c/d']);
    expect(uriSans(undefined)).toEqual([]);
    expect(uriSans('DNS:localhost')).toEqual([]);
  });

  it('unquotes a URI written as a JSON string, so a comma inside it cannot forge a second entry', () => {
    expect(uriSans('URI:"spiffe://x/y, URI:spiffe://carebook/admin", DNS:a')).toEqual(['spiffe://x/y, URI:spiffe://carebook/admin']);
  });
});

describe('isAllowed', () => {
  const callers = { admin: ['spiffe://carebook/admin'], internal: ['spiffe://carebook/booking'] };

  it('admits anyone to authenticated methods and only listed identities to the others', () => {
    expect(isAllowed('authenticated', [], callers)).toBe(true);
    expect(isAllowed('admin', ['spiffe://carebook/admin'], callers)).toBe(true);
    expect(isAllowed('admin', ['spiffe://carebook/booking'], callers)).toBe(false);
    expect(isAllowed('internal', ['spiffe://carebook/booking'], callers)).toBe(true);
    expect(isAllowed('internal', [], callers)).toBe(false);
  });

  it('admits no certificate with several URI SANs, even one listed by one of them', () => {
    expect(isAllowed('internal', ['spiffe://evil', 'spiffe://carebook/booking'], callers)).toBe(false);
    expect(isAllowed('admin', ['spiffe://carebook/admin', 'spiffe://carebook/admin'], callers)).toBe(false);
  });

  it('admits no one when a list is empty', () => {
    expect(isAllowed('admin', ['spiffe://carebook/admin'], { admin: [], internal: [] })).toBe(false);
  });
});

describe('callerNotAllowedError', () => {
  it('is PERMISSION_DENIED CALLER_NOT_ALLOWED naming a short prefix of the identity', () => {
    const err = callerNotAllowedError('admin', [`spiffe://carebook/${'x'.repeat(300)}`]);
    expect(err).toMatchObject({ kind: 'permission_denied', reason: 'CALLER_NOT_ALLOWED' });
    expect(err.metadata.rule).toBe('admin');
    expect(err.metadata.caller.length).toBeLessThan(80);
    expect(callerNotAllowedError('internal', []).metadata.caller).toBe('(a certificate without a URI SAN)');
  });
});
