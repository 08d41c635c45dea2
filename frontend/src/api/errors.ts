// One shape for every error the dashboard shows: the server's message, its
// code and the request id, whether it came from REST or GraphQL.
import type { CombinedError } from "@urql/core";

export class ApiError extends Error {
  /** HTTP status, 0 for a network failure. */
  readonly status: number;
  /** The server's code: "unauthenticated", "FORBIDDEN", "BAD_USER_INPUT", … */
  readonly code: string;
  /** The server's request id, to find the request in its logs. */
  readonly requestId: string | null;

  constructor(message: string, opts: { status: number; code: string; requestId: string | null }) {
    super(message);
    this.name = "ApiError";
    this.status = opts.status;
    this.code = opts.code;
    this.requestId = opts.requestId;
  }

  /** The session is missing or has ended: the reader must sign in again. */
  get unauthenticated(): boolean {
    return this.status === 401 || this.code === "UNAUTHENTICATED" || this.code === "unauthenticated";
  }
}

interface RestErrorBody {
  error?: { code?: unknown; message?: unknown };
  requestId?: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reads the server's REST error shape {"error":{code,message},"requestId"} from a failed response. */
export async function apiErrorFromResponse(res: Response): Promise<ApiError> {
  const headerId = res.headers.get("X-Request-ID");
  let body: RestErrorBody = {};
  try {
    const parsed: unknown = await res.json();
    if (isRecord(parsed)) body = parsed;
  } catch {
    // Not JSON: a proxy or an older server. The status says enough.
  }
  const detail = isRecord(body.error) ? body.error : {};
  const message = typeof detail.message === "string" ? detail.message : `${res.status} ${res.statusText || "request failed"}`;
  const code = typeof detail.code === "string" ? detail.code : String(res.status);
  const requestId = typeof body.requestId === "string" ? body.requestId : headerId;
  return new ApiError(message, { status: res.status, code, requestId });
}

/** Turns an urql error into an ApiError, keeping the server's message, code and request id. */
export function apiErrorFromCombined(error: CombinedError): ApiError {
  const res = error.response as Response | undefined;
  const status = typeof res?.status === "number" ? res.status : 0;
  const requestId = typeof res?.headers?.get === "function" ? res.headers.get("X-Request-ID") : null;
  const first = error.graphQLErrors[0];
  if (first) {
    const code = typeof first.extensions?.code === "string" ? first.extensions.code : "GRAPHQL_ERROR";
    return new ApiError(first.message, { status, code, requestId });
  }
  const message = error.networkError?.message ?? error.message;
  return new ApiError(status ? `${status}: ${message}` : message, {
    status,
    code: status === 401 ? "UNAUTHENTICATED" : status === 403 ? "FORBIDDEN" : "NETWORK",
    requestId,
  });
}

/** Any thrown value as an ApiError. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof Error) return new ApiError(err.message, { status: 0, code: "CLIENT", requestId: null });
  return new ApiError(String(err), { status: 0, code: "CLIENT", requestId: null });
}
