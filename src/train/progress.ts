/** Terminal progress for training: a live bar on a TTY (cli-progress), one plain line per epoch otherwise. */
import cliProgress from "cli-progress";

/** What the bar shows after each step. */
export interface ProgressInfo {
  loss: number | null;
  lr: number;
  stepsPerSecond: number;
}

/** Training progress display for one run (the grid's is `GridProgress`). */
export class TrainProgress {
  private bar: InstanceType<typeof cliProgress.SingleBar> | null = null;
  private readonly live: boolean;

  constructor(private readonly quiet = false) {
    this.live = !quiet && Deno.stdout.isTerminal();
  }

  /** Starts a stage/epoch with `total` steps. */
  startEpoch(stage: string, epoch: number, total: number): void {
    if (!this.live) return;
    this.bar = new cliProgress.SingleBar({
      format: `${stage} ep ${epoch} [{bar}] {value}/{total} loss {loss} lr {lr} {sps} step/s`,
      barsize: 24,
      hideCursor: true,
    }, cliProgress.Presets.shades_classic);
    this.bar.start(total, 0, { loss: "-", lr: "-", sps: "-" });
  }

  /** Advances by one step. */
  step(info: ProgressInfo): void {
    this.bar?.increment(1, {
      loss: info.loss === null ? "nan" : info.loss.toFixed(4),
      lr: info.lr.toExponential(2),
      sps: info.stepsPerSecond.toFixed(1),
    });
  }

  /** Ends the epoch with a summary line. */
  endEpoch(line: string): void {
    this.bar?.stop();
    this.bar = null;
    if (!this.quiet) console.log(line);
  }

  /** Prints a line outside the bar. */
  log(line: string): void {
    if (!this.quiet) console.log(line);
  }
}
