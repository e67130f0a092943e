import { describe, expect, it } from "vitest";
import { isS3Error } from "../errors.js";
import { type AuthContext, type AuthRequest, authenticate } from "./authenticate.js";
import { AwsChunkedDecoder } from "./chunked-decoder.js";
import { CredentialStore } from "./credentials.js";
import { SigningKeyCache } from "./signing-key.js";

// The worked examples of the AWS S3 SigV4 documentation (examplebucket, 2013-05-24).
const AWS_EXAMPLE_KEY = "AKIAIOSFODNN7EXAMPLE";
const AWS_EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const EXAMPLE_TIME_MS = Date.UTC(2013, 4, 24, 0, 0, 0);
const EMPTY_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

function ctx(nowMs = EXAMPLE_TIME_MS): AuthContext {
  return {
    credentials: new CredentialStore([{ accessKeyId: AWS_EXAMPLE_KEY, secretAccessKey: AWS_EXAMPLE_SECRET }]),
    signingKeys: new SigningKeyCache(),
    region: "us-east-1",
    nowMs,
  };
}

function headers(entries: Record<string, string>): Map<string, string[]> {
  return new Map(Object.entries(entries).map(([k, v]) => [k.toLowerCase(), [v]]));
}

function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isS3Error(err)) return err.code;
    throw err;
  }
  return "none";
}

const getObjectExample: AuthRequest = {
  method: "GET",
  decodedPath: "/test.txt",
  query: [],
  headers: headers({
    Host: "examplebucket.s3.amazonaws.com",
    Range: "bytes=0-9",
    "x-amz-content-sha256": EMPTY_HASH,
    "x-amz-date": "20130524T000000Z",
    Authorization:
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
  }),
};

describe("SigV4 header authentication", () => {
  it("verifies the AWS GetObject example", () => {
    const result = authenticate(getObjectExample, ctx());
    expect(result.accessKeyId).toBe(AWS_EXAMPLE_KEY);
    expect(result.payload).toEqual({ kind: "sha256", hex: EMPTY_HASH });
  });

  it("rejects a changed header, a wrong secret, skew and unknown keys", () => {
    const tampered = {
      ...getObjectExample,
      headers: new Map(getObjectExample.headers).set("range", ["bytes=0-10"]),
    };
    expect(errorCode(() => authenticate(tampered, ctx()))).toBe("SignatureDoesNotMatch");
    const wrongSecret = ctx();
    wrongSecret.credentials = new CredentialStore([
      { accessKeyId: AWS_EXAMPLE_KEY, secretAccessKey: "other" },
    ]);
    expect(errorCode(() => authenticate(getObjectExample, wrongSecret))).toBe("SignatureDoesNotMatch");
    expect(errorCode(() => authenticate(getObjectExample, ctx(EXAMPLE_TIME_MS + 16 * 60_000)))).toBe(
      "RequestTimeTooSkewed",
    );
    expect(authenticate(getObjectExample, ctx(EXAMPLE_TIME_MS + 14 * 60_000)).accessKeyId).toBe(
      AWS_EXAMPLE_KEY,
    );
    const unknown = ctx();
    unknown.credentials = new CredentialStore([{ accessKeyId: "OTHER", secretAccessKey: "x" }]);
    expect(errorCode(() => authenticate(getObjectExample, unknown))).toBe("InvalidAccessKeyId");
    const otherRegion = ctx();
    otherRegion.region = "eu-west-1";
    expect(errorCode(() => authenticate(getObjectExample, otherRegion))).toBe("AuthorizationHeaderMalformed");
  });

  it("refuses anonymous, SigV2 and malformed headers", () => {
    const anonymous = { ...getObjectExample, headers: headers({ Host: "h" }) };
    expect(errorCode(() => authenticate(anonymous, ctx()))).toBe("AccessDenied");
    const v2 = { ...getObjectExample, headers: headers({ Host: "h", Authorization: "AWS AKID:sig" }) };
    expect(errorCode(() => authenticate(v2, ctx()))).toBe("InvalidRequest");
    const malformed = {
      ...getObjectExample,
      headers: headers({ Host: "h", Authorization: "AWS4-HMAC-SHA256 nonsense" }),
    };
    expect(errorCode(() => authenticate(malformed, ctx()))).toBe("AuthorizationHeaderMalformed");
  });
});

