import { S3Error } from "./errors.js";

/** Every operation this front end serves. The dispatcher is one exhaustive switch over it. */
export type Endpoint =
  | "ListBuckets"
  | "CreateBucket"
  | "DeleteBucket"
  | "HeadBucket"
  | "GetBucketLocation"
  | "GetBucketVersioning"
  | "ListObjects"
  | "ListObjectsV2"
  | "ListMultipartUploads"
  | "DeleteObjects"
  | "PutObject"
  | "CopyObject"
  | "GetObject"
  | "HeadObject"
  | "DeleteObject"
  | "CreateMultipartUpload"
  | "UploadPart"
  | "UploadPartCopy"
  | "ListParts"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload";

export interface RouteInput {
  method: string;
  /** Empty when the request addresses the service (ListBuckets). */
  bucket: string;
  /** Empty when the request addresses the bucket. */
  key: string;
  has(queryName: string): boolean;
  get(queryName: string): string | undefined;
  hasCopySource: boolean;
}

/**
 * Subresources S3 has and we do not implement: a request naming one gets NotImplemented rather than
 * being mistaken for a plain GET/PUT of the bucket or object (which could, e.g., overwrite an object
 * with a tagging document).
 */
const UNSUPPORTED_SUBRESOURCES = [
  "accelerate",
  "acl",
  "analytics",
  "attributes",
  "cors",
  "encryption",
  "intelligent-tiering",
  "inventory",
  "legal-hold",
  "lifecycle",
  "logging",
  "metrics",
  "notification",
  "object-lock",
  "ownershipControls",
  "policy",
  "policyStatus",
  "publicAccessBlock",
  "replication",
  "requestPayment",
  "restore",
  "retention",
  "select",
  "tagging",
  "torrent",
  "versions",
  "website",
] as const;

function rejectUnsupported(input: RouteInput): void {
  for (const name of UNSUPPORTED_SUBRESOURCES) {
    if (input.has(name)) throw new S3Error("NotImplemented", `The '${name}' subresource is not implemented.`);
  }
  const versionId = input.get("versionId");
  if (versionId !== undefined && versionId !== "null") {
    throw new S3Error("NotImplemented", "Object versioning is not implemented.");
  }
}

function notAllowed(): never {
  throw new S3Error("MethodNotAllowed");
}

export function route(input: RouteInput): Endpoint {
  const { method, bucket, key } = input;
  if (bucket === "") {
    if (method === "GET") return "ListBuckets";
    return notAllowed();
  }
  rejectUnsupported(input);
  if (key === "") {
    switch (method) {
      case "PUT":
        if (input.has("versioning"))
          throw new S3Error("NotImplemented", "Bucket versioning is not implemented.");
        return "CreateBucket";
      case "DELETE":
        return "DeleteBucket";
      case "HEAD":
        return "HeadBucket";
      case "GET":
        if (input.has("location")) return "GetBucketLocation";
        if (input.has("versioning")) return "GetBucketVersioning";
        if (input.has("uploads")) return "ListMultipartUploads";
        if (input.has("list-type")) {
          if (input.get("list-type") !== "2") {
            throw new S3Error("InvalidArgument", "Invalid list-type.", {
              extra: { ArgumentName: "list-type" },
            });
          }
          return "ListObjectsV2";
        }
        return "ListObjects";
      case "POST":
        if (input.has("delete")) return "DeleteObjects";
        throw new S3Error("NotImplemented", "POST uploads (browser forms) are not implemented.");
      default:
        return notAllowed();
    }
  }
  const hasUploadId = input.has("uploadId");
  switch (method) {
    case "PUT": {
      const hasPartNumber = input.has("partNumber");
      if (hasPartNumber !== hasUploadId) {
        throw new S3Error("InvalidArgument", "partNumber and uploadId must be given together.", {
          extra: { ArgumentName: hasUploadId ? "partNumber" : "uploadId" },
        });
      }
      if (hasUploadId) return input.hasCopySource ? "UploadPartCopy" : "UploadPart";
      return input.hasCopySource ? "CopyObject" : "PutObject";
    }
    case "GET":
      return hasUploadId ? "ListParts" : "GetObject";
    case "HEAD":
      return "HeadObject";
    case "DELETE":
      return hasUploadId ? "AbortMultipartUpload" : "DeleteObject";
    case "POST":
      if (input.has("uploads")) return "CreateMultipartUpload";
      if (hasUploadId) return "CompleteMultipartUpload";
      throw new S3Error("NotImplemented", "This POST request is not implemented.");
    default:
      return notAllowed();
  }
}
