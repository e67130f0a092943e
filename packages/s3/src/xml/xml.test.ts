import { describe, expect, it } from "vitest";
import { isS3Error } from "../errors.js";
import { childrenNamed, parseXml, requiredChildText } from "./reader.js";
import { el, escapeXml, optional, renderXmlDocument } from "./writer.js";

describe("xml writer", () => {
  it("escapes text and skips undefined children", () => {
    const doc = renderXmlDocument(
      el("R", el("Key", "a<b>&'\"\u0001"), optional("Absent", undefined), el("N", 3)),
    );
    expect(doc).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<R xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        "<Key>a&lt;b&gt;&amp;&apos;&quot;&#x1;</Key><N>3</N></R>",
    );
    expect(escapeXml("plain")).toBe("plain");
  });
});

describe("xml reader", () => {
  it("parses a Delete body with namespaces and entities", () => {
    const node = parseXml(
      '<?xml version="1.0"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a&amp;b</Key></Object><Object><Key> sp </Key></Object></Delete>',
    );
    expect(node.name).toBe("Delete");
    expect(childrenNamed(node, "Object").map((o) => requiredChildText(o, "Key"))).toEqual(["a&b", " sp "]);
  });

  it("decodes numeric character references once (Go's encoding/xml writes &#34; in ETags)", () => {
    const node = parseXml("<P><ETag>&#34;abc&#x22;</ETag><K>&amp;#34;</K></P>");
    expect(requiredChildText(node, "ETag")).toBe('"abc"');
    expect(requiredChildText(node, "K")).toBe("&#34;");
  });

  it.each([
    ["unknown entity", "<A>&nbsp;</A>"],
    ["NUL reference", "<A>&#0;</A>"],
    ["truncated", "<Delete><Object>"],
    ["two roots", "<A/><B/>"],
    ["doctype", '<!DOCTYPE x [<!ENTITY e "boom">]><Delete>&e;</Delete>'],
    ["text only", "hello"],
    ["mismatched", "<A></B>"],
  ])("rejects %s as MalformedXML", (_name, body) => {
    let caught: unknown;
    try {
      parseXml(body);
    } catch (err) {
      caught = err;
    }
    expect(isS3Error(caught, "MalformedXML")).toBe(true);
  });
});
