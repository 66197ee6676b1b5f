import { ServiceError } from '../errors.js';

export const toolInUse = (agentIds: string[]) =>
  new ServiceError(
    'tool_in_use',
    `The tool is used by ${agentIds.length} agent(s), in their draft or published version; remove it from them first`,
    { agentIds },
  );
