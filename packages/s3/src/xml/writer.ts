/**
 * A tiny XML writer for S3 responses. Elements are plain data; text is escaped when serialized, so a
 * handler cannot forget to escape a key. `undefined` children are skipped, which keeps optional
 * elements (NextContinuationToken, Delimiter, …) one expression each.
 */

export const S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>> | undefined;
  readonly children: readonly XmlChild[];
}

export type XmlChild = XmlElement | string | number | boolean | undefined | readonly XmlChild[];

export function el(name: string, ...children: XmlChild[]): XmlElement {
  return { name, attrs: undefined, children };
}

export function elWithAttrs(
  name: string,
  attrs: Record<string, string>,
  ...children: XmlChild[]
): XmlElement {
  return { name, attrs, children };
}

/** An element only when the value is defined (so `<Delimiter>` is absent rather than empty). */
export function optional(name: string, value: string | number | undefined): XmlElement | undefined {
  return value === undefined ? undefined : el(name, value);
}

/**
 * Escapes text and attribute values. Characters XML 1.0 cannot carry even escaped (C0 controls other
 * than tab/LF/CR) are written as numeric references, as S3 does; clients asking for
 * `encoding-type=url` never see them raw.
 */
export function escapeXml(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f\r]/g, (c) => {
    switch (c) {
      case "&":
        return "&amp;";
      case "<":
        return "&lt;";
      case ">":
        return "&gt;";
      case '"':
        return "&quot;";
      case "'":
        return "&apos;";
      default:
        return `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`;
    }
  });
}

function write(child: XmlChild, out: string[]): void {
  if (child === undefined) return;
  if (typeof child === "string") {
    out.push(escapeXml(child));
    return;
  }
  if (typeof child === "number" || typeof child === "boolean") {
    out.push(String(child));
    return;
  }
  if (Array.isArray(child)) {
    for (const c of child as readonly XmlChild[]) write(c, out);
    return;
  }
  const element = child as XmlElement;
  out.push("<", element.name);
  if (element.attrs !== undefined) {
    for (const [k, v] of Object.entries(element.attrs)) out.push(" ", k, '="', escapeXml(v), '"');
  }
  if (element.children.length === 0) {
    out.push("/>");
    return;
  }
  out.push(">");
  for (const c of element.children) write(c, out);
  out.push("</", element.name, ">");
}

/** A complete document with declaration; the root gets the S3 namespace unless `xmlns` is false. */
export function renderXmlDocument(root: XmlElement, options: { xmlns?: boolean } = {}): string {
  const withNs: XmlElement =
    options.xmlns === false ? root : { ...root, attrs: { xmlns: S3_XMLNS, ...(root.attrs ?? {}) } };
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  write(withNs, out);
  return out.join("");
}
