/**
 * Training stages: which modules each stage trains. Unlike the original (docs/findings.md#f13), every stage sets its
 * trainable modules explicitly, so `joint_finetune` really alternates SASRec-side and retriever-side updates.
 * `train_fusion` (this kit) trains the fusion gate alone, on the fused loss, over frozen SASRec and retriever: the
 * last stage of the residual recipe (configs/results/loo_residual.yaml).
 */

/** Modules on the sequential side and on the text side of a model. */
const SEQUENTIAL = ["sasrec", "bprmf"];
const TEXT = ["retriever", "fusion"];

/** The module names a stage trains at a given global step, restricted to those the model has. */
export function activeModules(stage: string, globalStep: number, available: string[]): string[] {
  let wanted: string[];
  switch (stage) {
    case "pretrain_sasrec":
      wanted = SEQUENTIAL;
      break;
    case "pretrain_retriever":
      wanted = ["retriever"];
      break;
    case "train_fusion":
      wanted = ["fusion"];
      break;
    case "joint_finetune":
      wanted = globalStep % 2 === 0 ? SEQUENTIAL : TEXT;
      break;
    default:
      wanted = [...SEQUENTIAL, ...TEXT];
  }
  return available.filter((m) => wanted.includes(m));
}
