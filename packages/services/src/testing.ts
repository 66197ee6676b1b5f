// Test-only entry (`@parley/services/testing`): helpers other workspaces' tests use. Production code
// imports `@parley/services`; the package build leaves this out.
export * from './testing/local-test-server.js';
