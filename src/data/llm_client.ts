/**
 * A minimal client for an OpenAI-compatible chat-completions endpoint (`POST <base>/chat/completions`): one user
 * message per request, a client-side rate limit, a per-request timeout, exponential-backoff retries on 429, 5xx,
 * network errors and timeouts. The API key goes only into the Authorization header: every text that leaves the
 * client (errors, completions) passes through `redactSecret` first, so a server echoing the request headers back
 * cannot get the key into a message, a log or a file.
 */
import { UserError } from "../util/errors.ts";

/** Environment variables that configure the endpoint. */
export const LLM_ENV = {
  baseUrl: "UR4REC_LLM_BASE_URL",
  model: "UR4REC_LLM_MODEL",
  apiKey: "UR4REC_LLM_API_KEY",
} as const;

/** Optional environment variable: seconds one request may take before it is abandoned (and retried). */
export const LLM_TIMEOUT_ENV = "UR4REC_LLM_TIMEOUT_S";

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
  /** A request (headers and body) not done within this many milliseconds is aborted and counts as a failure. */
  timeoutMs: number;
  temperature: number;
}

/** Defaults of everything but the endpoint itself (the original used temperature 0.7). */
export const CHAT_DEFAULTS = {
  requestsPerSecond: 2,
  maxRetries: 5,
  retryBaseMs: 1000,
  timeoutMs: 60_000,
  temperature: 0.7,
};

/**
 * Endpoint options from the environment (`UR4REC_LLM_*`, plus the optional `UR4REC_LLM_TIMEOUT_S`); names every
 * missing variable, and a timeout that is not a positive number of seconds.
 */
export function chatOptionsFromEnv(overrides: Partial<ChatClientOptions> = {}): ChatClientOptions {
  const values = Object.fromEntries(Object.entries(LLM_ENV).map(([k, name]) => [k, Deno.env.get(name) ?? ""]));
  const missing = Object.entries(LLM_ENV).filter(([k]) => values[k] === "").map(([, name]) => name);
  if (missing.length > 0) {
    throw new UserError(`set ${missing.join(", ")} (an OpenAI-compatible chat-completions endpoint)`);
  }
  const timeoutText = Deno.env.get(LLM_TIMEOUT_ENV);
  const timeoutS = Number(timeoutText);
  if (timeoutText !== undefined && !(timeoutS > 0 && Number.isFinite(timeoutS))) {
    throw new UserError(`${LLM_TIMEOUT_ENV}=${timeoutText}: expected a positive number of seconds`);
  }
  const timeout = timeoutText === undefined ? {} : { timeoutMs: timeoutS * 1000 };
  return { ...CHAT_DEFAULTS, ...timeout, ...values, ...overrides } as ChatClientOptions;
}

/** Shortest prefix of a secret that counts as the secret when a server echoes it truncated. */
const MIN_SECRET_PREFIX = 6;
/** A value after `Authorization:`/`x-api-key:`/`api_key=` (any quoting), or after `Bearer `. */
const CREDENTIAL_VALUE =
  /((?:authorization|x-api-key|api[_-]?key)["']?\s*[:=]\s*["']?(?:bearer\s+)?|bearer\s+)([^\s"',;}&]+)/gi;

/**
 * `text` with `secret` removed: the secret itself, any token that is a prefix of it (at least 6 characters) or
 * contains it, and any value following an `Authorization:`/`Bearer `/`api_key=` label become `[redacted]`.
 */
export function redactSecret(text: string, secret: string): string {
  const hidden = "[redacted]";
  let out = secret === "" ? text : text.replaceAll(secret, hidden);
  out = out.replace(CREDENTIAL_VALUE, (_, label: string) => `${label}${hidden}`);
  if (secret.length >= MIN_SECRET_PREFIX) {
    out = out.replace(
      /[\w~+\/=-]+(?:\.[\w~+\/=-]+)*/g,
      (token) => token.length >= MIN_SECRET_PREFIX && secret.startsWith(token) ? hidden : token,
    );
  }
  return out;
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
      let failure: string;
      let retryAfterMs = 0;
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${this.options.apiKey}` },
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        const text = await response.text();
        if (response.ok) return this.redact(parseCompletion(text, url));
        if (response.status === 400 && /data_inspection_failed|content_filter|content_policy/i.test(text)) return null;
        if (response.status !== 429 && response.status < 500) {
          throw new UserError(`${url}: HTTP ${response.status}: ${text.slice(0, 300)}`);
        }
        failure = `HTTP ${response.status}`;
        retryAfterMs = 1000 * Number(response.headers.get("retry-after") ?? 0) || 0;
      } catch (err) {
        if (err instanceof UserError) throw new UserError(this.redact(err.message));
        failure = (err as Error).name === "TimeoutError"
          ? `no answer within ${this.options.timeoutMs / 1000} s (${LLM_TIMEOUT_ENV})`
          : `request failed: ${(err as Error).message}`;
      }
      if (attempt >= this.options.maxRetries) {
        throw new UserError(this.redact(`${url}: ${failure} after ${attempt + 1} attempts`));
      }
      await sleep(Math.max(retryAfterMs, this.options.retryBaseMs * 2 ** attempt));
    }
  }

  private redact(text: string): string {
    return redactSecret(text, this.options.apiKey);
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
