import assert from "node:assert/strict";
import { join } from "node:path";
import { downloadMovieLens100k } from "../src/data/download.ts";
import { loadMovieLens100k } from "../src/data/movielens.ts";
import { readZip } from "../src/data/zip.ts";
import { UserError } from "../src/util/errors.ts";
import { buildZip, latin1, ML100K_FIXTURE } from "./data_fixtures.ts";
import { tempDir } from "./helpers.ts";

/** The fixture files packed like the GroupLens archive (a top-level `ml-100k/` folder). */
function fixtureZip(extra: Record<string, Uint8Array> = {}): Uint8Array {
  const files = Object.fromEntries(
    Object.entries(ML100K_FIXTURE).map(([name, text]) => [`ml-100k/${name}`, latin1(text)]),
  );
  return buildZip({ ...files, "ml-100k/README": latin1("readme\n"), ...extra });
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Serves `bytes` at /ml-100k.zip (anything else is a 404) on a loopback port. */
function serve(bytes: Uint8Array) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/ml-100k.zip"
        ? new Response(bytes as Uint8Array<ArrayBuffer>)
        : new Response("not found", { status: 404 }),
  );
  return { server, base: `http://127.0.0.1:${server.addr.port}` };
}

Deno.test("zip: stored and deflated members, CRC check, bad archives", () => {
  const data = { "a.txt": latin1("hello hello hello\n"), "d/b.bin": Uint8Array.from([0, 1, 2, 255]) };
  for (const deflate of [true, false]) {
    const entries = readZip(buildZip(data, deflate), "t.zip");
    assert.deepEqual(entries.map((e) => e.name), ["a.txt", "d/b.bin"]);
    assert.deepEqual(entries[1].data, data["d/b.bin"]);
    assert.equal(new TextDecoder().decode(entries[0].data), "hello hello hello\n");
  }
  const stored = buildZip({ "a.txt": latin1("abc") }, false);
  stored[30 + "a.txt".length] = "x".charCodeAt(0); // corrupt the member's first byte
  assert.throws(() => readZip(stored, "t.zip"), new UserError("t.zip: a.txt: CRC-32 mismatch (corrupt archive)"));
  assert.throws(() => readZip(latin1("not a zip at all, just text"), "t.zip"), /t\.zip: not a zip archive/);
});

Deno.test("download: fetch, verify SHA-256, unpack atomically, then skip", async () => {
  await using dir = await tempDir();
  const zip = fixtureZip();
  const { server, base } = serve(zip);
  try {
    const options = { url: `${base}/ml-100k.zip`, sha256: await sha256Hex(zip) };
    const result = await downloadMovieLens100k(dir.path, options);
    assert.deepEqual(result, { dir: join(dir.path, "ml-100k"), downloaded: true, files: 5 });
    const raw = await loadMovieLens100k(result.dir);
    assert.equal(raw.ratings.length, 13);
    assert.equal(raw.items.get(5)?.title, "Café Olé");
    assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["ml-100k"], "no temp dir left");
    assert.equal((await downloadMovieLens100k(dir.path, options)).downloaded, false);
  } finally {
    await server.shutdown();
  }
});

Deno.test("download: wrong checksum, HTTP errors, offline and incomplete archives are clear UserErrors", async () => {
  await using dir = await tempDir();
  const zip = fixtureZip();
  const { server, base } = serve(zip);
  try {
    const wrong = "0".repeat(64);
    // Hash first: an `await` inside the assertion's arguments would leave the download's promise unhandled
    // while it runs, and a fast rejection would then escape as an uncaught error.
    const actual = await sha256Hex(zip);
    await assert.rejects(
      downloadMovieLens100k(dir.path, { url: `${base}/ml-100k.zip`, sha256: wrong }),
      new UserError(
        `${base}/ml-100k.zip: SHA-256 mismatch: expected ${wrong}, got ${actual} (corrupt or different ` +
          `file); download ${base}/ml-100k.zip yourself and unzip it so that ${join(dir.path, "ml-100k", "u.data")} ` +
          "exists (needed: u.data, u.item, u.genre, u.user)",
      ),
    );
    assert.deepEqual([...Deno.readDirSync(dir.path)], [], "nothing written");
    await assert.rejects(
      downloadMovieLens100k(dir.path, { url: `${base}/missing.zip`, sha256: wrong }),
      /could not download .*missing\.zip \(HTTP 404\); download .* yourself and unzip it so that/,
    );
    await assert.rejects(
      downloadMovieLens100k(dir.path, { url: "http://127.0.0.1:1/ml-100k.zip", sha256: wrong }),
      /could not download http:\/\/127\.0\.0\.1:1\/ml-100k\.zip \(.*\); download .* yourself/,
    );
    const partial = buildZip({ "ml-100k/u.data": latin1("1\t1\t5\t1\n") });
    const other = serve(partial);
    try {
      await assert.rejects(
        downloadMovieLens100k(dir.path, { url: `${other.base}/ml-100k.zip`, sha256: await sha256Hex(partial) }),
        /the archive lacks u\.item, u\.genre, u\.user/,
      );
    } finally {
      await other.server.shutdown();
    }
    const evil = fixtureZip({ "ml-100k/../../evil.txt": latin1("x") });
    const evilServer = serve(evil);
    try {
      await assert.rejects(
        downloadMovieLens100k(dir.path, { url: `${evilServer.base}/ml-100k.zip`, sha256: await sha256Hex(evil) }),
        /unsafe member path "ml-100k\/\.\.\/\.\.\/evil\.txt"/,
      );
    } finally {
      await evilServer.server.shutdown();
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("download: the `ml-100k` CLI command with --url and --sha256", async () => {
  await using dir = await tempDir();
  const zip = fixtureZip();
  const { server, base } = serve(zip);
  try {
    const cli = new URL("../src/cli/data.ts", import.meta.url).pathname;
    const args = ["run", "-A", cli, "ml-100k", "--data-dir", dir.path, "--url", `${base}/ml-100k.zip`];
    const run = async (sha: string) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [...args, "--sha256", sha],
        stdout: "piped",
        stderr: "piped",
      })
        .output();
      return { code: out.code, text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr) };
    };
    const bad = await run("f".repeat(64));
    assert.equal(bad.code, 2);
    assert.match(bad.text, /^error: .*SHA-256 mismatch/);
    const good = await run(await sha256Hex(zip));
    assert.equal(good.code, 0, good.text);
    assert.match(good.text, /wrote 5 files to .*ml-100k/);
  } finally {
    await server.shutdown();
  }
});
