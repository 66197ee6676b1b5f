export { createTool } from './create-tool.js';
export { listTools } from './list-tools.js';
export { getTool } from './get-tool.js';
export { updateTool } from './update-tool.js';
export { deleteTool } from './delete-tool.js';
export { setCatalogToolSettings } from './set-catalog-tool-settings.js';
export { publishCatalogTool } from './publish-catalog-tool.js';
export { updateCatalogTool } from './update-catalog-tool.js';
export { deleteCatalogTool } from './delete-catalog-tool.js';
export { recordToolDiscovery, type ToolDiscovery } from './record-tool-discovery.js';
export { compileArgumentsSchema, type ArgumentsValidator } from './arguments-schema.js';
export { CALL_VARIABLE_PREFIX } from './validate-tool.js';
export { findVisibleTool, toolFunctions, type ToolRow, type VisibleTool } from './tool-row.js';
export {
  DEFAULT_CALL_DISCOVERY_TIMEOUT_MS,
  resolveCallTools,
  type CallToolFunction,
  type CallToolSource,
  type ResolveCallToolsOptions,
  type ResolvedCallTools,
} from './resolve-call-tools.js';
export { testTool, type TestToolOptions } from './test-tool.js';
export { refreshToolFunctions } from './refresh-tool-functions.js';
export { type ToolOutbound } from './tool-request-settings.js';
