import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDataset } from "../src/data/dataset.ts";
import {
  HISTORY_WINDOW,
  ITEM_PLACEHOLDER,
  leakFreeUserText,
  loadTexts,
  readTextMap,
  templateItemText,
  templateUserText,
  USER_PLACEHOLDER,
} from "../src/data/texts.ts";
import { UserError } from "../src/util/errors.ts";
import { testConfig } from "./data_fixtures.ts";
import { sharedDataDir, tempDir } from "./helpers.ts";

const items = new Map([
  [1, { id: 1, title: "Alpha", year: 1990, genres: ["Action", "Drama"] }],
  [2, { id: 2, title: "Beta", year: null, genres: [] }],
]);

Deno.test("texts: templates for items and users", () => {
  assert.equal(templateItemText(items.get(1)!), "Alpha (1990). Genres: Action, Drama.");
  assert.equal(templateItemText(items.get(2)!), "Beta. Genres: unknown.");
  assert.equal(templateUserText([2, 1], items), "Liked: Beta []; Alpha (1990) [Action, Drama].");
  const itemTexts = ["", "A", "B", "C"];
  assert.equal(leakFreeUserText([3, 1, 2], itemTexts), "C A B");
  const long = Array.from({ length: 30 }, (_, i) => (i % 3) + 1);
  assert.equal(leakFreeUserText(long, itemTexts).split(" ").length, HISTORY_WINDOW);
});

Deno.test("texts: readTextMap errors name the file and key", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "t.json");
  await Deno.writeTextFile(path, '{"1": "ok", "x": "bad"}');
  await assert.rejects(readTextMap(path), new UserError(`${path}: key "x": expected a numeric id`));
  await Deno.writeTextFile(path, '{"1": 5}');
  await assert.rejects(readTextMap(path), new UserError(`${path}: key "1": expected a string, got number`));
  await Deno.writeTextFile(path, "[1]");
  await assert.rejects(readTextMap(path), new UserError(`${path}: expected a JSON object {"<id>": "text"}`));
  await Deno.writeTextFile(path, "{");
  await assert.rejects(readTextMap(path), /t\.json: invalid JSON/);
  await assert.rejects(readTextMap(join(dir.path, "none.json")), /none\.json: file not found; .*deno task data llm/);
});

Deno.test("texts: shipped texts report missing entries and placeholders", async () => {
  await using dir = await tempDir();
  const base = { data_dir: dir.path, synthetic_users: 20, synthetic_items: 30 };
  const ds = await loadDataset(testConfig(base));
  const llm = join(dir.path, "custom_llm");
  await Deno.mkdir(llm);
  const [u1, u2] = ds.userIds;
  await Deno.writeTextFile(
    join(llm, "user_preferences.json"),
    JSON.stringify({ [u1]: "Likes westerns.", [u2]: USER_PLACEHOLDER }),
  );
  await Deno.writeTextFile(join(llm, "item_descriptions.json"), JSON.stringify({ 1: "One.", 2: ITEM_PLACEHOLDER }));
  const texts = await loadTexts(ds, testConfig({ ...base, llm_dir: llm, user_text: "shipped" }));
  assert.deepEqual(texts.report, {
    items_missing_text: 28,
    items_placeholder_text: 1,
    users_missing_text: 18,
    users_placeholder_text: 1,
  });
  assert.equal(texts.user[0], "Likes westerns.");
  assert.equal(texts.user[2], USER_PLACEHOLDER);
  assert.equal(texts.item[1], "One.");
  assert.equal(texts.item[2], templateItemText(ds.items.get(2)!));
  assert.equal(texts.item[0], "");

  // the synthetic generator ships complete texts
  const synthetic = await loadTexts(ds, testConfig({ ...base, user_text: "shipped" }));
  assert.equal(synthetic.report.items_missing_text, 0);
  assert.ok(synthetic.item[3].includes(ds.items.get(3)!.title));
  const none = await loadTexts(ds, testConfig({ ...base, user_text: "none", item_text: "template" }));
  assert.deepEqual(none.user, ds.userIds.map(() => ""));
  assert.deepEqual(none.report, {});
});

/** Lower-cased title with a trailing ", The" / ", A" / ", An" moved to the front (how descriptions name films). */
function normalizedTitle(title: string): string {
  const m = title.toLowerCase().match(/^(.*), (the|a|an)$/);
  return m ? `${m[2]} ${m[1]}` : title.toLowerCase();
}

const shared = sharedDataDir();
Deno.test({
  name: "texts: real ML-100K leak-free user texts come from train items only; shipped ones name targets",
  ignore: shared === undefined,
  fn: async () => {
    const config = testConfig({ dataset: "ml-100k", data_dir: shared, preset: "original", split: "loo" });
    const ds = await loadDataset(config);
    const leakFree = await loadTexts(ds, config);
    const shipped = await loadTexts(ds, testConfig({ ...config, user_text: "shipped" }));
    assert.deepEqual(shipped.report, {
      items_missing_text: 0,
      items_placeholder_text: 4,
      users_missing_text: 0,
      users_placeholder_text: 1,
    });
    let leakFreeMentions = 0;
    let shippedMentions = 0;
    ds.splits.forEach((s, u) => {
      const recent = s.train.slice(-HISTORY_WINDOW);
      assert.equal(leakFree.user[u], recent.map((id) => leakFree.item[id]).join(" "));
      const title = normalizedTitle(ds.items.get(s.testTarget)!.title);
      if (shipped.user[u].toLowerCase().includes(title)) shippedMentions++;
      if (!leakFree.user[u].toLowerCase().includes(title)) return;
      leakFreeMentions++;
      // a mention can only come from the description of a train item that names the film (e.g. a sequel's)
      assert.ok(recent.some((id) => leakFree.item[id].toLowerCase().includes(title)));
    });
    // measured: shipped texts name the test target for 233 of 938 users, leak-free ones (via sequels etc.) for 8
    assert.ok(shippedMentions > 0.2 * ds.userIds.length, `${shippedMentions}`);
    assert.ok(leakFreeMentions < 0.02 * ds.userIds.length, `${leakFreeMentions}`);
  },
});
