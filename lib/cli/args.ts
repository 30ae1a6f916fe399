/**
 * The command line's words checked before `node:util`'s `parseArgs` sees them, so that every
 * mistake gets our own one-line message: an unknown flag with the nearest known one ("did you
 * mean --port?"), a flag without its value, a value given to a switch. A value that starts with
 * a dash but is no flag (`--port -1`) is passed on as the value, to be judged by the flag's own
 * check ("--port must be a whole number …"), not called "ambiguous".
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/** A word of the command line that cannot be understood; the message is for the user. */
export class ArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArgumentError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * `parseArgs(config)` after {@link checkArgs}: throws {@link ArgumentError} with our message for
 * what it would have refused in its own words.
 */
export function parseArgsChecked<T extends ParseArgsConfig>(config: T): ReturnType<
  typeof parseArgs<T>
> {
  const args = checkArgs(config.args ?? [], config.options ?? {});
  return parseArgs({ ...config, args } as T);
}

/**
 * Checks `args` against `options` and returns them with every separate value joined to its
 * long flag (`--port=-1`), which `parseArgs` then takes as it is.
 */
export function checkArgs(args: readonly string[], options: Options): string[] {
  const out: string[] = [];
  const shorts = new Map<string, string>();
  for (const [name, option] of Object.entries(options)) {
    if (option.short !== undefined) shorts.set(option.short, name);
  }
  const isFlag = (word: string): boolean => {
    if (word.startsWith("--")) {
      const name = word.slice(2).split("=")[0];
      return name in options || (name.startsWith("no-") && name.slice(3) in options);
    }
    return word.length >= 2 && word.startsWith("-") && shorts.has(word[1]);
  };
  /** The value after flag `shown`, which must be there and must not be a flag. */
  const valueAfter = (i: number, shown: string): string => {
    const value = args[i + 1];
    if (value === undefined || isFlag(value)) throw new ArgumentError(`${shown} needs a value`);
    return value;
  };

  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const option = options[name];
      if (option === undefined) {
        const negated = name.startsWith("no-") ? options[name.slice(3)] : undefined;
        if (negated?.type === "boolean" && eq < 0) {
          out.push(arg);
          continue;
        }
        throw unknown(`--${name}`, options);
      }
      if (option.type === "boolean") {
        if (eq >= 0) throw new ArgumentError(`--${name} is a switch and takes no value`);
        out.push(arg);
      } else if (eq >= 0) {
        out.push(arg);
      } else {
        out.push(`--${name}=${valueAfter(i, `--${name}`)}`);
        i++;
      }
      continue;
    }
    if (arg.length < 2 || !arg.startsWith("-")) {
      out.push(arg);
      continue;
    }
    // A long flag with one dash (-port) would read as -p with the value "ort".
    if (arg.length > 2 && arg.slice(1).split("=")[0] in options) {
      throw new ArgumentError(`unknown flag ${arg} (did you mean -${arg}?)`);
    }
    // Short flags, grouped or not: -q, -qV, -p8080, -p 8080, -H "X: y".
    for (let j = 1; j < arg.length; j++) {
      const name = shorts.get(arg[j]);
      if (name === undefined) throw unknown(`-${arg[j]}`, options, shorts);
      if (options[name].type === "boolean") {
        if (j === arg.length - 1) out.push(arg);
        continue;
      }
      if (j < arg.length - 1) {
        out.push(arg); // the value is attached
      } else {
        if (j > 1) out.push(arg.slice(0, j));
        out.push(`--${name}=${valueAfter(i, `-${arg[j]}`)}`);
        i++;
      }
      break;
    }
  }
  return out;
}

function unknown(flag: string, options: Options, shorts?: Map<string, string>): ArgumentError {
  let guess: string | undefined;
  if (shorts !== undefined) {
    const other = [...shorts.keys()].find((s) => s.toLowerCase() === flag[1].toLowerCase());
    if (other !== undefined) guess = `-${other}`;
  } else {
    guess = nearest(flag.slice(2), options);
  }
  return new ArgumentError(
    `unknown flag ${flag} ${guess === undefined ? "(see --help)" : `(did you mean ${guess}?)`}`,
  );
}

/** The known long flag closest to `name`, if one is close enough to be a typo of it. */
function nearest(name: string, options: Options): string | undefined {
  const names = Object.entries(options).flatMap(([known, option]) =>
    option.type === "boolean" ? [known, `no-${known}`] : [known]
  );
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const known of names) {
    const distance = known.startsWith(name) && name.length >= 3 ? 1 : editDistance(name, known);
    if (distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  return best !== undefined && bestDistance <= allowed ? `--${best}` : undefined;
}

/** Levenshtein distance, with a swap of neighbours counting one (Damerau). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** What each flag that only a served directory uses is called, when it was given. */
export interface DirectoryFlags {
  spa: boolean;
  listing: boolean;
  dotfiles: boolean;
  "follow-symlinks": boolean;
  compress: boolean;
  etag: boolean;
  "cache-control"?: string;
}

/**
 * With `--app`, the app answers every request: a flag only a served directory uses would be
 * ignored, so it is refused. (`-H` and `--cors` apply to an app's responses.)
 */
export function refuseDirectoryFlags(v: DirectoryFlags): void {
  const given = [
    v.spa && "--spa",
    !v.listing && "--no-listing",
    v.dotfiles && "--dotfiles",
    v["follow-symlinks"] && "--follow-symlinks",
    v["cache-control"] !== undefined && "--cache-control",
    !v.compress && "--no-compress",
    !v.etag && "--no-etag",
  ].filter((flag): flag is string => typeof flag === "string");
  if (given.length > 0) {
    throw new ArgumentError(
      `${given[0]} is for serving a directory and does nothing with --app ` +
        `(the app answers every request; serveDir takes the same options inside it)`,
    );
  }
}
