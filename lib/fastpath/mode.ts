/**
 * Whether the fast paths that read Deno's private `Request`/`Response` internals may be used, and
 * what to say when they cannot.
 *
 * Each fast path checks at start-up that the runtime is built the way it expects (a probe) and
 * falls back to the public API when it is not: always correct, only slower. The probes were
 * verified on {@link VERIFIED_DENO}; on another version a failing probe is expected now and then,
 * and is reported in one line when a server starts. Setting `TCP_HTTP_PUBLIC_API=1` turns every
 * fast path off, so the public path can be tested (CI runs the whole suite both ways) and a user
 * can rule the fast paths out when something looks wrong.
 *
 * @module
 */

/** The environment variable that forces the public API everywhere when set to `1`. */
export const PUBLIC_API_VARIABLE = "TCP_HTTP_PUBLIC_API";

/** The Deno release the probes were verified against (`.ci/run` installs exactly this one). */
export const VERIFIED_DENO = "2.9.6";

function readSwitch(): boolean {
  try {
    // Only when already allowed: asking would prompt, and a server needs no env access.
    const state = Deno.permissions.querySync({ name: "env", variable: PUBLIC_API_VARIABLE }).state;
    return state === "granted" && Deno.env.get(PUBLIC_API_VARIABLE) === "1";
  } catch {
    return false;
  }
}

/** True when `TCP_HTTP_PUBLIC_API=1`: no fast path is used. */
export const publicApiOnly: boolean = readSwitch();

const failed: string[] = [];

/**
 * Runs a fast path's probe unless the public API is forced, and records a failure. The probe
 * returns what the fast path needs, or null when the runtime is not as expected.
 */
export function probeFastPath<T>(name: string, probe: () => T | null): T | null {
  if (publicApiOnly) return null;
  const found = probe();
  if (found === null) failed.push(name);
  return found;
}

/** The fast paths whose probes failed on this runtime (empty when forced off: none were run). */
export function failedFastPaths(): readonly string[] {
  return failed;
}

let warned = false;

/**
 * One line for stderr the first time a server starts on a runtime where a probe failed, else
 * null (and null every time after the first).
 */
export function fastPathWarning(): string | null {
  if (warned || failed.length === 0) return null;
  warned = true;
  return describeFailure(failed, Deno.version.deno);
}

/** The warning for fast paths `failed` on Deno `version`. */
export function describeFailure(failed: readonly string[], version: string): string {
  const where = version === VERIFIED_DENO
    ? `Deno ${version}, where they were verified`
    : `Deno ${version} (verified on ${VERIFIED_DENO})`;
  const paths = failed.length > 1 ? "fast paths do" : "fast path does";
  return `tcp-http: warning: the ${failed.join(" and ")} ${paths} not fit ${where}; ` +
    "using the public API, which is slower";
}
