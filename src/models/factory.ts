/** Builds the recommender named by `config.model`. */
import { bprMfOptions, sasRecOptions } from "../config/resolve.ts";
import type { Config } from "../config/schema.ts";
import type { Dataset, TextVectors } from "../data/types.ts";
import type { Rng } from "../rng.ts";
import { UserError } from "../util/errors.ts";
import { BprMf, Popularity } from "./baselines.ts";
import { SasRec } from "./sasrec.ts";
import type { Recommender } from "./types.ts";
import { Ur4Rec } from "./ur4rec.ts";

/**
 * A fresh model for `config.model` (`sasrec` | `ur4rec` | `pop` | `bprmf`); `ur4rec`, and `sasrec` with `text_use`
 * `embedding_init` or `side_feature`, need the text vectors.
 */
export function createModel(config: Config, ds: Dataset, rng: Rng, texts?: TextVectors): Recommender {
  switch (config.model) {
    case "sasrec":
      return new SasRec(sasRecOptions(config), ds.numItems, rng, texts);
    case "ur4rec":
      if (!texts) throw new UserError("model=ur4rec needs text vectors (user/item texts), but none were given");
      return new Ur4Rec(config, ds, texts, rng);
    case "pop":
      return new Popularity(ds);
    case "bprmf":
      return new BprMf(bprMfOptions(config), ds, rng);
  }
}
