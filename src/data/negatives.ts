/**
 * Uniform negative sampling over the ids that are real items, rejecting a per-user excluded set.
 * Exclusion uses a stamp array (no per-user Set allocation), so sampling a whole epoch stays cheap.
 */
import { UserError } from "../util/errors.ts";
import type { Rng } from "../rng.ts";

/** Samples item ids uniformly among `itemExists` ids, excluding the ids passed to `exclude`. */
export class NegativeSampler {
  private readonly ids: Int32Array;
  private readonly itemExists: Uint8Array;
  private readonly stamps: Uint32Array;
  private stamp = 0;
  private excludedCount = 0;

  constructor(itemExists: Uint8Array) {
    const ids: number[] = [];
    itemExists.forEach((flag, id) => {
      if (flag) ids.push(id);
    });
    this.ids = Int32Array.from(ids);
    this.itemExists = itemExists;
    this.stamps = new Uint32Array(itemExists.length);
  }

  /** Starts a new excluded set holding `ids` (ids that are not real items are ignored). */
  exclude(ids: Iterable<number>): void {
    this.stamp++;
    this.excludedCount = 0;
    for (const id of ids) this.add(id);
  }

  /** How many ids can still be drawn. */
  available(): number {
    return this.ids.length - this.excludedCount;
  }

  /** One id, uniform over the real items not excluded (draws may repeat). */
  draw(rng: Rng): number {
    if (this.available() <= 0) throw new UserError("negative sampling: the user's history covers every item");
    for (;;) {
      const id = this.ids[rng.int(0, this.ids.length)];
      if (this.stamps[id] !== this.stamp) return id;
    }
  }

  /** `count` distinct ids, uniform over the real items not excluded; they are excluded afterwards too. */
  drawDistinct(rng: Rng, count: number): number[] {
    if (count > this.available()) {
      throw new UserError(`negative sampling: asked for ${count} distinct items, only ${this.available()} available`);
    }
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const id = this.draw(rng);
      this.add(id);
      out.push(id);
    }
    return out;
  }

  private add(id: number): void {
    if (id <= 0 || id >= this.stamps.length || this.stamps[id] === this.stamp) return;
    this.stamps[id] = this.stamp;
    if (this.itemExists[id]) this.excludedCount++;
  }
}
