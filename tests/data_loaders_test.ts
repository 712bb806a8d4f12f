import assert from "node:assert/strict";
import { join } from "node:path";
import { loadMovieLens100k, loadMovieLens1m, parseTitle } from "../src/data/movielens.ts";
import { UserError } from "../src/util/errors.ts";
import { ML100K_FIXTURE, writeFiles } from "./data_fixtures.ts";
import { sharedDataDir, tempDir } from "./helpers.ts";

Deno.test("loaders: titles split into title and year", () => {
  assert.deepEqual(parseTitle("Toy Story (1995)"), { title: "Toy Story", year: 1995 });
  assert.deepEqual(parseTitle("Shanghai Triad (Yao a yao yao dao waipo qiao) (1995)"), {
    title: "Shanghai Triad (Yao a yao yao dao waipo qiao)",
    year: 1995,
  });
  assert.deepEqual(parseTitle("Land Before Time III: The Time of the Great Giving (1995) (V)"), {
    title: "Land Before Time III: The Time of the Great Giving (V)",
    year: 1995,
  });
  assert.deepEqual(parseTitle("unknown"), { title: "unknown", year: null });
});

Deno.test("loaders: ML-100K fixture parses ratings, latin-1 titles, genres and users", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, ML100K_FIXTURE);
  const raw = await loadMovieLens100k(dir.path);
  assert.equal(raw.name, "ml-100k");
  assert.equal(raw.ratings.length, 13);
  assert.deepEqual(raw.ratings[1], { user: 1, item: 1, rating: 4, timestamp: 50, line: 2 });
  assert.deepEqual(raw.items.get(5), { id: 5, title: "Café Olé", year: 1994, genres: ["Comedy"] });
  assert.deepEqual(raw.items.get(2), { id: 2, title: "Beta, The", year: 1991, genres: ["Comedy", "Drama"] });
  assert.deepEqual(raw.items.get(4), { id: 4, title: "unknown", year: null, genres: ["unknown"] });
  assert.deepEqual(raw.users?.get(2), { id: 2, age: 53, gender: "F", occupation: "other", zip: "94043" });
});

Deno.test("loaders: ML-1M format (:: separated, latin-1 movies, | genres)", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "movies.dat": "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Misérables, Les (1995)::Drama|Musical\n",
    "ratings.dat": "1::1::5::978300760\n1::2::3::978302109\n2::1::4::978301968\n",
    "users.dat": "1::F::1::10::48067\n2::M::56::16::70072\n",
  });
  const raw = await loadMovieLens1m(dir.path);
  assert.equal(raw.name, "ml-1m");
  assert.deepEqual(raw.items.get(2), { id: 2, title: "Misérables, Les", year: 1995, genres: ["Drama", "Musical"] });
  assert.deepEqual(raw.items.get(1)?.genres, ["Animation", "Children's", "Comedy"]);
  assert.deepEqual(raw.ratings[2], { user: 2, item: 1, rating: 4, timestamp: 978301968, line: 3 });
  assert.deepEqual(raw.users?.get(2), { id: 2, age: 56, gender: "M", occupation: "16", zip: "70072" });
});

