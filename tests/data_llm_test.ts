import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDataset } from "../src/data/dataset.ts";
import {
  ChatClient,
  type ChatClientOptions,
  chatOptionsFromEnv,
  LLM_ENV,
  LLM_TIMEOUT_ENV,
  redactSecret,
} from "../src/data/llm_client.ts";
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
    timeoutMs: 5000,
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

Deno.test("llm: a server that never answers times out, is retried, and ends in an error naming the URL", async () => {
  const waiting: (() => void)[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Promise<Response>((resolve) => waiting.push(() => resolve(new Response("late")))),
  );
  const baseUrl = `http://127.0.0.1:${server.addr.port}/v1`;
  try {
    const started = Date.now();
    await assert.rejects(
      clientFor(baseUrl, { timeoutMs: 100, maxRetries: 2 }).complete("hi", 10),
      new UserError(`${baseUrl}/chat/completions: no answer within 0.1 s (${LLM_TIMEOUT_ENV}) after 3 attempts`),
    );
    assert.equal(waiting.length, 3, "the first attempt and 2 retries");
    assert.ok(Date.now() - started < 5000);
  } finally {
    for (const release of waiting) release();
    await server.shutdown();
  }
});

Deno.test("llm: the timeout comes from UR4REC_LLM_TIMEOUT_S (default 60 s); a bad value is a UserError", () => {
  const env = { [LLM_ENV.baseUrl]: "http://x", [LLM_ENV.model]: "m", [LLM_ENV.apiKey]: "k" };
  for (const [name, value] of Object.entries(env)) Deno.env.set(name, value);
  try {
    Deno.env.delete(LLM_TIMEOUT_ENV);
    assert.equal(chatOptionsFromEnv().timeoutMs, 60_000);
    Deno.env.set(LLM_TIMEOUT_ENV, "2.5");
    assert.equal(chatOptionsFromEnv().timeoutMs, 2500);
    Deno.env.set(LLM_TIMEOUT_ENV, "0");
    assert.throws(
      () => chatOptionsFromEnv(),
      new UserError(`${LLM_TIMEOUT_ENV}=0: expected a positive number of seconds`),
    );
  } finally {
    for (const name of [...Object.keys(env), LLM_TIMEOUT_ENV]) Deno.env.delete(name);
  }
});

Deno.test("llm: redactSecret removes the key, its prefixes and credential-looking values", () => {
  const r = (text: string) => redactSecret(text, API_KEY);
  assert.equal(r(`{"authorization":"Bearer ${API_KEY}"}`), '{"authorization":"Bearer [redacted]"}');
  assert.equal(r(`key ${API_KEY.slice(0, 10)}... is invalid`), "key [redacted]... is invalid");
  assert.equal(r("x-api-key: other-secret, api_key=abc123"), "x-api-key: [redacted], api_key=[redacted]");
  assert.equal(r(`prefix${API_KEY}suffix`), "prefix[redacted]suffix");
  assert.equal(
    r('{"error":"invalid api key","authorization failed":true}'),
    '{"error":"invalid api key","authorization failed":true}',
  );
});

/** A loopback server answering every request with `status` and a body echoing the request headers (and key). */
function startEchoServer(status: number) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.text();
    const headers = Object.fromEntries(req.headers);
    const auth = req.headers.get("authorization") ?? "";
    const content = `you sent ${auth}; key prefix ${auth.slice(7, 17)}`;
    if (status !== 200) return Response.json({ error: "bad request", headers }, { status });
    return Response.json({ choices: [{ message: { role: "assistant", content } }] });
  });
  return { server, baseUrl: `http://127.0.0.1:${server.addr.port}/v1` };
}

Deno.test("llm: a server echoing the key (401, 400, or in an answer) never gets it into errors, output or files", async () => {
  await using dir = await tempDir();
  const servers = { 401: startEchoServer(401), 400: startEchoServer(400), 200: startEchoServer(200) };
  const cli = new URL("../src/cli/data.ts", import.meta.url).pathname;
  try {
    for (const status of [401, 400] as const) {
      const { baseUrl } = servers[status];
      await assert.rejects(clientFor(baseUrl).complete("hi", 10), (err: Error) => {
        assert.ok(err instanceof UserError);
        assert.match(err.message, new RegExp(`^${baseUrl}/chat/completions: HTTP ${status}: .*Bearer \\[redacted\\]`));
        assert.ok(!err.message.includes(API_KEY.slice(0, 6)), err.message);
        return true;
      });
    }
    for (const status of [401, 400, 200] as const) {
      const out = join(dir.path, `out_${status}`);
      const env = { [LLM_ENV.baseUrl]: servers[status].baseUrl, [LLM_ENV.model]: "m", [LLM_ENV.apiKey]: API_KEY };
      const args = ["run", "-A", cli, "llm", "--data-dir", dir.path, "--users", "20", "--items", "30", "--limit", "2"];
      const result = await new Deno.Command(Deno.execPath(), {
        args: [...args, "--rps", "50", "--out", out],
        env: { ...env, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(result.stdout);
      const stderr = new TextDecoder().decode(result.stderr);
      assert.equal(result.code, status === 200 ? 0 : 2, stdout + stderr);
      if (status !== 200) assert.match(stderr, new RegExp(`^error: .*HTTP ${status}: .*\\[redacted\\]`, "m"));
      for (const text of [stdout, stderr, ...allFiles(dir.path)]) assert.ok(!text.includes(API_KEY.slice(0, 6)));
    }
    const answers = JSON.parse(Deno.readTextFileSync(join(dir.path, "out_200", "user_preferences.json")));
    assert.equal(Object.values(answers)[0], "you sent Bearer [redacted]; key prefix [redacted]");
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.server.shutdown()));
  }
});
