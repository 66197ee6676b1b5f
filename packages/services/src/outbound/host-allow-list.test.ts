import { describe, expect, it } from 'vitest';
import { isHostAllowed } from './host-allow-list.js';

describe('isHostAllowed', () => {
  it('matches names exactly, ignoring case and a trailing dot', () => {
    expect(isHostAllowed('crm.internal', ['crm.internal'])).toBe(true);
    expect(isHostAllowed('CRM.internal.', ['crm.internal'])).toBe(true);
    expect(isHostAllowed('crm.internal.evil.com', ['crm.internal'])).toBe(false);
    expect(isHostAllowed('xcrm.internal', ['crm.internal'])).toBe(false);
  });

  it('matches *.suffix against names under the suffix only', () => {
    expect(isHostAllowed('a.corp.example', ['*.corp.example'])).toBe(true);
    expect(isHostAllowed('a.b.corp.example', ['*.corp.example'])).toBe(true);
    expect(isHostAllowed('corp.example', ['*.corp.example'])).toBe(false);
    expect(isHostAllowed('evilcorp.example', ['*.corp.example'])).toBe(false);
  });

  it('never treats a bare wildcard or an empty list as allowing everything', () => {
    expect(isHostAllowed('anything.com', ['*'])).toBe(false);
    expect(isHostAllowed('anything.com', ['*.'])).toBe(false);
    expect(isHostAllowed('anything.com', [''])).toBe(false);
    expect(isHostAllowed('anything.com', [])).toBe(false);
    expect(isHostAllowed('anything.com', undefined)).toBe(false);
  });

  it('matches IP literals written with or without brackets', () => {
    expect(isHostAllowed('[::1]', ['::1'])).toBe(true);
    expect(isHostAllowed('10.0.0.5', ['10.0.0.5'])).toBe(true);
  });
});
