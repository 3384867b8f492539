// A small, strict argument parser: unknown flags are errors, so a typo never silently
// changes what a command does to a production server.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ParsedArgs {
  positional: string[];
  /** the last value of each flag */
  flags: Map<string, string | true>;
  /** every value of each value flag, in order (`--group A --group B`) */
  repeated?: Map<string, string[]>;
}

export function parseArgs(argv: readonly string[], valueFlags: readonly string[], boolFlags: readonly string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  const repeated = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (boolFlags.includes(name)) {
      flags.set(name, true);
    } else if (valueFlags.includes(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || (eq < 0 && v.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
      flags.set(name, v);
      repeated.set(name, [...(repeated.get(name) ?? []), v]);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { positional, flags, repeated };
}

export function flag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** Every value given for a repeatable flag (`--group A --group B`); [] when absent. */
export function flagValues(args: ParsedArgs, name: string): string[] {
  return args.repeated?.get(name) ?? (typeof args.flags.get(name) === 'string' ? [args.flags.get(name) as string] : []);
}

export function intFlag(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const v = flag(args, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  return Number(v);
}
