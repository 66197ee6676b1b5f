import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_KEY_SCOPES, ROLES } from '@parley/contracts';
import { PERMISSIONS, ROLE_PERMISSIONS, SCOPE_PERMISSIONS, isReadPermission } from './permissions.js';

// The documented matrix is what users rely on; this keeps it equal to the one the code enforces.
const doc = readFileSync(new URL('../../../docs/permissions.md', import.meta.url), 'utf8');

/** The rows of the first markdown table whose header starts with `firstHeader`, as header → cell. */
function table(markdown: string, firstHeader: string): Array<Record<string, string>> {
  const lines = markdown.split('\n').map((l) => l.trim());
  const cells = (line: string) =>
    line
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split('|')
      .map((c) => c.trim());
  const start = lines.findIndex((l) => l.startsWith('|') && cells(l)[0] === firstHeader);
  if (start === -1) throw new Error(`docs/permissions.md has no table starting with "${firstHeader}"`);
  const headers = cells(lines[start] as string);
  const rows: Array<Record<string, string>> = [];
  // Skip the header and its |---| separator; the table ends at the first line that is not a row.
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const values = cells(line);
    rows.push(Object.fromEntries(headers.map((h, i) => [h, values[i] ?? ''])));
  }
  return rows;
}

/** `` `a:b`, `c:d` `` → ['a:b', 'c:d']; anything outside backticks is not a name. */
const codeNames = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);

describe('docs/permissions.md', () => {
  const roleRows = table(doc, 'Permission');

  it('has one row per permission, in the order of PERMISSIONS', () => {
    expect(roleRows.map((r) => codeNames(r.Permission ?? '')[0])).toEqual([...PERMISSIONS]);
  });

  it('marks exactly the permissions ROLE_PERMISSIONS grants to each role', () => {
    for (const role of ROLES) {
      const documented = roleRows.map((row) => {
        const mark = row[role];
        if (mark !== '✓' && mark !== '—') {
          throw new Error(`cell for ${role} / ${row.Permission} must be ✓ or —, not "${mark}"`);
        }
        return mark === '✓';
      });
      const enforced = PERMISSIONS.map((p) => ROLE_PERMISSIONS[role].has(p));
      expect({ role, granted: documented }).toEqual({ role, granted: enforced });
    }
  });

  it('documents a viewer who only reads, as the code does', () => {
    expect([...ROLE_PERMISSIONS.viewer].every(isReadPermission)).toBe(true);
    expect(doc).toContain('Viewers never change anything');
  });

  it('has one row per API-key scope with exactly what SCOPE_PERMISSIONS grants', () => {
    const scopeRows = table(doc, 'Scope');
    expect(scopeRows.map((r) => codeNames(r.Scope ?? '')[0])).toEqual([...API_KEY_SCOPES]);
    for (const row of scopeRows) {
      const scope = codeNames(row.Scope ?? '')[0] as (typeof API_KEY_SCOPES)[number];
      expect({ scope, grants: new Set(codeNames(row.Grants ?? '')) }).toEqual({
        scope,
        grants: new Set(SCOPE_PERMISSIONS[scope]),
      });
    }
  });

  it('says no key may delete or transfer the organization, which holds in the code', () => {
    const granted = new Set(Object.values(SCOPE_PERMISSIONS).flat());
    expect(granted.has('organization:delete')).toBe(false);
    expect(granted.has('organization:transfer')).toBe(false);
    expect(doc).toMatch(/No scope grants `organization:delete` or `organization:transfer`/);
  });
});
