/** `--name N` from the command line: a positive number, or the default. */
export function arg(name: string, d: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return d;
  const n = Number(process.argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number`);
  return n;
}
