/**
 * SigV4 URI encoding: every byte of the UTF-8 form is percent-encoded (uppercase hex) except the
 * unreserved set A–Z a–z 0–9 - _ . ~; '/' is kept in paths only. Space is %20, never '+'.
 */
const UNRESERVED = /[A-Za-z0-9\-_.~]/;

export function uriEncode(value: string, keepSlash: boolean): string {
  let out = "";
  for (const char of value) {
    if (UNRESERVED.test(char) || (keepSlash && char === "/")) {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, "utf8"))
      out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * Strict percent-decoding (no '+' → space: SigV4 clients encode space as %20, and a literal '+' in a
 * key must stay '+'). Returns undefined for malformed escapes or invalid UTF-8.
 */
export function percentDecode(value: string): string | undefined {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
