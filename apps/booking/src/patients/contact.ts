// Plausibility checks for contact details: strict enough to catch typos and
// swapped fields, loose enough for every real address and number.

const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
const PHONE_CHARS = /^\+?[0-9 ().-]+$/;

/** True for a plausible e-mail address. */
export function isPlausibleEmail(email: string): boolean {
  return email.length <= 254 && EMAIL.test(email);
}

/** True for a plausible phone number: digits with common separators, 6 to 15 digits (E.164). */
export function isPlausiblePhone(phone: string): boolean {
  const digits = phone.replace(/\D/g, '').length;
  return PHONE_CHARS.test(phone) && digits >= 6 && digits <= 15;
}
