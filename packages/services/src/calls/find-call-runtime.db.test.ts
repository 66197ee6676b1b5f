import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCallsFixture, type CallsFixture } from '../testing/calls-fixture.js';
import { findCallRuntime } from './find-call-runtime.js';

let fixture: CallsFixture;

beforeAll(async () => {
  fixture = await createCallsFixture();
});
afterAll(() => fixture.close());

describe('finding the runtime that carries a call', () => {
  it('answers the runtime each call was claimed by', async () => {
    const onA = await fixture.newCall({ status: 'in_progress', runtimeId: 'rt-a' });
    const onB = await fixture.newCall({ status: 'in_progress', runtimeId: 'rt-b' });
    expect(await findCallRuntime(fixture.db, onA)).toBe('rt-a');
    expect(await findCallRuntime(fixture.db, onB)).toBe('rt-b');
  });

  it('still answers it once the carrier has ended the call (the runtime may be waiting on it)', async () => {
    const ended = await fixture.newCall({ status: 'completed', runtimeId: 'rt-a' });
    expect(await findCallRuntime(fixture.db, ended)).toBe('rt-a');
  });

  it('answers null for a call no runtime has claimed yet, and for an unknown call', async () => {
    const ringing = await fixture.newCall();
    expect(await findCallRuntime(fixture.db, ringing)).toBeNull();
    expect(await findCallRuntime(fixture.db, randomUUID())).toBeNull();
  });
});
