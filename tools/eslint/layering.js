// The import rules of DESIGN §2 as a lint rule: each workspace may import only the internal packages
// listed for it, and a relative import may never climb out of its own workspace.
import path from 'node:path';

/** Which internal packages each workspace may import, and what to do instead. */
/** What the server (every module but its routes) may import. */
const SERVER_IMPORTS = [
  '@parley/contracts',
  '@parley/services',
  '@parley/db',
  '@parley/voice',
  '@parley/providers',
  '@parley/telephony',
];

export const LAYERS = {
  'packages/voice': { allowed: [], hint: 'the voice core imports nothing internal' },
  'packages/providers': { allowed: ['@parley/voice'], hint: 'providers import only @parley/voice' },
  'packages/telephony': { allowed: ['@parley/voice'], hint: 'telephony imports only @parley/voice' },
  'packages/contracts': { allowed: [], hint: 'contracts import only zod' },
  'packages/db': { allowed: [], hint: 'db imports nothing internal' },
  'packages/services': {
    allowed: ['@parley/db', '@parley/contracts', '@parley/providers/catalog'],
    hint: 'services import @parley/db, @parley/contracts and @parley/providers/catalog',
  },
  'packages/testkit': {
    allowed: ['@parley/voice', '@parley/contracts'],
    hint: 'testkit imports voice and contracts',
  },
  'apps/dashboard': { allowed: ['@parley/contracts'], hint: 'the dashboard imports only @parley/contracts' },
  'apps/widget': { allowed: ['@parley/contracts'], hint: 'the widget imports only @parley/contracts' },
  'apps/server/src/api': {
    allowed: ['@parley/contracts', '@parley/services'],
    hint: 'routes call a @parley/services verb, never @parley/db',
  },
  // `parley call simulate` runs the test kit's simulators; this one module loads it, and only when the
  // command runs (it answers a clear error on an install without development dependencies).
  'apps/server/src/cli/simulators.ts': {
    allowed: [...SERVER_IMPORTS, '@parley/testkit'],
    hint: 'only the simulator module of the CLI may load the test kit',
  },
  'apps/server': { allowed: SERVER_IMPORTS, hint: 'the server composes the packages' },
};

// Test files may also use the test kit and db factories.
const TEST_EXTRAS = ['@parley/testkit', '@parley/db', '@parley/db/testing'];

function layerOf(relativeFile) {
  let best;
  for (const prefix of Object.keys(LAYERS)) {
    if (relativeFile === prefix || relativeFile.startsWith(prefix + '/')) {
      if (!best || prefix.length > best.length) best = prefix;
    }
  }
  return best;
}

function workspaceOf(relativeFile) {
  const [top, name] = relativeFile.split('/');
  return top === 'packages' || top === 'apps' ? `${top}/${name}` : undefined;
}

/** @type {import('eslint').Rule.RuleModule} */
export const layeringRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Enforce the package layering of DESIGN §2' },
    schema: [],
    messages: {
      forbidden: "'{{source}}' may not be imported from {{layer}}: {{hint}}.",
      escapes:
        "Relative import '{{source}}' leaves {{workspace}}: import the package by name (@parley/...) if the layering allows it.",
    },
  },
  create(context) {
    const root = context.cwd;
    const file = path.relative(root, context.filename).split(path.sep).join('/');
    const layer = layerOf(file);
    const workspace = workspaceOf(file);
    if (!layer && !workspace) return {};
    const isTest = /\.test\.ts$/.test(file) || file.includes('/test/');

    function check(node, source) {
      if (typeof source !== 'string') return;
      if (source.startsWith('@parley/') && layer) {
        const { allowed, hint } = LAYERS[layer];
        const ok =
          allowed.some((a) => source === a || source.startsWith(a + '/')) ||
          (isTest && TEST_EXTRAS.some((a) => source === a || source.startsWith(a + '/')));
        const ownName = source.split('/').slice(0, 2).join('/');
        const ownWorkspace = workspace && `@parley/${workspace.split('/')[1]}` === ownName;
        if (!ok && !ownWorkspace)
          context.report({ node, messageId: 'forbidden', data: { source, layer, hint } });
      } else if (source.startsWith('.') && workspace) {
        const target = path
          .relative(root, path.resolve(path.dirname(context.filename), source))
          .split(path.sep)
          .join('/');
        if (!(target === workspace || target.startsWith(workspace + '/'))) {
          context.report({ node, messageId: 'escapes', data: { source, workspace } });
        }
      }
    }

    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};
