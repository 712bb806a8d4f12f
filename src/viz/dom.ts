/// <reference lib="dom" />
/**
 * A DOM for Observable Plot under Deno: a linkedom document whose `createElement("canvas")` returns a tiny raster
 * canvas (fillStyle + fillRect, PNG `toDataURL`), which is all Plot needs to draw continuous colour legend ramps.
 */
import { parseHTML } from "linkedom";
import { Buffer } from "node:buffer";
import { encode } from "fast-png";

/** A new, empty HTML document with the canvas shim installed. */
export function createDocument(): Document {
  const { document } = parseHTML("<!DOCTYPE html><html><head></head><body></body></html>");
  const createElement = document.createElement.bind(document);
  document.createElement =
    ((tag: string, options?: ElementCreationOptions) =>
      tag.toLowerCase() === "canvas" ? new RasterCanvas() : createElement(tag, options)) as Document["createElement"];
  return document;
}

/** The document every chart of this kit is drawn into. */
export const plotDocument: Document = createDocument();

/** An RGBA canvas supporting the subset of the 2D context that Plot's legend ramp uses. */
export class RasterCanvas {
  width = 300;
  height = 150;
  #pixels = new Uint8Array(0);

  /** A 2D context with `fillStyle` (hex or rgb()/rgba() colours) and `fillRect`. */
  getContext(kind: "2d"): { fillStyle: string; fillRect(x: number, y: number, w: number, h: number): void } {
    if (kind !== "2d") throw new Error(`canvas shim: only the "2d" context is supported, not "${kind}"`);
    this.#pixels = new Uint8Array(this.width * this.height * 4);
    const context = {
      fillStyle: "#000000",
      fillRect: (x: number, y: number, w: number, h: number) => this.#fill(parseColor(context.fillStyle), x, y, w, h),
    };
    return context;
  }

  #fill(rgba: number[], x: number, y: number, w: number, h: number): void {
    for (let row = Math.max(0, y); row < Math.min(this.height, y + h); row++) {
      for (let col = Math.max(0, x); col < Math.min(this.width, x + w); col++) {
        this.#pixels.set(rgba, (row * this.width + col) * 4);
      }
    }
  }

  /** The canvas as a `data:image/png;base64,...` URL. */
  toDataURL(): string {
    const png = encodePng(this.#pixels, this.width, this.height);
    return `data:image/png;base64,${Buffer.from(png).toString("base64")}`;
  }
}

/** Parses `#rgb`, `#rrggbb`, `rgb(r, g, b)` or `rgba(r, g, b, a)` into RGBA bytes. */
export function parseColor(css: string): [number, number, number, number] {
  const s = css.trim().toLowerCase();
  const hex = s.match(/^#([0-9a-f]{3}|[0-9a-f]{6})$/);
  if (hex) {
    const h = hex[1].length === 3 ? [...hex[1]].map((c) => c + c).join("") : hex[1];
    return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)).concat(255) as [number, number, number, number];
  }
  const fn = s.match(/^rgba?\(([^)]*)\)$/);
  if (fn) {
    const [r, g, b, a = 1] = fn[1].split(",").map(Number);
    if ([r, g, b, a].every(Number.isFinite)) return [r, g, b, Math.round(a * 255)];
  }
  throw new Error(`canvas shim: unsupported fillStyle "${css}" (expected #hex, rgb() or rgba())`);
}

/** Encodes RGBA pixels (`width * height * 4` bytes, rows top to bottom) as a PNG file: 8-bit RGBA, via fast-png. */
export function encodePng(rgba: Uint8Array, width: number, height: number): Uint8Array {
  return encode({ width, height, data: rgba, channels: 4, depth: 8 });
}
