// What a request to a tool's server carries for one organization: the tool's headers and credential,
// or, for a catalog tool, the catalog's headers with the organization's own on top and the
// organization's own credential (never another organization's).
import type { McpSettings, WebhookSettings } from '@parley/contracts';
import type { Executor } from '@parley/db';
import type { HostLookup } from '../outbound/index.js';
import type { SecretBox } from '../secret-box.js';
import { findCredential } from '../credentials/credential-row.js';
import { openSecretPart } from '../credentials/seal-values.js';
import { credentialHeader, type CredentialHeader } from '../tool-execution/webhook-request.js';
import type { VisibleTool } from './tool-row.js';

/** The operator's outbound settings, from the server's config. */
export interface ToolOutbound {
  /** Host names reached whatever they resolve to (PARLEY_OUTBOUND_ALLOWED_HOSTS). */
  allowedHosts?: readonly string[];
  /** Host name resolution; the system's unless a test injects one. */
  lookup?: HostLookup;
}

export interface ToolRequestSettings<Settings> {
  /** The kind's settings, with the organization's headers merged in. */
  settings: Settings;
  /** The decrypted credential; never logged, masked wherever it is shown. */
  credential: CredentialHeader | undefined;
}

/**
 * The headers and the credential a request carries for one organization: a tool's own, or for a
 * catalog tool the catalog's headers with the organization's on top and the organization's credential.
 */
export function organizationRequestParts(
  { row, settings: own }: VisibleTool,
  settings: Pick<WebhookSettings | McpSettings, 'headers' | 'credentialId'>,
): { headers: Record<string, string>; credentialId: string | null } {
  if (row.organizationId !== null) {
    return { headers: settings.headers, credentialId: settings.credentialId ?? null };
  }
  return {
    headers: { ...settings.headers, ...(own?.headers ?? {}) },
    credentialId: own?.credentialId ?? null,
  };
}

export async function toolRequestSettings<Settings extends WebhookSettings | McpSettings>(
  db: Executor,
  secretBox: SecretBox,
  organizationId: string,
  visible: VisibleTool,
): Promise<ToolRequestSettings<Settings>> {
  const settings = visible.row.settings as Settings;
  const { headers, credentialId } = organizationRequestParts(visible, settings);
  let credential: CredentialHeader | undefined;
  if (credentialId) {
    const stored = await findCredential(db, organizationId, credentialId);
    const { secret = '' } = openSecretPart(secretBox, stored);
    credential = credentialHeader({ secret, headerName: stored.publicValues.headerName });
  }
  return { settings: { ...settings, headers }, credential };
}
