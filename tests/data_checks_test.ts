/**
 * Data inputs that must not corrupt the protocol silently: repeated rating lines, out-of-range fields, datasets
 * with nothing left, non-finite vectors, substitutions, file encodings and a data_dir holding the files itself.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDataset, loadInteractions } from "../src/data/dataset.ts";
import { loadMovieLens100k, loadMovieLens1m } from "../src/data/movielens.ts";
import { encodeNpy } from "../src/data/npy.ts";
import { loadTextVectors } from "../src/data/text_encoder.ts";
import { readTextMap } from "../src/data/texts.ts";
import { UserError } from "../src/util/errors.ts";
import { latin1, testConfig, writeFiles } from "./data_fixtures.ts";
import { tempDir } from "./helpers.ts";
import { ML100K_SIDE_FILES } from "./bad_inputs/data_rows.ts";

/** The ML-100K side files (6 items, genres, one user) plus `u.data`, under `<dir>/ml-100k/`. */
async function writeMl100k(dir: string, uData: string, extra: Record<string, string> = {}): Promise<void> {
  const files = { ...ML100K_SIDE_FILES, "ml-100k/u.data": uData, ...extra };
  for (const [rel, text] of Object.entries(files)) {
    await writeFiles(join(dir, rel, ".."), { [rel.split("/")[1]]: text });
  }
}

/** `1\ti\t4\t10i` for i = 1..5, each line written twice (the input). */
const REPEATED = [1, 2, 3, 4, 5].flatMap((i) => [`1\t${i}\t4\t10${i}`, `1\t${i}\t4\t10${i}`]).join("\n") + "\n";

