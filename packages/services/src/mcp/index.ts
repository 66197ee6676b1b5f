export { callMcpFunction, type McpCallOutcome } from './call-mcp-function.js';
export {
  discoverMcpFunctions,
  MAX_MCP_FUNCTIONS,
  type McpDiscovery,
  type SkippedMcpFunction,
} from './discover-mcp-functions.js';
export { McpServerError, type McpFailureReason } from './mcp-failure.js';
export { type McpConnectionOptions } from './mcp-session.js';
