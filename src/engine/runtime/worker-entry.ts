/** A worker thread's entry file next to its caller: the .ts source under ts-node, else the compiled .js. */
import * as path from 'path';

export function workerEntry(dir: string, base: string, fromSource: boolean): { file: string; execArgv: string[] } {
  const file = path.join(dir, `${base}${fromSource ? '.ts' : '.js'}`);
  return { file, execArgv: fromSource ? ['--require', require.resolve('ts-node/register/transpile-only')] : [] };
}
