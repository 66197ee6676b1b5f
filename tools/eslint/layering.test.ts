import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function layeringErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}/${filePath}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'parley/layering').map((m) => m.message);
}

describe('lint enforces the layering of DESIGN §2', () => {
  it('refuses a route that imports the database', async () => {
    const errors = await layeringErrors(
      'apps/server/src/api/routes/v1/example.ts',
      "import { agents } from '@parley/db';\nexport const x = agents;\n",
    );
    expect(errors).toEqual([expect.stringMatching(/routes call a @parley\/services verb/)]);
  });

  it('refuses db importing services, contracts importing db, voice importing anything internal', async () => {
    expect(
      await layeringErrors(
        'packages/db/src/x.ts',
        "import { signup } from '@parley/services';\nexport { signup };\n",
      ),
    ).toHaveLength(1);
    expect(
      await layeringErrors(
        'packages/contracts/src/x.ts',
        "import { users } from '@parley/db';\nexport { users };\n",
      ),
    ).toHaveLength(1);
    expect(
      await layeringErrors('packages/voice/src/x.ts', "export * from '@parley/contracts';\n"),
    ).toHaveLength(1);
  });

  it('refuses a relative import that climbs into another package', async () => {
    const errors = await layeringErrors(
      'packages/services/src/x.ts',
      "import { users } from '../../db/src/schema.js';\nexport { users };\n",
    );
    expect(errors).toEqual([expect.stringMatching(/leaves packages\/services/)]);
  });

  it('allows what the design allows', async () => {
    expect(
      await layeringErrors(
        'packages/services/src/x.ts',
        "import { users } from '@parley/db';\nimport { Role } from '@parley/contracts';\nexport { users, Role };\n",
      ),
    ).toEqual([]);
    expect(
      await layeringErrors(
        'apps/server/src/runtime.ts',
        "import { migrate } from '@parley/db';\nexport { migrate };\n",
      ),
    ).toEqual([]);
    expect(
      await layeringErrors(
        'apps/server/src/api/routes/v1/x.ts',
        "import { signup } from '@parley/services';\nexport { signup };\n",
      ),
    ).toEqual([]);
  });
});
