/// <reference lib="dom" />
/**
 * Notebook outputs that update in place while a run or a grid works: the first `update` sends Jupyter
 * `display_data` with a `display_id`, every later one `update_display_data` for that id (Jupyter messaging protocol
 * 5.1+, through the Deno kernel's `Deno.jupyter.display`). A headless execution (nbclient) applies the updates too,
 * so the executed notebook keeps the final state. Outside a kernel (`deno run`, tests) nothing is sent.
 */
import type { GridProgress } from "../experiments/progress.ts";
import type { CellStatus } from "../experiments/cell.ts";
import type { EpochRecord, MetricName } from "../run/records.ts";
import { epochChart } from "./epoch_chart.ts";
import { escapeHtml } from "./tables.ts";

/** The part of `Deno.jupyter` this module uses. */
interface JupyterDisplay {
  display(obj: unknown, options: { raw: boolean; display_id: string; update: boolean }): Promise<void>;
}

/** The kernel's display function, or undefined outside `deno jupyter` (where reading `Deno.jupyter` throws). */
function kernel(): JupyterDisplay | undefined {
  try {
    return (Deno as unknown as { jupyter?: JupyterDisplay }).jupyter;
  } catch {
    return undefined;
  }
}

/** One output area that each `update` replaces. */
export class LiveDisplay {
  #id = `ur4rec-${crypto.randomUUID()}`;
  #sent = false;

  /** Replaces the output with `html` (an HTML string or a chart element); `text` is the plain-text fallback. */
  async update(html: string | Element, text: string): Promise<void> {
    const jupyter = kernel();
    if (jupyter === undefined) return;
    const bundle = { "text/html": typeof html === "string" ? html : html.outerHTML, "text/plain": text };
    await jupyter.display(bundle, { raw: true, display_id: this.#id, update: this.#sent });
    this.#sent = true;
  }
}

/** Formats a metric value with 4 decimals, or "-" when absent. */
function fmt(x: number | null | undefined): string {
  return x === null || x === undefined ? "-" : x.toFixed(4);
}

/**
 * A live view of one training run: a progress line (stage, epoch, loss, validation metric, epoch time) above the
 * loss and validation charts of `epochChart`, side by side, redrawn after each epoch. Pass `onEpoch` to `train(config, out, { onEpoch })`.
 */
export function liveTraining(title: string, metric: MetricName = "NDCG@10") {
  const live = new LiveDisplay();
  const epochs: EpochRecord[] = [];
  let pending = Promise.resolve();
  const line = (e: EpochRecord) =>
    `${title}: ${e.stage} epoch ${e.epoch}, train loss ${fmt(e.train_loss)}, val ${metric} ${fmt(e.val?.[metric])} ` +
    `(${e.wall_s.toFixed(1)} s/epoch, ${epochs.length} epoch(s) done)`;
  const redraw = () => {
    const last = epochs.at(-1)!;
    const charts = [epochChart(epochs, "train_loss"), epochChart(epochs, metric)].map((c) => c.outerHTML);
    const html = `<div><pre>${escapeHtml(line(last))}</pre><div style="display:flex;gap:12px">${
      charts.join("")
    }</div></div>`;
    return live.update(html, line(last));
  };
  return {
    /** The trainer's per-epoch callback. */
    onEpoch(record: EpochRecord): void {
      epochs.push(record);
      pending = pending.then(redraw);
    },
    /** Resolves when the last redraw has been sent. */
    done(): Promise<void> {
      return pending;
    },
  };
}

/**
 * A live view of a grid run for `runGrid(grid, { progress })`: one line with cells ended / running / failed and the
 * latest cell outcome, redrawn on every event.
 */
export function liveGrid(title: string): { progress: (total: number) => GridProgress; done: () => Promise<void> } {
  const live = new LiveDisplay();
  let pending = Promise.resolve();
  return {
    progress(total: number): GridProgress {
      const startedAt = Date.now();
      let ended = 0, running = 0, failed = 0, latest = "";
      const redraw = () => {
        const minutes = ((Date.now() - startedAt) / 60000).toFixed(1);
        const text = `${title}: ${ended}/${total} cells ended, ${running} running, ${failed} failed, ` +
          `${minutes} min${latest ? ` | last: ${latest}` : ""}`;
        pending = pending.then(() => live.update(`<pre>${escapeHtml(text)}</pre>`, text));
      };
      redraw();
      return {
        started() {
          running++;
          redraw();
        },
        finished(id: string, status: CellStatus, note?: string) {
          running--;
          ended++;
          if (status === "failed") failed++;
          latest = `${status} ${id}${note ? `: ${note}` : ""}`;
          redraw();
        },
        stop() {},
      };
    },
    done: () => pending,
  };
}