describe("SigV4 presigned URLs", () => {
  const presigned: AuthRequest = {
    method: "GET",
    decodedPath: "/test.txt",
    query: [
      ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
      ["X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"],
      ["X-Amz-Date", "20130524T000000Z"],
      ["X-Amz-Expires", "86400"],
      ["X-Amz-SignedHeaders", "host"],
      ["X-Amz-Signature", "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"],
    ],
    headers: headers({ Host: "examplebucket.s3.amazonaws.com" }),
  };

  it("verifies the AWS presigned example within its lifetime", () => {
    expect(authenticate(presigned, ctx(EXAMPLE_TIME_MS + 3600_000)).presigned).toBe(true);
  });

  it("enforces expiry and the signature", () => {
    expect(errorCode(() => authenticate(presigned, ctx(EXAMPLE_TIME_MS + 86_401_000)))).toBe("AccessDenied");
    const tampered = {
      ...presigned,
      query: presigned.query.map(([k, v]) => [k, k === "X-Amz-Expires" ? "86399" : v] as const),
    };
    expect(errorCode(() => authenticate(tampered, ctx()))).toBe("SignatureDoesNotMatch");
    const tooLong = {
      ...presigned,
      query: presigned.query.map(([k, v]) => [k, k === "X-Amz-Expires" ? "604801" : v] as const),
    };
    expect(errorCode(() => authenticate(tooLong, ctx()))).toBe("AuthorizationQueryParametersError");
  });
});

describe("aws-chunked with chunk signatures", () => {
  // The AWS chunked-upload example: 65536 + 1024 bytes of 'a', 64 KiB chunks.
  const exampleRequest: AuthRequest = {
    method: "PUT",
    decodedPath: "/examplebucket/chunkObject.txt",
    query: [],
    headers: headers({
      Host: "s3.amazonaws.com",
      "x-amz-date": "20130524T000000Z",
      "x-amz-storage-class": "REDUCED_REDUNDANCY",
      "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
      "Content-Encoding": "aws-chunked",
      "x-amz-decoded-content-length": "66560",
      "Content-Length": "66824",
      Authorization:
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
    }),
  };
  const chunkSignatures = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
  ];

  function exampleBody(signatures: string[]): Buffer {
    return Buffer.concat([
      Buffer.from(`10000;chunk-signature=${signatures[0]}\r\n`),
      Buffer.alloc(65536, "a"),
      Buffer.from(`\r\n400;chunk-signature=${signatures[1]}\r\n`),
      Buffer.alloc(1024, "a"),
      Buffer.from(`\r\n0;chunk-signature=${signatures[2]}\r\n\r\n`),
    ]);
  }

  async function decodeAll(body: Buffer, pieceBytes: number): Promise<Buffer> {
    const auth = authenticate(exampleRequest, ctx());
    if (auth.payload.kind !== "streaming-signed") throw new Error("expected streaming mode");
    const decoder = new AwsChunkedDecoder(auth.payload.chain, false);
    const pieces: Buffer[] = [];
    async function* source() {
      for (let i = 0; i < body.length; i += pieceBytes) yield body.subarray(i, i + pieceBytes);
    }
    for await (const piece of decoder.decode(source())) pieces.push(piece);
    return Buffer.concat(pieces);
  }

  it("decodes the AWS example and verifies every chunk signature, however the bytes arrive", async () => {
    expect(exampleBody(chunkSignatures).length).toBe(66824);
    for (const pieceBytes of [1, 7, 8192, 100_000]) {
      const data = await decodeAll(exampleBody(chunkSignatures), pieceBytes);
      expect(data.equals(Buffer.alloc(66560, "a"))).toBe(true);
    }
  });

  it("rejects a tampered chunk signature or tampered data", async () => {
    const badSignature = [...chunkSignatures];
    badSignature[1] = `${"0".repeat(63)}1`;
    await expect(decodeAll(exampleBody(badSignature), 4096)).rejects.toMatchObject({
      code: "SignatureDoesNotMatch",
    });
    const body = exampleBody(chunkSignatures);
    body[200] = "b".charCodeAt(0);
    await expect(decodeAll(body, 4096)).rejects.toMatchObject({ code: "SignatureDoesNotMatch" });
    await expect(decodeAll(body.subarray(0, 60_000), 4096)).rejects.toMatchObject({ code: "IncompleteBody" });
  });
});
