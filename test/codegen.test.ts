/**
 * The committed typed client (web/shared/gql, GraphQL Code Generator's client preset) matches
 * what the generator makes now from schema/schema.graphql and the named operations: a changed
 * schema or operation without `npm run codegen` fails here.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { GENERATED_DIR } from '../codegen';

const ROOT = path.join(__dirname, '..');

/**
 * The programmatic `generate` of @graphql-codegen/cli with codegen.ts's configuration, writing to
 * `out`. In a child Node process: the CLI package loads ES modules (yargs) that jest's module
 * runtime cannot.
 */
function generateInto(out: string): void {
  const script = [
    "const { generate } = require('@graphql-codegen/cli');",
    "const { codegenConfig } = require('./codegen.ts');",
    'const [out, root] = process.argv.slice(-2);',
    'generate({ ...codegenConfig(out, root), cwd: root }, true).catch((e) => { console.error(e && (e.message || e)); process.exit(1); });',
  ].join('\n');
  execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script, '--', `${out}/`, ROOT], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 50000,
  });
}

function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p).split(path.sep).join('/')] = fs.readFileSync(p, 'utf8');
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

test('web/shared/gql is what `npm run codegen` generates from the schema and the operations', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-codegen-'));
  try {
    generateInto(tmp);
    const fresh = filesUnder(tmp);
    const committed = filesUnder(path.join(ROOT, GENERATED_DIR));
    expect(Object.keys(fresh).length).toBeGreaterThan(0);
    // file by file, so a failure names the file that drifted
    expect(Object.keys(committed)).toEqual(Object.keys(fresh));
    for (const [name, text] of Object.entries(fresh)) expect([name, committed[name]]).toEqual([name, text]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}, 60000);
