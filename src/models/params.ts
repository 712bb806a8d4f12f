/**
 * The trainable variables of one model component, created under stable path names such as
 * `sasrec/block0/attn/q/w`. Each variable is initialised from its own generator forked from the component's `Rng`
 * by that name, so a weight's initial value depends only on the seed and its name (not on construction order).
 *
 * tfjs registers variables globally by name, so two live models could not share a name. The tfjs name is therefore
 * the stable name plus `@<instance>`; `stableName(v)` gives the stable part (checkpoints and logs use it).
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";

let instances = 0;

/**
 * The stable path name of a variable created by a `ParamStore`, or of its tfjs name (as gradients are keyed): the
 * name without the `@<instance>` suffix, which depends on how many models the process built before.
 */
export function stableName(v: tf.Variable | string): string {
  const name = typeof v === "string" ? v : v.name;
  const at = name.lastIndexOf("@");
  return at < 0 ? name : name.slice(0, at);
}

/** Named variables of one model component, in creation order. */
export class ParamStore {
  private readonly variables: tf.Variable[] = [];
  private readonly instance = ++instances;

  constructor(private readonly rng: Rng) {}

  /** Creates the trainable variable `name` with the tensor returned by `init` (called inside a tidy). */
  create<R extends tf.Rank>(name: string, init: (rng: Rng) => tf.Tensor<R>): tf.Variable<R> {
    if (this.variables.some((v) => stableName(v) === name)) throw new Error(`variable ${name} created twice`);
    const value = tf.tidy(() => init(this.rng.fork(name)));
    const v = tf.variable(value, true, `${name}@${this.instance}`);
    value.dispose();
    this.variables.push(v);
    return v;
  }

  /** The variables whose name starts with `${prefix}/`. */
  module(prefix: string): tf.Variable[] {
    return this.variables.filter((v) => stableName(v).startsWith(`${prefix}/`));
  }

  /** Frees every variable. */
  dispose(): void {
    for (const v of this.variables) v.dispose();
    this.variables.length = 0;
  }
}

/** Total number of scalars in `variables`. */
export function countParameters(variables: readonly tf.Variable[]): number {
  return variables.reduce((n, v) => n + v.size, 0);
}
