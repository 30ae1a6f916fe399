/**
 * Tests for `lib/fastpath/mode.ts`: TCP_HTTP_PUBLIC_API=1 turns every fast path off, and a failed
 * probe is reported in one line that names the paths and the versions.
 */
import assert from "node:assert/strict";
import { describeFailure, VERIFIED_DENO } from "../../lib/fastpath/mode.ts";

const FLAGS = `
  import { publicApiOnly, failedFastPaths } from "${
  import.meta.resolve("../../lib/fastpath/mode.ts")
}";
  import { fastRequestsAvailable } from "${import.meta.resolve("../../lib/fastpath/request.ts")}";
  import { fastBodiesAvailable, bytesByReference } from "${
  import.meta.resolve("../../lib/fastpath/response.ts")
}";
  console.log(JSON.stringify({ publicApiOnly, failed: failedFastPaths(), fastRequestsAvailable,
    fastBodiesAvailable, bytesByReference }));
`;

/** The fast-path flags of a fresh process with `env` and `permissions` (`deno run` flags). */
async function flags(env: Record<string, string>, permissions: string[]) {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(script, FLAGS);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...permissions, script],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    return JSON.parse(new TextDecoder().decode(stdout));
  } finally {
    await Deno.remove(script);
  }
}

Deno.test("mode: TCP_HTTP_PUBLIC_API=1 turns every fast path off and runs no probe", async () => {
  const off = await flags({ TCP_HTTP_PUBLIC_API: "1" }, ["--allow-env=TCP_HTTP_PUBLIC_API"]);
  assert.deepEqual(off, {
    publicApiOnly: true,
    failed: [],
    fastRequestsAvailable: false,
    fastBodiesAvailable: false,
    bytesByReference: false,
  });
});

Deno.test("mode: without env permission the switch is not read, and nothing prompts", async () => {
  const on = await flags({ TCP_HTTP_PUBLIC_API: "1" }, []);
  assert.equal(on.publicApiOnly, false);
  const onVerified = Deno.version.deno === VERIFIED_DENO;
  if (onVerified) assert.deepEqual(on.failed, [], "every probe passes on the verified Deno");
  assert.equal(on.fastRequestsAvailable, !on.failed.includes("request"));
  assert.equal(on.fastBodiesAvailable, !on.failed.includes("response"));
});

Deno.test("mode: the warning names the failed paths and both versions", () => {
  assert.equal(
    describeFailure(["request"], "9.9.9"),
    `tcp-http: warning: the request fast path does not fit Deno 9.9.9 (verified on ${VERIFIED_DENO}); using the public API, which is slower`,
  );
  assert.equal(
    describeFailure(["request", "response"], VERIFIED_DENO),
    `tcp-http: warning: the request and response fast paths do not fit Deno ${VERIFIED_DENO}, where they were verified; using the public API, which is slower`,
  );
});
