import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDataset } from "../src/data/dataset.ts";
import { ChatClient, type ChatClientOptions, chatOptionsFromEnv, LLM_ENV } from "../src/data/llm_client.ts";
import { generateLlmTexts, LLM_CACHE_FILE } from "../src/data/llm_generate.ts";
import { ITEM_PLACEHOLDER } from "../src/data/texts.ts";
import type { Dataset } from "../src/data/types.ts";
import { UserError } from "../src/util/errors.ts";
import { testConfig } from "./data_fixtures.ts";
import { tempDir } from "./helpers.ts";

const API_KEY = "sk-test-SECRET-0123456789";

/** A loopback chat-completions server; `reply(n, prompt)` gives the status and content of request n (0-based). */
function startServer(reply: (n: number, prompt: string) => [number, string]) {
  const prompts: string[] = [];
  const auth: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.json();
    const prompt = body.messages[0].content as string;
    const [status, content] = reply(prompts.length, prompt);
    prompts.push(prompt);
    auth.push(req.headers.get("authorization") ?? "");
    if (status !== 200) return new Response(content, { status });
    return Response.json({ choices: [{ message: { role: "assistant", content } }] });
  });
  return { server, prompts, auth, baseUrl: `http://127.0.0.1:${server.addr.port}/v1` };
}

function clientFor(baseUrl: string, overrides: Partial<ChatClientOptions> = {}): ChatClient {
  return new ChatClient({
    baseUrl,
    model: "test-model",
    apiKey: API_KEY,
    requestsPerSecond: 1000,
    maxRetries: 3,
    retryBaseMs: 5,
    temperature: 0.7,
    ...overrides,
  });
}

/** Every file under `dir`, recursively, as text. */
function allFiles(dir: string): string[] {
  return [...Deno.readDirSync(dir)].flatMap((e) =>
    e.isDirectory ? allFiles(join(dir, e.name)) : [Deno.readTextFileSync(join(dir, e.name))]
  );
}

async function smallDataset(dataDir: string): Promise<Dataset> {
  return await loadDataset(testConfig({ data_dir: dataDir, synthetic_users: 20, synthetic_items: 30 }));
}

Deno.test("llm: train-only prompts, retry after a 500, resumable cache, key never written", async () => {
  await using dir = await tempDir();
  const ds = await smallDataset(dir.path);
  const { server, prompts, auth, baseUrl } = startServer((
    n,
  ) => (n === 0 ? [500, "overloaded"] : [200, `Summary ${n}`]));
  const out = join(dir.path, "llm_out");
  try {
    const first = await generateLlmTexts(ds, "users", clientFor(baseUrl), "test-model", out, 5);
    assert.deepEqual(first, { generated: 5, cached: 0, refused: 0, written: join(out, "user_preferences.json") });
    assert.equal(prompts.length, 6, "5 prompts + 1 retry");
    assert.equal(prompts[0], prompts[1], "the failed prompt is retried");
    assert.ok(auth.every((a) => a === `Bearer ${API_KEY}`));

    const second = await generateLlmTexts(ds, "users", clientFor(baseUrl), "test-model", out, 8);
    assert.deepEqual([second.generated, second.cached], [3, 5]);
    assert.equal(prompts.length, 9, "cached prompts are not sent again");

    const texts = JSON.parse(Deno.readTextFileSync(join(out, "user_preferences.json")));
    assert.deepEqual(Object.keys(texts).map(Number), ds.userIds.slice(0, 8));
    assert.equal(texts[ds.userIds[0]], "Summary 1");
    assert.equal(Object.keys(JSON.parse(Deno.readTextFileSync(join(out, LLM_CACHE_FILE)))).length, 8);

    // prompts list train items only: the newest train item is there, val/test targets are not
    for (let u = 0; u < 8; u++) {
      const prompt = prompts[u + 1];
      const s = ds.splits[u];
      const title = (id: number) => ds.items.get(id)!.title;
      assert.ok(prompt.includes(title(s.train.at(-1)!)));
      for (const target of [s.valTarget, s.testTarget]) {
        if (!s.train.includes(target)) assert.ok(!prompt.includes(title(target)), `user ${u}: ${title(target)}`);
      }
    }
    assert.ok(allFiles(out).every((text) => !text.includes(API_KEY)));
  } finally {
    await server.shutdown();
  }
});

Deno.test("llm: content refusals become placeholders; other client errors and exhausted retries are UserErrors", async () => {
  await using dir = await tempDir();
  const ds = await smallDataset(dir.path);
  const refusing = startServer((_, prompt) =>
    prompt.includes(ds.items.get(2)!.title) ? [400, '{"error":{"code":"data_inspection_failed"}}'] : [200, "Nice."]
  );
  const failing = startServer(() => [401, '{"error":"invalid api key"}']);
  const busy = startServer(() => [503, "busy"]);
  try {
    const out = join(dir.path, "items_out");
    const report = await generateLlmTexts(ds, "items", clientFor(refusing.baseUrl), "m", out, 3);
    assert.deepEqual([report.generated, report.refused], [3, 1]);
    const texts = JSON.parse(Deno.readTextFileSync(join(out, "item_descriptions.json")));
    assert.deepEqual(texts, { 1: "Nice.", 2: ITEM_PLACEHOLDER, 3: "Nice." });

    const unauthorized = clientFor(failing.baseUrl).complete("hi", 10);
    await assert.rejects(unauthorized, (err: Error) => {
      assert.ok(err instanceof UserError);
      assert.equal(err.message, `${failing.baseUrl}/chat/completions: HTTP 401: {"error":"invalid api key"}`);
      return true;
    });
    assert.equal(failing.prompts.length, 1, "no retry on 401");
    await assert.rejects(
      clientFor(busy.baseUrl, { maxRetries: 2 }).complete("hi", 10),
      new UserError(`${busy.baseUrl}/chat/completions: HTTP 503 after 3 attempts`),
    );
    assert.equal(busy.prompts.length, 3);
  } finally {
    await Promise.all([refusing.server.shutdown(), failing.server.shutdown(), busy.server.shutdown()]);
  }
});

Deno.test("llm: endpoint from the environment; the CLI runs end to end without printing the key", async () => {
  for (const name of Object.values(LLM_ENV)) Deno.env.delete(name);
  assert.throws(
    () => chatOptionsFromEnv(),
    new UserError(
      "set UR4REC_LLM_BASE_URL, UR4REC_LLM_MODEL, UR4REC_LLM_API_KEY (an OpenAI-compatible chat-completions endpoint)",
    ),
  );
  await using dir = await tempDir();
  const { server, prompts, baseUrl } = startServer(() => [200, "A fan of everything."]);
  try {
    const out = join(dir.path, "cli_out");
    const env = { [LLM_ENV.baseUrl]: baseUrl, [LLM_ENV.model]: "m", [LLM_ENV.apiKey]: API_KEY, NO_COLOR: "1" };
    const cli = new URL("../src/cli/data.ts", import.meta.url).pathname;
    const args = ["run", "-A", cli, "llm", "--data-dir", dir.path, "--users", "20", "--items", "30", "--limit", "2"];
    const result = await new Deno.Command(Deno.execPath(), {
      args: [...args, "--rps", "50", "--out", out],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 0, output);
    assert.equal(prompts.length, 2);
    assert.ok(!output.includes(API_KEY));
    assert.match(output, /"generated":2/);
    assert.ok(allFiles(dir.path).every((text) => !text.includes(API_KEY)));
  } finally {
    await server.shutdown();
  }
});
