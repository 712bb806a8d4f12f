/**
 * Probes: the hook through which models expose their intermediate tensors for NaN investigation.
 * A model calls `tap(probe, layer, op, t)` on each named intermediate; with a probe that watches
 * the backward pass, the returned tensor is an identity whose gradient is reported too.
 */
import * as tf from "@tensorflow/tfjs";

/** Receives intermediates (forward) and their gradients (backward). Must not dispose what it gets. */
export interface Probe {
  forward(layer: string, op: string, t: tf.Tensor): void;
  /** When true, `tap` wraps tensors so that `gradient` sees what flows back through them. */
  readonly watchBackward: boolean;
  gradient(layer: string, op: string, dy: tf.Tensor): void;
}

/** Reports `t` to the probe (if any) and returns the tensor to continue with. */
export function tap<T extends tf.Tensor>(probe: Probe | undefined, layer: string, op: string, t: T): T {
  if (!probe) return t;
  probe.forward(layer, op, t);
  if (!probe.watchBackward) return t;
  const identity = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: (args[0] as tf.Tensor).clone(),
    gradFunc: (dy: tf.Tensor) => {
      probe.gradient(layer, op, dy);
      return dy;
    },
  }));
  return identity(t) as T;
}
