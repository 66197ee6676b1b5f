// What the carriers' inbound webhooks hand beginInboundCall so that a number's assistant request hook
// is asked the same way whichever carrier the call came through.
import type { AssistantRequestEnv } from '@parley/services';
import type { TelephonyEnv } from './telephony-env.js';

export function assistantRequestEnv(env: TelephonyEnv): AssistantRequestEnv {
  return {
    deps: env.deps,
    // The same allow-list as the agent's tools and pre-call hook.
    allowedHosts: env.runtime.allowedHosts,
    log: env.logger.child({ hook: 'assistant_request' }),
  };
}
