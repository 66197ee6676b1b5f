// The API's call statuses (contracts) are the statuses the call verbs write (services).
import { CALL_STATUSES as API_STATUSES } from '@parley/contracts';
import { describe, expect, it } from 'vitest';
import { CALL_STATUSES } from './call-status.js';

describe('call statuses', () => {
  it('the API documents exactly the statuses a call can have', () => {
    expect([...API_STATUSES]).toEqual([...CALL_STATUSES]);
  });
});