/** Writes the fixture with `file` replaced by `text` and returns the loader's error message. */
async function errorWith(file: string, text: string | null): Promise<string> {
  await using dir = await tempDir();
  const files = { ...ML100K_FIXTURE };
  if (text === null) delete files[file];
  else files[file] = text;
  await writeFiles(dir.path, files);
  try {
    await loadMovieLens100k(dir.path);
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${err}`);
    return err.message.replace(dir.path + "/", "");
  }
  throw new Error("loader accepted bad input");
}

Deno.test("loaders: each kind of bad input is a UserError naming file, line and expectation", async () => {
  const data = ML100K_FIXTURE["u.data"].split("\n");
  const at = (i: number, line: string) => data.map((l, j) => (j === i ? line : l)).join("\n");
  assert.equal(
    await errorWith("u.data", at(2, "1\t2\t3")),
    "u.data:3: expected 4 tab-separated fields (user, item, rating, timestamp), got 3",
  );
  assert.equal(
    await errorWith("u.data", at(3, "1,6,5,100")),
    "u.data:4: expected 4 tab-separated fields (user, item, rating, timestamp), got 1 (the line looks comma-separated)",
  );
  assert.equal(
    await errorWith("u.data", at(0, "x1\t3\t5\t100")),
    'u.data:1: user id must be an integer >= 1, got "x1"',
  );
  assert.equal(
    await errorWith("u.data", at(1, "1\t0\t4\t50")),
    'u.data:2: item id must be an integer >= 1, got "0"',
  );
  assert.equal(
    await errorWith("u.data", at(1, "1\t1\tgood\t50")),
    'u.data:2: rating must be an integer in 1..5, got "good"',
  );
  assert.equal(
    await errorWith("u.data", ""),
    "u.data: file is empty; expected lines of 4 tab-separated fields (user, item, rating, timestamp)",
  );
  assert.match(
    await errorWith("u.data", null),
    /u\.data: file not found; put the MovieLens-100K files .* or download them with `deno task data ml-100k --data-dir /,
  );
  const item = ML100K_FIXTURE["u.item"].split("\n");
  assert.equal(
    await errorWith("u.item", [item[0], "2|Beta (1991)|01-Jan-1991||http://x|0|0|1", ...item.slice(2)].join("\n")),
    "u.item:2: expected 9 |-separated fields (id, title, release date, video date, url, then 4 genre flags 0/1), got 8",
  );
  assert.equal(
    await errorWith("u.item", [item[0], "2|Beta (1991)|01-Jan-1991||http://x|0|0|yes|1"].join("\n")),
    'u.item:2: genre flag 3 (Comedy) must be 0 or 1, got "yes"',
  );
  assert.equal(await errorWith("u.item", [item[0], item[0]].join("\n")), "u.item:2: duplicate item id 1");
  assert.equal(await errorWith("u.genre", "Action|0\nComedy|2\n"), 'u.genre:2: expected genre index 1, got "2"');
  assert.equal(
    await errorWith("u.user", "1|24|M|technician\n"),
    "u.user:1: expected 5 |-separated fields (id, age, gender, occupation, zip), got 4",
  );
});

Deno.test("loaders: ML-1M errors name the file and the :: format", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "movies.dat": "1::Toy Story (1995)::Comedy\n",
    "ratings.dat": "1::1::5::978300760\n1\t2\t3\t978302109\n",
    "users.dat": "1::F::1::10::48067\n",
  });
  await assert.rejects(
    loadMovieLens1m(dir.path),
    new UserError(
      `${join(dir.path, "ratings.dat")}:2: expected 4 ::-separated fields (user, item, rating, timestamp), got 1 ` +
        "(the line looks tab-separated)",
    ),
  );
  await Deno.remove(join(dir.path, "movies.dat"));
  await assert.rejects(loadMovieLens1m(dir.path), /movies\.dat: file not found; put the MovieLens-1M files/);
});

Deno.test("loaders: CRLF line endings and trailing blank lines are accepted", async () => {
  await using dir = await tempDir();
  const crlf = Object.fromEntries(Object.entries(ML100K_FIXTURE).map(([k, v]) => [k, v.replaceAll("\n", "\r\n")]));
  await writeFiles(dir.path, crlf);
  const raw = await loadMovieLens100k(dir.path);
  assert.equal(raw.ratings.length, 13);
  assert.equal(raw.items.get(6)?.title, "Delta");
});

const shared = sharedDataDir();
Deno.test({
  name: "loaders: real ML-100K has 100,000 ratings, 1,682 items, 943 users",
  ignore: shared === undefined,
  fn: async () => {
    const raw = await loadMovieLens100k(join(shared!, "ml-100k"));
    assert.equal(raw.ratings.length, 100_000);
    assert.equal(raw.items.size, 1682);
    assert.equal(raw.users?.size, 943);
    assert.deepEqual(raw.ratings[0], { user: 196, item: 242, rating: 3, timestamp: 881250949, line: 1 });
    assert.deepEqual(raw.items.get(1), {
      id: 1,
      title: "Toy Story",
      year: 1995,
      genres: ["Animation", "Children's", "Comedy"],
    });
  },
});
