/// <reference lib="dom" />
/**
 * A Plot `<figure>` as one standalone SVG, so that saved charts keep what Plot draws outside the chart's `<svg>`:
 * the title (`<h2>`), subtitle (`<h3>`), swatch legends (HTML `<span>`s, redrawn as SVG squares and text), ramp
 * legends (`<svg>`s, nested as they are), the chart `<svg>` and the caption (`<figcaption>`), stacked top to bottom
 * in the figure's order. Widths of legend text are estimated (no font metrics under Deno): 6 px per character at
 * Plot's 10 px legend font, so swatch rows wrap at the chart's width.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/** Pixels per character of swatch text at 10 px (DejaVu Sans averages about 0.6 em). */
const SWATCH_CHAR_PX = 6;
const SWATCH_SIZE = 15;
const SWATCH_ROW_PX = 20;

/** Font size (px), weight and colour of the figure's text lines. */
const TEXT_STYLE = {
  h2: { size: 14, weight: "bold", fill: "black" },
  h3: { size: 12, weight: "normal", fill: "#444" },
  figcaption: { size: 11, weight: "normal", fill: "#444" },
} as const;

/** One piece of the output: its height (px) and the SVG elements it draws from a top offset `y` (px). */
interface Block {
  height: number;
  draw: (y: number) => Element[];
}

/** An SVG element of `doc` with the given attributes and text (escaped by the DOM). */
function svgElement(doc: Document, tag: string, attrs: Record<string, string | number>, text?: string): Element {
  const el = doc.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function textBlock(doc: Document, tag: keyof typeof TEXT_STYLE, text: string): Block {
  const { size, weight, fill } = TEXT_STYLE[tag];
  const attrs = { x: 4, "font-size": size, "font-weight": weight, fill };
  return { height: size + 8, draw: (y) => [svgElement(doc, "text", { ...attrs, y: y + size }, text)] };
}

/** Plot's swatch legend (`<span>`s of a coloured `<svg>` and a label) as squares and labels wrapped at `width`. */
function swatchBlock(doc: Document, legend: Element, width: number): Block {
  const items = [...legend.children].filter((c) => /swatch\b/.test(c.getAttribute("class") ?? "")).map((span) => {
    const swatch = span.querySelector("svg");
    const color = swatch?.getAttribute("fill") ?? swatch?.getAttribute("stroke") ?? "currentColor";
    return { color, label: span.textContent ?? "" };
  });
  const placed: { x: number; row: number; color: string; label: string }[] = [];
  let [x, row] = [4, 0];
  for (const item of items) {
    const w = SWATCH_SIZE + 5 + SWATCH_CHAR_PX * item.label.length + 12;
    if (x > 4 && x + w > width) [x, row] = [4, row + 1];
    placed.push({ x, row, ...item });
    x += w;
  }
  return {
    height: items.length === 0 ? 0 : (row + 1) * SWATCH_ROW_PX + 4,
    draw: (y) =>
      placed.flatMap((p) => {
        const top = y + p.row * SWATCH_ROW_PX;
        return [
          svgElement(doc, "rect", { x: p.x, y: top, width: SWATCH_SIZE, height: SWATCH_SIZE, fill: p.color }),
          svgElement(doc, "text", { x: p.x + SWATCH_SIZE + 5, y: top + 11, "font-size": 10 }, p.label),
        ];
      }),
  };
}

/** A nested `<svg>` (a ramp legend or the chart) placed at the block's offset. */
function svgBlock(svg: Element): Block {
  return {
    height: Number(svg.getAttribute("height") ?? 0),
    draw: (y) => {
      const copy = svg.cloneNode(true) as Element;
      copy.setAttribute("x", "0");
      copy.setAttribute("y", String(y));
      return [copy];
    },
  };
}

/**
 * The figure as one detached `<svg>` element as wide as its widest `<svg>` child, on a white background (namespace
 * attributes are added when it is saved: `standaloneSvg`). Children other than titles, legends, svgs and the caption
 * are left out. Throws when the figure holds no `<svg>`.
 */
export function figureSvg(figure: Element): Element {
  const doc = figure.ownerDocument;
  const children = [...figure.children];
  const svgs = children.filter((c) => c.tagName.toLowerCase() === "svg");
  if (svgs.length === 0) throw new Error(`figureSvg: <${figure.tagName.toLowerCase()}> holds no <svg> chart`);
  const width = Math.max(...svgs.map((s) => Number(s.getAttribute("width") ?? 0)));
  const blocks = children.flatMap((child): Block[] => {
    const tag = child.tagName.toLowerCase();
    if (tag === "h2" || tag === "h3" || tag === "figcaption") return [textBlock(doc, tag, child.textContent ?? "")];
    if (tag === "svg") return [svgBlock(child)];
    if (tag === "div" && /swatches\b/.test(child.getAttribute("class") ?? "")) return [swatchBlock(doc, child, width)];
    return [];
  });
  const root = svgElement(doc, "svg", { "font-family": "DejaVu Sans, sans-serif" });
  root.append(svgElement(doc, "rect", { width: "100%", height: "100%", fill: "white" }));
  let y = 4;
  for (const block of blocks) {
    root.append(...block.draw(y));
    y += block.height;
  }
  for (const [k, v] of Object.entries({ width, height: y + 4, viewBox: `0 0 ${width} ${y + 4}` })) {
    root.setAttribute(k, String(v));
  }
  return root;
}
