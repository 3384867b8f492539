// How the benchmarks take their knobs: `--name N` on the command line or BENCH_* in the environment.

/** The number after `--name`, or `def`. */
export function argNumber(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

/** A whole number from the environment, or `def` when unset or not a number. */
export function envInt(name: string, def: number): number {
  const v = process.env[name];
  return v && /^\d+$/.test(v) ? Number(v) : def;
}
