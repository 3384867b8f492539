import { resolve } from 'node:path';
import { writeCatalog } from '../../fixtures/catalog-generator.js';
import { flag, intFlag, parseArgs, UsageError } from '../args.js';

export const fixturesHelp = `wsus fixtures generate --out DIR [--updates N] [--seed N]
  Writes a deterministic synthetic catalog: DIR/updates/*.xml (update documents) and
  DIR/content/ (the files they reference, with matching SHA-1/SHA-256). For tests and benchmarks.
  Example: wsus fixtures generate --out /tmp/catalog --updates 5000 --seed 7 && wsus import /tmp/catalog/updates`;

export async function fixturesCommand(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb !== 'generate') throw new UsageError('usage: wsus fixtures generate --out DIR [--updates N] [--seed N]');
  const args = parseArgs(rest, ['out', 'updates', 'seed']);
  const out = flag(args, 'out');
  if (!out) throw new UsageError('--out is required');
  const updates = intFlag(args, 'updates', 1, 1_000_000) ?? 12;
  const seed = intFlag(args, 'seed', 0, 2 ** 31 - 1) ?? 1;
  const summary = await writeCatalog(resolve(out), { updates, seed });
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}
