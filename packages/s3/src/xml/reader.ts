import { XMLParser, XMLValidator } from "fast-xml-parser";
import { S3Error } from "../errors.js";

/**
 * Strict parsing of the few XML request bodies S3 has (Delete, CompleteMultipartUpload,
 * CreateBucketConfiguration). Not a general XML reader: DTDs and entity declarations are refused
 * (no entity expansion tricks), namespaces are dropped, and the result is a tree of
 * `XmlNode`s the handlers walk with the helpers below. Every failure is MalformedXML.
 */

export interface XmlNode {
  readonly name: string;
  readonly text: string;
  readonly children: readonly XmlNode[];
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  // Entities are decoded by decodeEntities below, in one pass: the parser's own handling leaves
  // numeric references (`&#34;`, which Go's encoding/xml writes for quotes in ETags) undecoded.
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
});

type Ordered = Record<string, unknown>;

const NAMED_ENTITIES: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** The five XML entities and numeric character references; anything else is malformed. */
function decodeEntities(text: string): string {
  return text.replace(/&([^;&\s]*);?/g, (match, name: string) => {
    if (!match.endsWith(";")) throw new S3Error("MalformedXML");
    const named = NAMED_ENTITIES[name];
    if (named !== undefined) return named;
    const numeric = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(name);
    if (numeric === null) throw new S3Error("MalformedXML");
    const codePoint = numeric[1] !== undefined ? Number.parseInt(numeric[1], 16) : Number(numeric[2]);
    if (codePoint === 0 || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
      throw new S3Error("MalformedXML");
    }
    return String.fromCodePoint(codePoint);
  });
}

function convert(name: string, items: unknown): XmlNode {
  const children: XmlNode[] = [];
  let text = "";
  if (Array.isArray(items)) {
    for (const item of items as Ordered[]) {
      for (const [k, v] of Object.entries(item)) {
        if (k === ":@") continue;
        if (k === "#text") text += decodeEntities(String(v));
        else children.push(convert(k, v));
      }
    }
  }
  return { name, text, children };
}

export function parseXml(body: Buffer | string): XmlNode {
  const source = typeof body === "string" ? body : body.toString("utf8");
  if (/<!DOCTYPE|<!ENTITY/i.test(source)) throw new S3Error("MalformedXML");
  if (XMLValidator.validate(source) !== true) throw new S3Error("MalformedXML");
  let parsed: unknown;
  try {
    parsed = parser.parse(source);
  } catch {
    throw new S3Error("MalformedXML");
  }
  const roots = convert("#document", parsed).children;
  if (roots.length !== 1) throw new S3Error("MalformedXML");
  return roots[0]!;
}

export function childrenNamed(node: XmlNode, name: string): XmlNode[] {
  return node.children.filter((c) => c.name === name);
}

/** The text of the only child `name`, or undefined when absent; MalformedXML when repeated. */
export function optionalChildText(node: XmlNode, name: string): string | undefined {
  const found = childrenNamed(node, name);
  if (found.length > 1) throw new S3Error("MalformedXML");
  return found[0]?.text;
}

export function requiredChildText(node: XmlNode, name: string): string {
  const text = optionalChildText(node, name);
  if (text === undefined) throw new S3Error("MalformedXML");
  return text;
}

export function expectRoot(node: XmlNode, name: string): XmlNode {
  if (node.name !== name) throw new S3Error("MalformedXML");
  return node;
}
