// Test-only: tools and their credentials created through the public API, for the /api/v1/tools tests.
import type { SignedInUser } from './harness.js';

let counter = 0;
/** `prefix` with a number no other call in this test file got: function names are unique per organization. */
export const fresh = (prefix: string) => `${prefix}_${++counter}`;

/** POSTs `body` to `url` as `user` and returns what was created; throws unless 201. */
export async function created(user: SignedInUser, body: unknown, url = '/api/v1/tools') {
  const response = await user.client.post(url, body);
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body as { id: string; [field: string]: any };
}

/** Stores a custom credential holding `secret` in `user`'s organization; its id. */
export async function customCredential(user: SignedInUser, secret = 'tool-secret-0123456789abcdef') {
  const response = await user.client.post('/api/v1/credentials', {
    name: fresh('token'),
    provider: 'custom',
    values: { secret },
  });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body.id as string;
}

/** The body of a webhook tool that looks up an order by `order_id`, under a fresh function name. */
export const lookupOrder = (overrides: Record<string, unknown> = {}) => ({
  kind: 'webhook',
  name: 'Order lookup',
  functionName: fresh('lookup_order'),
  description: 'Looks up an order by its number',
  parameters: {
    type: 'object',
    properties: { order_id: { type: 'string', description: 'The order number' } },
    required: ['order_id'],
  },
  webhook: {
    url: 'https://shop.example.test/orders/{{order_id}}',
    method: 'GET',
    headers: { 'X-Shop': 'main' },
  },
  ...overrides,
});
