// The headers a customer's hook is called with (the pre-call context and assistant request hooks):
// its plain headers, its credential's secret in the credential's header, and Parley's own JSON ones.
import { credentialHeader } from '../tool-execution/webhook-request.js';

export type HookHeaders = { ok: true; headers: Record<string, string> } | { ok: false; reason: string };

export async function hookHeaders(
  config: { headers: Readonly<Record<string, string>>; credentialId?: string | null | undefined },
  credentials: (credentialId: string) => Promise<Record<string, string>>,
): Promise<HookHeaders> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(config.headers)) headers[name.toLowerCase()] = value;
  if (config.credentialId) {
    let values: Record<string, string>;
    try {
      values = await credentials(config.credentialId);
    } catch {
      return { ok: false, reason: 'its credential could not be read' };
    }
    const secret = values['secret'];
    if (!secret) return { ok: false, reason: 'its credential has no secret (use a custom credential)' };
    const header = credentialHeader({
      secret,
      ...(values['headerName'] ? { headerName: values['headerName'] } : {}),
    });
    headers[header.headerName.toLowerCase()] = header.value;
  }
  headers['content-type'] = 'application/json';
  headers['user-agent'] = 'Parley';
  return { ok: true, headers };
}
