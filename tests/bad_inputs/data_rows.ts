/** Bad data files of every supported format (see harness.ts). */
import { encodeNpy } from "../../src/data/npy.ts";
import type { BadInput } from "./harness.ts";

/** The small ML-100K side files every ML-100K row needs besides the file it breaks. */
export const ML100K_SIDE_FILES: Record<string, string> = {
  "ml-100k/u.genre": "unknown|0\nAction|1\n",
  "ml-100k/u.item": Array.from({ length: 6 }, (_, i) => `${i + 1}|Movie ${i + 1} (1995)|01-Jan-1995||http://x|0|1`)
    .join("\n") + "\n",
  "ml-100k/u.user": "1|24|M|technician|85711\n",
};

/** A valid `u.data`: user 1 rates items 1..5 (enough for a split). */
const FIVE_RATINGS = [1, 2, 3, 4, 5].map((i) => `1\t${i}\t4\t10${i}`).join("\n") + "\n";

/** A valid ML-100K folder whose `file` is replaced by `text`. */
function ml100k(file: string, text: string): Record<string, string> {
  return { ...ML100K_SIDE_FILES, "ml-100k/u.data": FIVE_RATINGS, [`ml-100k/${file}`]: text };
}

/** A valid ML-1M folder whose `file` is replaced by `text`. */
function ml1m(file: string, text: string): Record<string, string> {
  return {
    "ml-1m/movies.dat": "1::Toy Story (1995)::Comedy\n",
    "ml-1m/ratings.dat": "1::1::5::978300760\n",
    "ml-1m/users.dat": "1::F::1::10::48067\n",
    [`ml-1m/${file}`]: text,
  };
}

/** `--set key=value` for each pair. */
function sets(...pairs: string[]): string[] {
  return pairs.flatMap((p) => ["--set", p]);
}

const STATS_100K = ["stats", "--data-dir", "{dir}", "--dataset", "ml-100k"];
const STATS_1M = ["stats", "--data-dir", "{dir}", "--dataset", "ml-1m"];
/** A fast UR4Rec run over `{dir}` whose texts or vectors are the row's fault (fails before any output). */
const TRAIN_UR4REC = [
  ...sets("data_dir={dir}", "dataset=ml-100k", "model=ur4rec", "epochs_per_stage=1", "max_steps_per_epoch=1"),
  "--out",
  "{dir}/out",
];
const PRECOMPUTED = sets("text_encoder=precomputed", "text_embeddings_path={dir}/emb", "text_embedding_dim=2");

/** A 7-row (ids 0..6), 2-column items.npy whose row 3 is NaN. */
const NAN_NPY = encodeNpy({ rows: 7, cols: 2, data: Float32Array.from({ length: 14 }, (_, i) => (i === 6 ? NaN : 1)) });

