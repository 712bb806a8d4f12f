/**
 * TF-IDF document-term matrix in CSR form: lower-cased letter/digit tokens (2+ characters, minus a short English
 * stop list), terms kept when they occur in at least `MIN_DOC_FREQ` documents, weight (1 + log tf) * idf with the
 * smoothed idf log((1 + N) / (1 + df)) + 1, rows L2-normalised. Deterministic: terms are sorted.
 */

/** Terms must occur in at least this many documents. */
export const MIN_DOC_FREQ = 2;

// deno-fmt-ignore
const STOP_WORDS = new Set([
  "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "he", "her", "his", "in", "into", "is",
  "it", "its", "of", "on", "or", "she", "that", "the", "their", "them", "they", "this", "to", "was", "were", "which",
  "while", "who", "with", "s",
]);

/** A sparse matrix in compressed sparse row form. */
export interface CsrMatrix {
  rows: number;
  cols: number;
  /** Row r's entries are at [rowPtr[r], rowPtr[r + 1]). */
  rowPtr: Int32Array;
  colIdx: Int32Array;
  values: Float64Array;
}

/** Lower-cased word tokens of `text` without stop words and 1-character tokens. */
export function tokenize(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((t) => t.length > 1 && !STOP_WORDS.has(t));
}

/** The TF-IDF matrix of `docs` (one row per document; empty documents give empty rows) and its sorted vocabulary. */
export function tfidfMatrix(docs: string[]): { matrix: CsrMatrix; vocabulary: string[] } {
  const counts = docs.map((doc) => {
    const tf = new Map<string, number>();
    for (const t of tokenize(doc)) tf.set(t, (tf.get(t) ?? 0) + 1);
    return tf;
  });
  const df = new Map<string, number>();
  for (const tf of counts) for (const t of tf.keys()) df.set(t, (df.get(t) ?? 0) + 1);
  const vocabulary = [...df].filter(([, n]) => n >= MIN_DOC_FREQ).map(([t]) => t).sort();
  const column = new Map(vocabulary.map((t, j) => [t, j]));
  const idf = vocabulary.map((t) => Math.log((1 + docs.length) / (1 + df.get(t)!)) + 1);

  const rowPtr = new Int32Array(docs.length + 1);
  const colIdx: number[] = [];
  const values: number[] = [];
  counts.forEach((tf, r) => {
    const entries = [...tf].filter(([t]) => column.has(t)).map(([t, n]) => {
      const j = column.get(t)!;
      return [j, (1 + Math.log(n)) * idf[j]] as const;
    }).sort((a, b) => a[0] - b[0]);
    const norm = Math.hypot(...entries.map(([, w]) => w)) || 1;
    for (const [j, w] of entries) {
      colIdx.push(j);
      values.push(w / norm);
    }
    rowPtr[r + 1] = colIdx.length;
  });
  const matrix = {
    rows: docs.length,
    cols: vocabulary.length,
    rowPtr,
    colIdx: Int32Array.from(colIdx),
    values: Float64Array.from(values),
  };
  return { matrix, vocabulary };
}
