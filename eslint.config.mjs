// The layers, enforced (docs/architecture.md): each layer imports only the layers below it, and
// nothing outside src/engine imports past its two doors (engine/index.ts, engine/toolkit.ts).
// Only import boundaries are linted here; the compiler checks the rest (`tsc --noEmit`).
import tseslint from 'typescript-eslint';

/** Import specifiers (relative, any depth) that reach a folder of src/. */
const into = (...folders) => folders.flatMap((f) => [`**/${f}`, `**/${f}/**`]);

/** Past the engine's doors: any file of src/engine but index.ts and toolkit.ts. */
const pastEngineDoors = {
  group: ['**/engine/*', '!**/engine/toolkit', '!**/engine/index', '**/engine/*/**'],
  message: 'import the engine through src/engine (the service door) or src/engine/toolkit (the tooling door)',
};

const layer = (files, forbidden, why, extra = []) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', { patterns: [...(forbidden.length ? [{ group: into(...forbidden), message: why }] : []), ...extra] }],
  },
});

const ABOVE_ENGINE = ['runs', 'adapters', 'services', 'resolvers', 'http', 'queue', 'events', 'storage', 'images', 'metrics', 'training', 'cli', 'db', 'app', 'server', 'worker', 'config', 'logger'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'src/db/generated/**', 'web/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  // bottom: errors and generic utilities import nothing of the project
  layer(['src/errors.ts', 'src/util/**/*.ts'], ['engine', ...ABOVE_ENGINE], 'src/errors.ts and src/util are the bottom layer'),
  // the engine imports no server code
  layer(['src/engine/**/*.ts'], ABOVE_ENGINE, 'the engine imports nothing from the service (only src/errors.ts and src/util)'),
  // the run domain knows no adapter and no service
  layer(['src/runs/**/*.ts'], ['adapters', 'services', 'resolvers', 'http', 'queue', 'events', 'storage', 'images', 'db', 'app', 'server', 'cli'], 'the run domain knows no adapter', [pastEngineDoors]),
  // ports and embedded adapters below the services
  layer(['src/queue/**/*.ts', 'src/storage/**/*.ts', 'src/events/**/*.ts', 'src/images/**/*.ts', 'src/metrics/**/*.ts'], ['services', 'resolvers', 'http', 'adapters', 'app', 'server', 'cli', 'training'], 'queue/, storage/, events/, images/ and metrics/ sit below the services', [pastEngineDoors]),
  layer(['src/adapters/**/*.ts'], ['services', 'resolvers', 'http', 'app', 'server', 'cli'], 'adapters implement ports; they sit below the services', [pastEngineDoors]),
  // services: use-cases over ports; the composition root picks the adapters
  layer(['src/services/**/*.ts'], ['resolvers', 'http', 'adapters', 'app', 'server', 'cli'], 'services see ports, not adapters or the API', [pastEngineDoors]),
  layer(['src/resolvers/**/*.ts'], ['http', 'adapters', 'app', 'server', 'cli'], 'resolvers are thin: they call services', [pastEngineDoors]),
  layer(['src/http/**/*.ts'], ['adapters', 'app', 'server', 'cli'], 'http/ serves the API; app.ts wires it', [pastEngineDoors]),
  // tooling and the top: through the doors only
  layer(['src/training/**/*.ts', 'src/cli/**/*.ts', 'src/app.ts', 'src/server.ts', 'src/worker.ts', 'src/compose.ts', 'bench/**/*.ts', 'test/**/*.ts', 'client-examples/**/*.ts'], [], '', [pastEngineDoors]),
);
