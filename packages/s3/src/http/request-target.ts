import { S3Error } from "../errors.js";
import { percentDecode } from "../sigv4/uri-encoding.js";

/** Query parameters, decoded, in arrival order; lookups return the first value. */
export class QueryParams {
  constructor(readonly pairs: readonly (readonly [string, string])[]) {}

  has(name: string): boolean {
    return this.pairs.some(([n]) => n === name);
  }

  get(name: string): string | undefined {
    return this.pairs.find(([n]) => n === name)?.[1];
  }
}

export interface RequestTarget {
  decodedPath: string;
  query: QueryParams;
}

/** Splits `req.url` into a decoded path and decoded query pairs; InvalidURI on malformed escapes. */
export function parseRequestTarget(url: string): RequestTarget {
  if (!url.startsWith("/")) throw new S3Error("InvalidURI");
  const questionMark = url.indexOf("?");
  const rawPath = questionMark >= 0 ? url.slice(0, questionMark) : url;
  const rawQuery = questionMark >= 0 ? url.slice(questionMark + 1) : "";
  const decodedPath = percentDecode(rawPath);
  if (decodedPath === undefined) throw new S3Error("InvalidURI");
  const pairs: (readonly [string, string])[] = [];
  if (rawQuery !== "") {
    for (const part of rawQuery.split("&")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      const name = percentDecode(eq >= 0 ? part.slice(0, eq) : part);
      const value = percentDecode(eq >= 0 ? part.slice(eq + 1) : "");
      if (name === undefined || value === undefined) throw new S3Error("InvalidURI");
      pairs.push([name, value]);
    }
  }
  return { decodedPath, query: new QueryParams(pairs) };
}

/** Host header without port, lowercase. */
export function hostWithoutPort(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.lastIndexOf(":");
  return colon >= 0 ? h.slice(0, colon) : h;
}

/**
 * Bucket and key from host + path. Virtual-host style (`bucket.<root>/key`) only for hosts under a
 * configured root domain; everything else (IPs, localhost, the root itself) is path style.
 */
export function resolveBucketAndKey(
  decodedPath: string,
  host: string | undefined,
  virtualHostRoots: readonly string[],
): { bucket: string; key: string } {
  const hostname = host === undefined ? "" : hostWithoutPort(host);
  for (const root of virtualHostRoots) {
    const suffix = `.${root.toLowerCase()}`;
    if (hostname.endsWith(suffix) && hostname.length > suffix.length) {
      return { bucket: hostname.slice(0, -suffix.length), key: decodedPath.slice(1) };
    }
  }
  const rest = decodedPath.slice(1);
  const slash = rest.indexOf("/");
  if (slash < 0) return { bucket: rest, key: "" };
  return { bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
}
