/** Data types shared by loaders, preprocessing, splits, batching, models and evaluation. */

/** One movie/item with parsed metadata. Ids are the dataset's original ids (MovieLens ids). */
export interface ItemInfo {
  id: number;
  title: string;
  year: number | null;
  genres: string[];
}

/** One explicit rating row as read from the raw files. */
export interface Rating {
  user: number;
  item: number;
  rating: number;
  timestamp: number;
  /** 1-based line of the ratings file it came from (for error messages), when read from a file. */
  line?: number;
}

/** One user's demographics as read from the user file (`u.user`, `users.dat`). */
export interface UserInfo {
  id: number;
  age: number;
  gender: string;
  /** Occupation name (ML-100K) or code (ML-1M). */
  occupation: string;
  zip: string;
}

/** Raw dataset as loaded from disk, before preprocessing. */
export interface RawData {
  name: string;
  items: Map<number, ItemInfo>;
  ratings: Rating[];
  /** Path of the ratings file (`u.data`, `ratings.dat`), for error messages. */
  ratingsPath?: string;
  /** Users of the user file, when the format has one. */
  users?: Map<number, UserInfo>;
}

/** Counts of what preprocessing removed, so nothing is silently dropped. */
export type FilterReport = Record<string, number>;

/** Per-user chronological interaction sequences after preprocessing. */
export interface Interactions {
  /** Original user ids; the array index is the user index used everywhere else. */
  userIds: number[];
  /** Item ids (original ids) per user, oldest first. */
  sequences: number[][];
  /** The timestamp of each item of `sequences` (seconds, as in the ratings file), same shape. */
  timestamps: number[][];
  /** Largest item id; id tables have `numItems + 1` rows and row 0 is padding. */
  numItems: number;
  /** Metadata of every known item (ids present in the item file). */
  items: Map<number, ItemInfo>;
  report: FilterReport;
}

/** One user's split into train/validation/test. */
export interface UserSplit {
  /** Training sequence: next-item targets are drawn from it (all positions or the last one). */
  train: number[];
  valInput: number[];
  valTarget: number;
  testInput: number[];
  testTarget: number;
}

/** Everything a model, trainer and evaluator need about the data. */
export interface Dataset {
  name: string;
  numItems: number;
  userIds: number[];
  items: Map<number, ItemInfo>;
  splits: UserSplit[];
  /** 1 for ids that are real items (may be candidates), 0 for padding and absent ids; length numItems + 1. */
  itemExists: Uint8Array;
  /** Train-split interaction count per item id; length numItems + 1. */
  trainPopularity: Float32Array;
  report: FilterReport;
  /** Every drop or substitution outside the preset's own filters, one readable line each (see warnings.ts). */
  warnings: string[];
}

/** The input sequences of a batch: item ids [B, T] as a flat row-major array, 0 = pad. */
export interface SequenceBatch {
  /** Input item ids, [B, T], 0 = pad. */
  inputs: Int32Array;
  batchSize: number;
  seqLen: number;
}

/** A `SequenceBatch` whose rows belong to known users. */
export interface UserBatch extends SequenceBatch {
  /** User indices, [B]. */
  users: Int32Array;
}

/** A training batch, flat row-major typed arrays. */
export interface TrainBatch extends UserBatch {
  /** Target item id per position, [B, T], 0 = no target at this position. */
  positives: Int32Array;
  /** Negative item ids per position, [B, T, K] (0 where there is no target). */
  negatives: Int32Array;
  numNegatives: number;
  /**
   * Seed of this step's randomness inside the model (dropout masks), set by the trainer from the run seed and
   * the global step, so that a step can be replayed exactly (NaN locator, resume). Models must derive every
   * dropout seed from it (e.g. `new Rng(batch.seed).fork("block0.attn")`) and not from hidden state.
   */
  seed: number;
}

/** An evaluation batch for validation or test. */
export interface EvalBatch extends UserBatch {
  /** Held-out target per user, [B]. */
  targets: Int32Array;
  /** Sampled protocol only: candidate ids [B, C] with the target in column 0. */
  candidates?: Int32Array;
  numCandidates: number;
  /** Items to mask in full ranking (the user's known history), per row. */
  history: number[][];
}

/** Fixed text vectors (from the text encoder, cached on disk), row-major. */
export interface TextVectors {
  dim: number;
  /** [numUsers, dim], rows in `Dataset.userIds` order. */
  user: Float32Array;
  /** [numItems + 1, dim], row = item id (row 0 is zeros). */
  item: Float32Array;
  /** Counts of what the text side filled in or left out (missing texts, placeholders, zero rows). */
  report?: Record<string, number>;
  /** The substitutions of `report` as readable lines (see warnings.ts). */
  warnings?: string[];
}
