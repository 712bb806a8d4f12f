/** The grid runner's directory lock (src/experiments/lock.ts): atomic claims, refusals naming the holder, takeover. */
import assert from "node:assert/strict";
import { claimDirectory, LOCK_FILE } from "../src/experiments/lock.ts";
import { type ProcessIdentity, processIdentity } from "../src/experiments/process.ts";
import { UserError } from "../src/util/errors.ts";
import { tempDir } from "./helpers.ts";

/** The identity of a process that has exited. */
async function deadProcess(): Promise<ProcessIdentity> {
  const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
  const identity = processIdentity(child.pid)!;
  child.kill("SIGKILL");
  await child.status;
  return identity;
}

/** Runs `n` claims at once; asserts exactly one wins and the others are refused naming the dir and the holder. */
async function exactlyOneWins(dir: string, n: number): Promise<void> {
  const outcomes = await Promise.allSettled(Array.from({ length: n }, () => claimDirectory(dir)));
  const won = outcomes.filter((o) => o.status === "fulfilled");
  assert.equal(won.length, 1, JSON.stringify(outcomes.map((o) => o.status)));
  for (const o of outcomes) {
    if (o.status === "fulfilled") continue;
    assert.ok(o.reason instanceof UserError, String(o.reason));
    assert.equal(o.reason.message, `${dir}: another runner (pid ${Deno.pid}) is working on this directory`);
  }
  const holder = JSON.parse(await Deno.readTextFile(`${dir}/${LOCK_FILE}`));
  assert.equal(holder.pid, Deno.pid);
  await won[0].value();
  await assert.rejects(Deno.stat(`${dir}/${LOCK_FILE}`), Deno.errors.NotFound);
}

Deno.test("lock: of two claims started in the same instant exactly one wins (200 rounds)", async () => {
  await using dir = await tempDir();
  for (let round = 0; round < 200; round++) await exactlyOneWins(dir.path, 2);
});

Deno.test("lock: a dead runner's lock is taken over by exactly one of three concurrent claims (50 rounds)", async () => {
  await using dir = await tempDir();
  const dead = JSON.stringify(await deadProcess());
  for (let round = 0; round < 50; round++) {
    await Deno.writeTextFile(`${dir.path}/${LOCK_FILE}`, dead);
    await exactlyOneWins(dir.path, 3);
  }
  assert.deepEqual([...Deno.readDirSync(dir.path)], [], "no temp or takeover files left");
});

Deno.test("lock: a live holder is named; a takeover claim left by a crash expires; a garbled lock is an error", async () => {
  await using dir = await tempDir();
  const holder = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    await Deno.writeTextFile(`${dir.path}/${LOCK_FILE}`, JSON.stringify(processIdentity(holder.pid)));
    await assert.rejects(
      claimDirectory(dir.path),
      new UserError(`${dir.path}: another runner (pid ${holder.pid}) is working on this directory`),
    );
  } finally {
    holder.kill("SIGKILL");
    await holder.status;
  }
  await Deno.writeTextFile(`${dir.path}/${LOCK_FILE}`, JSON.stringify(await deadProcess()));
  await Deno.mkdir(`${dir.path}/${LOCK_FILE}.takeover`);
  const old = new Date(Date.now() - 60_000);
  await Deno.utime(`${dir.path}/${LOCK_FILE}.takeover`, old, old);
  await (await claimDirectory(dir.path))();

  await Deno.writeTextFile(`${dir.path}/${LOCK_FILE}`, "{");
  await assert.rejects(
    claimDirectory(dir.path),
    new UserError(
      `${dir.path}/${LOCK_FILE}: not a runner record {"pid", "start"}; delete it if no runner works in this directory`,
    ),
  );
});
