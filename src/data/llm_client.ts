/**
 * A minimal client for an OpenAI-compatible chat-completions endpoint (`POST <base>/chat/completions`): one user
 * message per request, a client-side rate limit, exponential-backoff retries on 429, 5xx and network errors.
 * The API key goes only into the Authorization header: it is never logged, put in errors or written anywhere.
 */
import { UserError } from "../util/errors.ts";

/** Environment variables that configure the endpoint. */
export const LLM_ENV = {
  baseUrl: "UR4REC_LLM_BASE_URL",
  model: "UR4REC_LLM_MODEL",
  apiKey: "UR4REC_LLM_API_KEY",
} as const;

/** How to reach the endpoint and how politely. */
export interface ChatClientOptions {
  baseUrl: string;
  model: string;
  apiKey: string;
  /** At most this many requests started per second. */
  requestsPerSecond: number;
  /** Retries after the first attempt (429, 5xx, network errors). */
  maxRetries: number;
  /** First retry delay; doubles on each further retry (a Retry-After header in seconds wins when longer). */
  retryBaseMs: number;
  temperature: number;
}

/** Defaults of everything but the endpoint itself (the original used temperature 0.7). */
export const CHAT_DEFAULTS = { requestsPerSecond: 2, maxRetries: 5, retryBaseMs: 1000, temperature: 0.7 };

/** Endpoint options from the environment (`UR4REC_LLM_*`); names every missing variable. */
export function chatOptionsFromEnv(overrides: Partial<ChatClientOptions> = {}): ChatClientOptions {
  const values = Object.fromEntries(Object.entries(LLM_ENV).map(([k, name]) => [k, Deno.env.get(name) ?? ""]));
  const missing = Object.entries(LLM_ENV).filter(([k]) => values[k] === "").map(([, name]) => name);
  if (missing.length > 0) {
    throw new UserError(`set ${missing.join(", ")} (an OpenAI-compatible chat-completions endpoint)`);
  }
  return { ...CHAT_DEFAULTS, ...values, ...overrides } as ChatClientOptions;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The response text or, when the endpoint refused the prompt on content grounds (HTTP 400), null. */
export type Completion = string | null;

/** Sends chat completions one at a time, rate-limited and retried. */
export class ChatClient {
  private nextStart = 0;

  constructor(private readonly options: ChatClientOptions) {}

  /** Completes `prompt` (one user message) with at most `maxTokens` output tokens. */
  async complete(prompt: string, maxTokens: number): Promise<Completion> {
    const url = `${this.options.baseUrl.replace(/\/+$/, "")}/chat/completions`;
    const body = JSON.stringify({
      model: this.options.model,
      messages: [{ role: "user", content: prompt }],
      temperature: this.options.temperature,
      max_tokens: maxTokens,
    });
    for (let attempt = 0;; attempt++) {
      await this.waitForSlot();
      let status: number;
      let retryAfterMs = 0;
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${this.options.apiKey}` },
          body,
        });
        const text = await response.text();
        if (response.ok) return parseCompletion(text, url);
        status = response.status;
        if (status === 400 && /data_inspection_failed|content_filter|content_policy/i.test(text)) return null;
        if (status !== 429 && status < 500) {
          throw new UserError(`${url}: HTTP ${status}: ${text.slice(0, 300)}`);
        }
        retryAfterMs = 1000 * Number(response.headers.get("retry-after") ?? 0) || 0;
      } catch (err) {
        if (err instanceof UserError) throw err;
        status = 0; // network error
        if (attempt >= this.options.maxRetries) {
          throw new UserError(`${url}: request failed after ${attempt + 1} attempts: ${(err as Error).message}`);
        }
      }
      if (attempt >= this.options.maxRetries) {
        throw new UserError(`${url}: HTTP ${status} after ${attempt + 1} attempts`);
      }
      await sleep(Math.max(retryAfterMs, this.options.retryBaseMs * 2 ** attempt));
    }
  }

  private async waitForSlot(): Promise<void> {
    const now = Date.now();
    const start = Math.max(now, this.nextStart);
    this.nextStart = start + 1000 / this.options.requestsPerSecond;
    if (start > now) await sleep(start - now);
  }
}

function parseCompletion(text: string, url: string): string {
  try {
    const content = JSON.parse(text)?.choices?.[0]?.message?.content;
    if (typeof content === "string") return content.trim();
  } catch {
    // fall through to the error below
  }
  throw new UserError(`${url}: expected a chat completion {"choices": [{"message": {"content": ...}}]}`);
}