/** The message of the UserError `promise` rejects with, with `dir` shown as {dir}. */
async function userError(promise: Promise<unknown>, dir: string): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${err}`);
    return err.message.replaceAll(dir, "{dir}");
  }
  throw new Error("accepted bad input");
}

Deno.test("duplicates: repeated rating lines are an error by default naming the file, both lines, user and item", async () => {
  await using dir = await tempDir();
  await writeMl100k(dir.path, REPEATED);
  const config = testConfig({ dataset: "ml-100k", data_dir: dir.path });
  assert.equal(
    await userError(loadDataset(config), dir.path),
    "{dir}/ml-100k/u.data:2: user 1 rates item 1 again (first at line 1); each (user, item) pair must appear once: " +
      "remove the repeated lines or set duplicate_ratings: drop_keep_first to keep the first and drop the rest",
  );
});

Deno.test("duplicates: drop_keep_first counts them, warns, and no target equals the last input item", async () => {
  await using dir = await tempDir();
  await writeMl100k(dir.path, REPEATED);
  for (const split of ["loo", "original"] as const) {
    for (const preset of ["sasrec", "original"] as const) {
      const config = testConfig({
        dataset: "ml-100k",
        data_dir: dir.path,
        duplicate_ratings: "drop_keep_first",
        split,
        preset,
      });
      const ds = await loadDataset(config);
      assert.equal(ds.report.ratings_dropped_duplicate, 5);
      assert.equal(ds.report.interactions_kept, 5);
      assert.deepEqual(ds.warnings, [
        "5 of 10 ratings (50.0%) repeat an earlier (user, item) pair and were dropped " +
        "(duplicate_ratings: drop_keep_first) [ratings_dropped_duplicate]; MORE THAN 5%: check the input files",
      ]);
      const [s] = ds.splits;
      assert.notEqual(s.valTarget, s.valInput.at(-1), `${split}/${preset}: val target repeats the last input`);
      assert.notEqual(s.testTarget, s.testInput.at(-1), `${split}/${preset}: test target repeats the last input`);
      assert.deepEqual([s.testInput, s.testTarget], [[1, 2, 3, 4], 5]);
    }
  }
});

/** The loader's error for the ML-100K side files with `file` replaced by `text`. */
async function ml100kError(file: string, text: string): Promise<string> {
  await using dir = await tempDir();
  await writeMl100k(dir.path, "1\t1\t4\t101\n", { [`ml-100k/${file}`]: text });
  return await userError(loadMovieLens100k(join(dir.path, "ml-100k")), join(dir.path, "ml-100k") + "/");
}

Deno.test("ranges: every field of ML-100K is range-checked with file:line, field, value and allowed range", async () => {
  const cases: [string, string, string][] = [
    ["u.data", "1\t1\t9\t101\n", '{dir}u.data:1: rating must be an integer in 1..5, got "9"'],
    ["u.data", "1\t1\t4\t101\n1\t2\t-1\t102\n", '{dir}u.data:2: rating must be an integer in 1..5, got "-1"'],
    ["u.data", "1\t1\t3.5\t101\n", '{dir}u.data:1: rating must be an integer in 1..5, got "3.5"'],
    ["u.data", "1\t1\t4\t-5\n", '{dir}u.data:1: timestamp must be an integer >= 0, got "-5"'],
    ["u.data", "0\t1\t4\t5\n", '{dir}u.data:1: user id must be an integer >= 1, got "0"'],
    ["u.user", "1|0|M|technician|85711\n", '{dir}u.user:1: age must be an integer in 1..120, got "0"'],
    ["u.user", "1|24|X|technician|85711\n", '{dir}u.user:1: gender must be one of M, F, got "X"'],
    ["u.user", "1|24|M||85711\n", "{dir}u.user:1: occupation must not be empty"],
    ["u.genre", "unknown|0\nAction|-1\n", '{dir}u.genre:2: genre index must be an integer >= 0, got "-1"'],
    ["u.item", "1||01-Jan-1995||http://x|0|1\n", "{dir}u.item:1: title must not be empty"],
  ];
  for (const [file, text, expected] of cases) assert.equal(await ml100kError(file, text), expected);
});

Deno.test("ranges: ML-1M ratings, age codes and occupation codes are range-checked", async () => {
  const base = {
    "movies.dat": "1::Toy Story (1995)::Comedy\n",
    "ratings.dat": "1::1::5::978300760\n",
    "users.dat": "1::F::1::10::48067\n",
  };
  const cases: [string, string, string][] = [
    ["ratings.dat", "1::1::6::978300760\n", '{dir}ratings.dat:1: rating must be an integer in 1..5, got "6"'],
    [
      "users.dat",
      "1::F::20::10::48067\n",
      '{dir}users.dat:1: age code must be one of 1, 18, 25, 35, 45, 50, 56, got "20"',
    ],
    ["users.dat", "1::F::1::21::48067\n", '{dir}users.dat:1: occupation code must be an integer in 0..20, got "21"'],
    ["movies.dat", "0::Toy Story (1995)::Comedy\n", '{dir}movies.dat:1: movie id must be an integer >= 1, got "0"'],
  ];
  for (const [file, text, expected] of cases) {
    await using dir = await tempDir();
    await writeFiles(dir.path, { ...base, [file]: text });
    assert.equal(await userError(loadMovieLens1m(dir.path), dir.path + "/"), expected);
  }
});

Deno.test("degenerate: one user with 4 ratings is a UserError at load naming dataset, preset and counts", async () => {
  await using dir = await tempDir();
  await writeMl100k(dir.path, "1\t1\t4\t101\n1\t2\t4\t102\n1\t3\t4\t103\n1\t4\t4\t104\n");
  const message = await userError(loadDataset(testConfig({ dataset: "ml-100k", data_dir: dir.path })), dir.path);
  assert.equal(
    message,
    "dataset ml-100k (preset sasrec): no users with at least 5 interactions (needed for train, validation and test " +
      "items) left after preprocessing: ratings_read 4, items_read 6, ratings_dropped_duplicate 0, " +
      "ratings_dropped_unknown_item 0, interactions 4, users_read 1, users_dropped_no_interactions 0, " +
      "users_dropped_fewer_than_5 1, interactions_dropped_fewer_than_5 4, users 0, interactions_kept 0, " +
      "items_kept 6, items_active 0",
  );
  // under preset original, five ratings of 3 leave nothing either
  await writeMl100k(dir.path, [1, 2, 3, 4, 5].map((i) => `1\t${i}\t3\t10${i}`).join("\n") + "\n");
  const original = testConfig({ dataset: "ml-100k", data_dir: dir.path, preset: "original" });
  assert.match(await userError(loadDataset(original), dir.path), /preset original.*ratings_dropped_below_4 5/);
  // an item file holding only one of the 23 movies the original preset drops leaves no items
  await writeMl100k(dir.path, "1\t246\t5\t101\n", { "ml-100k/u.item": "246|Movie (1997)|||http://x|0|1\n" });
  assert.match(
    await userError(loadDataset(original), dir.path),
    /^dataset ml-100k \(preset original\): no items left after preprocessing: .*items_dropped_missing 1, .*items_kept 0/,
  );
});

Deno.test("non-finite: a NaN row of items.npy and an overflowing JSON vector are UserErrors naming file and row", async () => {
  await using dir = await tempDir();
  await writeMl100k(dir.path, [1, 2, 3, 4, 5].map((i) => `1\t${i}\t4\t10${i}`).join("\n") + "\n");
  const emb = join(dir.path, "emb");
  const data = Float32Array.from({ length: 7 * 2 }, (_, i) => (i === 6 ? NaN : 0.5));
  await Deno.mkdir(emb);
  await Deno.writeFile(join(emb, "items.npy"), encodeNpy({ rows: 7, cols: 2, data }));
  const config = testConfig({
    dataset: "ml-100k",
    data_dir: dir.path,
    model: "ur4rec",
    text_encoder: "precomputed",
    text_embeddings_path: emb,
    text_embedding_dim: 2,
    user_text: "none",
  });
  const ds = await loadDataset(config);
  assert.equal(
    await userError(loadTextVectors(ds, config), dir.path),
    "{dir}/emb/items.npy: row 3, column 0 holds NaN (1 non-finite value(s) in all); every value must be finite",
  );
  await Deno.remove(join(emb, "items.npy"));
  await Deno.writeTextFile(join(emb, "items.json"), '{"1": [0.5, 0.5], "2": [1e39, 0.5]}');
  assert.equal(
    await userError(loadTextVectors(ds, config), dir.path),
    '{dir}/emb/items.json: key "2": value 0 is 1e+39, expected a finite number within float32\'s ±3.4e38',
  );
});

Deno.test("substitutions: missing shipped texts and unknown-item ratings are counted and warned about", async () => {
  await using dir = await tempDir();
  const uData = [1, 2, 3, 4, 5, 99].map((i) => `1\t${i}\t4\t10${i}`).join("\n") + "\n";
  await writeMl100k(dir.path, uData, { "llm/user_preferences.json": "{}", "llm/item_descriptions.json": '{"1": "A"}' });
  const config = testConfig({
    dataset: "ml-100k",
    data_dir: dir.path,
    model: "ur4rec",
    llm_dir: join(dir.path, "llm"),
    user_text: "shipped",
    item_text: "shipped",
  });
  const ds = await loadDataset(config);
  assert.deepEqual(ds.warnings, [
    "1 of 6 ratings (16.7%) name an item absent from the item file and were dropped " +
    "[ratings_dropped_unknown_item]; MORE THAN 5%: check the input files",
  ]);
  const vectors = await loadTextVectors(ds, config);
  assert.deepEqual(vectors.report, {
    items_missing_text: 5,
    items_placeholder_text: 0,
    users_missing_text: 1,
    users_placeholder_text: 0,
  });
  assert.deepEqual(vectors.warnings, [
    "5 of 6 items (83.3%) have no shipped description; the template text is used instead [items_missing_text]; " +
    "MORE THAN 5%: check the input files",
    "1 of 1 users (100.0%) have no shipped preference text; the placeholder text is used [users_missing_text]; " +
    "MORE THAN 5%: check the input files",
  ]);
});

Deno.test("encodings: u.item and JSON texts read right whether saved as UTF-8 or latin-1", async () => {
  await using dir = await tempDir();
  const line = "1|Café Olé (1994)|01-Jan-1994||http://x|0|1\n";
  for (const bytes of [new TextEncoder().encode(line), latin1(line)]) {
    await writeMl100k(dir.path, "1\t1\t4\t101\n");
    await Deno.writeFile(join(dir.path, "ml-100k", "u.item"), bytes);
    const raw = await loadMovieLens100k(join(dir.path, "ml-100k"));
    assert.equal(raw.items.get(1)?.title, "Café Olé");
  }
  const json = '{"1": "Café"}';
  for (const bytes of [new TextEncoder().encode(json), latin1(json)]) {
    await Deno.writeFile(join(dir.path, "t.json"), bytes);
    assert.equal((await readTextMap(join(dir.path, "t.json"))).get(1), "Café");
  }
});

Deno.test("data_dir: MovieLens files directly in data_dir are an error; unused real files beside synthetic warn", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "u.data"), "1\t1\t4\t101\n");
  assert.equal(
    await userError(loadDataset(testConfig({ data_dir: dir.path, preset: "original" })), dir.path),
    "data_dir {dir} holds u.data directly, but datasets are read from <data_dir>/ml-100k/u.data: use --data-dir " +
      "PARENT --dataset ml-100k (the directory that holds ml-100k/), or move the files into {dir}/ml-100k/",
  );
  await Deno.remove(join(dir.path, "u.data"));
  await writeMl100k(dir.path, "1\t1\t4\t101\n");
  const { warnings } = await loadInteractions(
    testConfig({ data_dir: dir.path, synthetic_users: 20, synthetic_items: 30 }),
  );
  assert.deepEqual(warnings, [
    `dataset is synthetic (the built-in generated data, the default) but ${dir.path}/ml-100k/u.data exists and is ` +
    "not used; set dataset: ml-100k (--dataset ml-100k) to use it",
  ]);
});
