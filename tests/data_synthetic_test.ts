import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDataset } from "../src/data/dataset.ts";
import { loadMovieLens100k } from "../src/data/movielens.ts";
import { ensureSynthetic, generateSynthetic, GENRES } from "../src/data/synthetic.ts";
import { loadTexts } from "../src/data/texts.ts";
import type { Dataset } from "../src/data/types.ts";
import { testConfig } from "./data_fixtures.ts";
import { tempDir } from "./helpers.ts";

Deno.test("synthetic: generation is deterministic and MovieLens-shaped", async () => {
  const size = { users: 40, items: 60 };
  const files = generateSynthetic(size);
  assert.deepEqual(generateSynthetic(size), files);
  assert.notDeepEqual(generateSynthetic(size, 1).get("u.data"), files.get("u.data"));
  assert.equal(files.get("u.genre")!.split("\n")[0], "unknown|0");
  assert.equal(files.get("u.user")!.trim().split("\n").length, 40);

  await using dir = await tempDir();
  const path = await ensureSynthetic(dir.path, size);
  const raw = await loadMovieLens100k(path, "synthetic");
  assert.equal(raw.items.size, 60);
  assert.equal(new Set(raw.ratings.map((r) => r.user)).size, 40);
  assert.ok(raw.ratings.every((r) => Number.isInteger(r.rating) && r.rating >= 1 && r.rating <= 5));
  assert.ok([...raw.items.values()].every((i) => i.year !== null && i.genres.length >= 1 && i.genres.length <= 3));
  assert.ok([...raw.items.values()].every((i) => i.genres.every((g) => GENRES.includes(g as typeof GENRES[number]))));
  // per user: distinct items, non-decreasing timestamps
  const byUser = Map.groupBy(raw.ratings, (r) => r.user);
  for (const list of byUser.values()) {
    assert.equal(new Set(list.map((r) => r.item)).size, list.length);
    assert.ok(list.every((r, i) => i === 0 || r.timestamp >= list[i - 1].timestamp));
  }
});

Deno.test("synthetic: titles are unique and none contains another", () => {
  const items = generateSynthetic({ users: 1, items: 400 }).get("u.item")!.trim().split("\n");
  const titles = items.map((line) => line.split("|")[1].replace(/ \(\d{4}\)$/, ""));
  assert.equal(new Set(titles).size, 400);
  for (const a of titles) for (const b of titles) assert.ok(a === b || !b.includes(a), `${a} inside ${b}`);
});

Deno.test("synthetic: ensureSynthetic writes once, atomically, one folder per size", async () => {
  await using dir = await tempDir();
  const path = await ensureSynthetic(dir.path, { users: 30, items: 40 });
  assert.equal(path, join(dir.path, "synthetic", "30x40"));
  const names = [...Deno.readDirSync(path)].map((e) => e.name).sort();
  assert.deepEqual(names, ["llm_generated", "synthetic.json", "u.data", "u.genre", "u.item", "u.user"]);
  const before = Deno.statSync(join(path, "u.data")).mtime;
  await ensureSynthetic(dir.path, { users: 30, items: 40 });
  assert.deepEqual(Deno.statSync(join(path, "u.data")).mtime, before);
  const other = await ensureSynthetic(dir.path, { users: 25, items: 40 });
  assert.equal(Deno.readTextFileSync(join(other, "u.user")).trim().split("\n").length, 25);
  assert.deepEqual(JSON.parse(Deno.readTextFileSync(join(other, "synthetic.json"))).users, 25);
  assert.deepEqual(Deno.statSync(join(path, "u.data")).mtime, before, "the other size is left alone");
  assert.deepEqual([...Deno.readDirSync(path)].map((e) => e.name).sort(), names, "no temp files left");
});

/** HR@10 on the LOO test target (full ranking, input items masked) for a scorer given the last input item. */
function hitRate(ds: Dataset, score: (last: number) => Float64Array): number {
  let hits = 0;
  for (const s of ds.splits) {
    const scores = score(s.testInput.at(-1)!);
    const seen = new Set(s.testInput);
    let better = 0;
    for (let id = 1; id <= ds.numItems; id++) {
      if (id !== s.testTarget && !seen.has(id) && scores[id] >= scores[s.testTarget]) better++;
    }
    if (better < 10) hits++;
  }
  return hits / ds.splits.length;
}

Deno.test("synthetic: the default dataset has sequential signal (next-item transitions beat popularity)", async () => {
  await using dir = await tempDir();
  const ds = await loadDataset(testConfig({ data_dir: dir.path }));
  assert.equal(ds.userIds.length, 300);
  assert.equal(ds.numItems, 400);
  const n = ds.numItems + 1;
  const transitions = Array.from({ length: n }, () => new Float64Array(n));
  for (const s of ds.splits) for (let i = 1; i < s.train.length; i++) transitions[s.train[i - 1]][s.train[i]]++;
  const pop = Float64Array.from(ds.trainPopularity);
  const markov = (last: number) => transitions[last].map((c, id) => c + 1e-6 * pop[id]);
  const popHr = hitRate(ds, () => pop);
  const markovHr = hitRate(ds, markov);
  // measured: popularity 0.103, first-order transitions 0.383
  assert.ok(popHr > 0.05 && popHr < 0.2, `popularity HR@10 ${popHr}`);
  assert.ok(markovHr > 2 * popHr, `transitions HR@10 ${markovHr} vs popularity ${popHr}`);
  const original = await loadDataset(testConfig({ data_dir: dir.path, preset: "original" }));
  assert.ok(original.userIds.length >= 290, `${original.userIds.length} users with >= 5 positives`);
});

Deno.test("synthetic: shipped user texts leak later items like the original's; leak_free texts never do", async () => {
  await using dir = await tempDir();
  const base = { data_dir: dir.path, synthetic_users: 120, synthetic_items: 150, preset: "original" };
  for (const split of ["loo", "original"] as const) {
    const config = testConfig({ ...base, split });
    const ds = await loadDataset(config);
    const title = (id: number) => ds.items.get(id)!.title;
    const shipped = await loadTexts(ds, testConfig({ ...base, split, user_text: "shipped" }));
    const leakFree = await loadTexts(ds, config);
    let shippedLeaks = 0;
    ds.splits.forEach((s, u) => {
      for (const target of [s.valTarget, s.testTarget]) {
        if (s.train.includes(target)) continue;
        assert.ok(
          !leakFree.user[u].includes(title(target)),
          `user ${ds.userIds[u]}: leak-free text names ${title(target)}`,
        );
        if (shipped.user[u].includes(title(target))) shippedLeaks++;
      }
    });
    assert.ok(shippedLeaks > 0.05 * ds.userIds.length, `only ${shippedLeaks} shipped texts name a target`);
  }
});