/** Rows for data files. */
export const DATA_ROWS: BadInput[] = [
  {
    name: "u.data line with three fields",
    files: { ...ML100K_SIDE_FILES, "ml-100k/u.data": "1\t1\t4\t100\n1\t2\t4\n" },
    cli: "data",
    args: STATS_100K,
    expect: /\{dir\}\/ml-100k\/u\.data:2: expected 4 tab-separated fields/,
  },
  {
    name: "u.data rating 9",
    files: ml100k("u.data", "1\t1\t4\t101\n1\t2\t9\t102\n"),
    cli: "data",
    args: STATS_100K,
    expect: /\{dir\}\/ml-100k\/u\.data:2: rating must be an integer in 1\.\.5, got "9"$/,
  },
  {
    name: "u.data rating -1",
    files: ml100k("u.data", "1\t1\t-1\t101\n"),
    cli: "data",
    args: STATS_100K,
    expect: /u\.data:1: rating must be an integer in 1\.\.5, got "-1"$/,
  },
  {
    name: "u.data rating 3.5",
    files: ml100k("u.data", "1\t1\t3.5\t101\n"),
    cli: "data",
    args: STATS_100K,
    expect: /u\.data:1: rating must be an integer in 1\.\.5, got "3\.5"$/,
  },
  {
    name: "u.data negative timestamp",
    files: ml100k("u.data", "1\t1\t4\t-7\n"),
    cli: "data",
    args: STATS_100K,
    expect: /u\.data:1: timestamp must be an integer >= 0, got "-7"$/,
  },
  {
    name: "u.data user id that is not a number",
    files: ml100k("u.data", "abc\t1\t4\t101\n"),
    cli: "data",
    args: STATS_100K,
    expect: /u\.data:1: user id must be an integer >= 1, got "abc"$/,
  },
  {
    name: "u.data with every line written twice (duplicate_ratings: error)",
    files: ml100k("u.data", [1, 2, 3, 4, 5].flatMap((i) => [`1\t${i}\t4\t10${i}`, `1\t${i}\t4\t10${i}`]).join("\n")),
    cli: "data",
    args: STATS_100K,
    expect: /\{dir\}\/ml-100k\/u\.data:2: user 1 rates item 1 again \(first at line 1\).*duplicate_ratings/,
  },
  {
    name: "u.data re-rating of the same item at another time",
    files: ml100k("u.data", FIVE_RATINGS + "1\t3\t5\t999\n"),
    cli: "data",
    args: STATS_100K,
    expect: /u\.data:6: user 1 rates item 3 again \(first at line 3\)/,
  },
  {
    name: "empty u.data",
    files: ml100k("u.data", "\n\n"),
    cli: "data",
    args: STATS_100K,
    expect: /u\.data: file is empty; expected lines of 4 tab-separated fields/,
  },
  {
    name: "u.user age 200",
    files: ml100k("u.user", "1|200|M|technician|85711\n"),
    cli: "data",
    args: STATS_100K,
    expect: /u\.user:1: age must be an integer in 1\.\.120, got "200"$/,
  },
  {
    name: "u.user gender X",
    files: ml100k("u.user", "1|24|X|technician|85711\n"),
    cli: "data",
    args: STATS_100K,
    expect: /u\.user:1: gender must be one of M, F, got "X"$/,
  },
  {
    name: "u.user line with four fields",
    files: ml100k("u.user", "1|24|M|technician\n"),
    cli: "data",
    args: STATS_100K,
    expect: /u\.user:1: expected 5 \|-separated fields \(id, age, gender, occupation, zip\), got 4$/,
  },
  {
    name: "u.item genre flag 2",
    files: ml100k("u.item", "1|Movie (1995)|01-Jan-1995||http://x|0|2\n"),
    cli: "data",
    args: STATS_100K,
    expect: /u\.item:1: genre flag 2 \(Action\) must be 0 or 1, got "2"$/,
  },
  {
    name: "u.item duplicate item id",
    files: ml100k("u.item", "1|A (1995)|||http://x|0|1\n1|B (1995)|||http://x|0|1\n"),
    cli: "data",
    args: STATS_100K,
    expect: /u\.item:2: duplicate item id 1$/,
  },
  {
    name: "u.genre index out of order",
    files: ml100k("u.genre", "unknown|0\nAction|5\n"),
    cli: "data",
    args: STATS_100K,
    expect: /u\.genre:2: expected genre index 1, got "5"$/,
  },
  {
    name: "ratings.dat rating 0",
    files: ml1m("ratings.dat", "1::1::0::978300760\n"),
    cli: "data",
    args: STATS_1M,
    expect: /\{dir\}\/ml-1m\/ratings\.dat:1: rating must be an integer in 1\.\.5, got "0"$/,
  },
  {
    name: "users.dat age code 20",
    files: ml1m("users.dat", "1::F::20::10::48067\n"),
    cli: "data",
    args: STATS_1M,
    expect: /users\.dat:1: age code must be one of 1, 18, 25, 35, 45, 50, 56, got "20"$/,
  },
  {
    name: "users.dat occupation code 25",
    files: ml1m("users.dat", "1::M::25::25::48067\n"),
    cli: "data",
    args: STATS_1M,
    expect: /users\.dat:1: occupation code must be an integer in 0\.\.20, got "25"$/,
  },
  {
    name: "movies.dat line with two fields",
    files: ml1m("movies.dat", "1::Toy Story (1995)\n"),
    cli: "data",
    args: STATS_1M,
    expect: /movies\.dat:1: expected 3 ::-separated fields \(id, title, genres\), got 2$/,
  },
  {
    name: "one user with 4 ratings (data stats)",
    files: ml100k("u.data", "1\t1\t4\t101\n1\t2\t4\t102\n1\t3\t4\t103\n1\t4\t4\t104\n"),
    cli: "data",
    args: STATS_100K,
    expect: /dataset ml-100k \(preset sasrec\): no users with at least 5 interactions .* ratings_read 4, .* users 0/,
  },
  {
    name: "one user with 4 ratings (train, before --out)",
    files: ml100k("u.data", "1\t1\t4\t101\n1\t2\t4\t102\n1\t3\t4\t103\n1\t4\t4\t104\n"),
    cli: "train",
    args: [...sets("data_dir={dir}", "dataset=ml-100k", "epochs_per_stage=1"), "--out", "{dir}/out"],
    expect: /dataset ml-100k \(preset sasrec\): no users with at least 5 interactions/,
  },
  {
    name: "no rating >= 4 under preset original",
    files: ml100k("u.data", [1, 2, 3, 4, 5].map((i) => `1\t${i}\t3\t10${i}`).join("\n")),
    cli: "data",
    args: [...STATS_100K, "--preset", "original"],
    expect: /dataset ml-100k \(preset original\): no users .* ratings_dropped_below_4 5, interactions 0/,
  },
  {
    name: "data dir holding u.data directly (dataset left at synthetic)",
    files: { "u.data": FIVE_RATINGS },
    cli: "data",
    args: ["stats", "--data-dir", "{dir}", "--preset", "original"],
    expect: /data_dir \{dir\} holds u\.data directly.*use --data-dir PARENT --dataset ml-100k/,
  },
  {
    name: "data dir named ml-1m holding ratings.dat directly",
    files: { "ml-1m/ratings.dat": "1::1::5::978300760\n", "ml-1m/ml-1m/.keep": "" },
    cli: "data",
    args: ["stats", "--data-dir", "{dir}/ml-1m", "--dataset", "ml-1m"],
    expect: /data_dir \{dir\}\/ml-1m holds ratings\.dat directly.*use --data-dir \{dir\} --dataset ml-1m/,
  },
  {
    name: "items.npy with a NaN row",
    files: { ...ml100k("u.data", FIVE_RATINGS), "emb/items.npy": NAN_NPY },
    cli: "train",
    args: [...TRAIN_UR4REC, ...PRECOMPUTED, ...sets("user_text=none")],
    expect: /\{dir\}\/emb\/items\.npy: row 3, column 0 holds NaN \(1 non-finite value\(s\) in all\)/,
  },
  {
    name: "items.npy truncated",
    files: { ...ml100k("u.data", FIVE_RATINGS), "emb/items.npy": NAN_NPY.slice(0, NAN_NPY.length - 4) },
    cli: "train",
    args: [...TRAIN_UR4REC, ...PRECOMPUTED, ...sets("user_text=none")],
    expect: /items\.npy: holds 52 data bytes, shape \(7, 2\) needs 56/,
  },
  {
    name: "items.json with a value beyond float32",
    files: { ...ml100k("u.data", FIVE_RATINGS), "emb/items.json": '{"1": [0.5, 1e39]}' },
    cli: "train",
    args: [...TRAIN_UR4REC, ...PRECOMPUTED, ...sets("user_text=none")],
    expect: /items\.json: key "1": value 1 is 1e\+39, expected a finite number within float32/,
  },
  {
    name: "users.json with a null in a vector",
    files: {
      ...ml100k("u.data", FIVE_RATINGS),
      "emb/items.json": '{"1": [0.5, 1]}',
      "emb/users.json": '{"1": [null, 1]}',
    },
    cli: "train",
    args: [...TRAIN_UR4REC, ...PRECOMPUTED],
    expect: /users\.json: key "1": value 0 is null, expected a finite number/,
  },
  {
    name: "item_descriptions.json that is not JSON",
    files: { ...ml100k("u.data", FIVE_RATINGS), "llm/item_descriptions.json": '{"1": "A",' },
    cli: "train",
    args: [...TRAIN_UR4REC, ...sets("llm_dir={dir}/llm", "item_text=shipped", "user_text=leak_free")],
    expect: /\{dir\}\/llm\/item_descriptions\.json: invalid JSON/,
  },
  {
    name: "user_preferences.json with a number for a text",
    files: {
      ...ml100k("u.data", FIVE_RATINGS),
      "llm/item_descriptions.json": '{"1": "A"}',
      "llm/user_preferences.json": '{"1": 5}',
    },
    cli: "train",
    args: [...TRAIN_UR4REC, ...sets("llm_dir={dir}/llm", "item_text=shipped", "user_text=shipped")],
    expect: /user_preferences\.json: key "1": expected a string, got number/,
  },
  {
    name: "duplicate_ratings with an unknown policy",
    cli: "data",
    args: [...STATS_100K, ...sets("duplicate_ratings=keep")],
    expect: /duplicate_ratings/,
  },
  {
    name: "data_dir under a file (synthetic data would be generated there)",
    files: { "afile": "not a directory\n" },
    cli: "train",
    args: ["--set", "data_dir={dir}/afile/data", "--out", "{dir}/out"],
    expect: /^error: mkdir '\{dir\}\/afile\/data\/synthetic\/300x400': a component of the path is a file/,
  },
  {
    name: "data_dir under a file (ML-100K files read there)",
    files: { "afile": "not a directory\n" },
    cli: "data",
    args: ["stats", "--data-dir", "{dir}/afile", "--dataset", "ml-100k"],
    expect: /'\{dir\}\/afile\/ml-100k\/u\.genre': a component of the path is a file/,
  },
];
