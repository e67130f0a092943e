/**
 * The one table from S3 error code to HTTP status and default message. Adding a code to the union
 * without a row fails to compile (`satisfies Record<S3ErrorCode, …>`), so every error a handler can
 * throw has exactly one status.
 */
export type S3ErrorCode =
  | "AccessDenied"
  | "AuthorizationHeaderMalformed"
  | "AuthorizationQueryParametersError"
  | "BadDigest"
  | "BucketAlreadyExists"
  | "BucketAlreadyOwnedByYou"
  | "BucketNotEmpty"
  | "ConditionalRequestConflict"
  | "EntityTooLarge"
  | "EntityTooSmall"
  | "IllegalLocationConstraintException"
  | "IncompleteBody"
  | "InternalError"
  | "InvalidAccessKeyId"
  | "InvalidArgument"
  | "InvalidBucketName"
  | "InvalidChunkSizeError"
  | "InvalidDigest"
  | "InvalidPart"
  | "InvalidPartNumber"
  | "InvalidPartOrder"
  | "InvalidRange"
  | "InvalidRequest"
  | "InsufficientStorage"
  | "InvalidURI"
  | "KeyTooLongError"
  | "MalformedTrailerError"
  | "MalformedXML"
  | "MaxMessageLengthExceeded"
  | "MetadataTooLarge"
  | "MethodNotAllowed"
  | "MissingContentLength"
  | "MissingSecurityHeader"
  | "NoSuchBucket"
  | "NoSuchKey"
  | "NoSuchUpload"
  | "NotImplemented"
  | "NotModified"
  | "PreconditionFailed"
  | "RequestHeaderSectionTooLarge"
  | "RequestTimeTooSkewed"
  | "RequestTimeout"
  | "ServiceUnavailable"
  | "SignatureDoesNotMatch"
  | "SlowDown"
  | "XAmzContentSHA256Mismatch";

export interface S3ErrorSpec {
  readonly status: number;
  readonly message: string;
}

export const S3_ERRORS = {
  AccessDenied: { status: 403, message: "Access Denied" },
  AuthorizationHeaderMalformed: { status: 400, message: "The authorization header is malformed." },
  AuthorizationQueryParametersError: {
    status: 400,
    message: "Error parsing the X-Amz-Credential parameter or another presigned-URL parameter.",
  },
  BadDigest: {
    status: 400,
    message: "The Content-MD5 or checksum you specified did not match what we received.",
  },
  BucketAlreadyExists: {
    status: 409,
    message: "The requested bucket name is not available. Please select a different name and try again.",
  },
  BucketAlreadyOwnedByYou: {
    status: 409,
    message: "Your previous request to create the named bucket succeeded and you already own it.",
  },
  BucketNotEmpty: { status: 409, message: "The bucket you tried to delete is not empty." },
  ConditionalRequestConflict: {
    status: 409,
    message: "A conflicting operation occurred. If using PutObject you can retry the request.",
  },
  EntityTooLarge: { status: 400, message: "Your proposed upload exceeds the maximum allowed object size." },
  EntityTooSmall: {
    status: 400,
    message: "Your proposed upload is smaller than the minimum allowed object size.",
  },
  IllegalLocationConstraintException: {
    status: 400,
    message: "The location constraint you specified is not the region of this endpoint.",
  },
  IncompleteBody: {
    status: 400,
    message: "You did not provide the number of bytes specified by the Content-Length HTTP header.",
  },
  // Not an AWS code (S3 never fills up); 507 as WebDAV and MinIO use it. Not retried by SDKs.
  InsufficientStorage: {
    status: 507,
    message:
      "The node's storage is at its free-space reserve. Delete objects and run garbage collection, or add capacity.",
  },
  InternalError: { status: 500, message: "We encountered an internal error. Please try again." },
  InvalidAccessKeyId: {
    status: 403,
    message: "The AWS access key Id you provided does not exist in our records.",
  },
  InvalidArgument: { status: 400, message: "Invalid Argument" },
  InvalidBucketName: { status: 400, message: "The specified bucket is not valid." },
  InvalidChunkSizeError: {
    status: 403,
    message: "Only the last chunk is allowed to have a size less than 8192 bytes",
  },
  InvalidDigest: { status: 400, message: "The Content-MD5 or checksum you specified is not valid." },
  InvalidPart: {
    status: 400,
    message:
      "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
  },
  InvalidPartNumber: { status: 416, message: "The requested partnumber is not satisfiable" },
  InvalidPartOrder: {
    status: 400,
    message: "The list of parts was not in ascending order. Parts must be ordered by part number.",
  },
  InvalidRange: { status: 416, message: "The requested range is not satisfiable" },
  InvalidRequest: { status: 400, message: "Invalid Request" },
  InvalidURI: { status: 400, message: "Couldn't parse the specified URI." },
  KeyTooLongError: { status: 400, message: "Your key is too long" },
  MalformedTrailerError: {
    status: 400,
    message: "The request contained trailing data that was not well-formed.",
  },
  MalformedXML: {
    status: 400,
    message: "The XML you provided was not well-formed or did not validate against our published schema.",
  },
  MaxMessageLengthExceeded: { status: 400, message: "Your request was too big." },
  MetadataTooLarge: {
    status: 400,
    message: "Your metadata headers exceed the maximum allowed metadata size.",
  },
  MethodNotAllowed: { status: 405, message: "The specified method is not allowed against this resource." },
  MissingContentLength: { status: 411, message: "You must provide the Content-Length HTTP header." },
  MissingSecurityHeader: { status: 400, message: "Your request is missing a required header." },
  NoSuchBucket: { status: 404, message: "The specified bucket does not exist" },
  NoSuchKey: { status: 404, message: "The specified key does not exist." },
  NoSuchUpload: {
    status: 404,
    message:
      "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.",
  },
  NotImplemented: {
    status: 501,
    message: "A header or query you provided implies functionality that is not implemented.",
  },
  NotModified: { status: 304, message: "Not Modified" },
  PreconditionFailed: {
    status: 412,
    message: "At least one of the pre-conditions you specified did not hold",
  },
  RequestHeaderSectionTooLarge: {
    status: 400,
    message: "Your request header section exceeds the maximum allowed size.",
  },
  RequestTimeTooSkewed: {
    status: 403,
    message: "The difference between the request time and the server's time is too large.",
  },
  RequestTimeout: {
    status: 400,
    message:
      "Your socket connection to the server was not read from or written to within the timeout period.",
  },
  ServiceUnavailable: { status: 503, message: "Please reduce your request rate." },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
  },
  SlowDown: { status: 503, message: "Please reduce your request rate." },
  XAmzContentSHA256Mismatch: {
    status: 400,
    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  },
} as const satisfies Record<S3ErrorCode, S3ErrorSpec>;

/**
 * The package's one error class. `message` is what the client sees: never put internals (paths,
 * stack traces, backend names) in it — handlers turn unknown failures into a bare `InternalError`.
 */
export class S3Error extends Error {
  readonly code: S3ErrorCode;
  readonly status: number;
  /** Extra elements for the XML error body (e.g. `ArgumentName`, `RequestTime`); values are text. */
  readonly extra: Readonly<Record<string, string>>;
  /** Response headers that go with this error (e.g. `Content-Range` for InvalidRange). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: S3ErrorCode,
    message?: string,
    options?: { extra?: Record<string, string>; headers?: Record<string, string>; cause?: unknown },
  ) {
    const spec: S3ErrorSpec = S3_ERRORS[code];
    super(message ?? spec.message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "S3Error";
    this.code = code;
    this.status = spec.status;
    this.extra = options?.extra ?? {};
    this.headers = options?.headers ?? {};
  }

  /** Normalizes anything thrown into an S3Error. Unknown causes become a message-less InternalError. */
  static from(err: unknown): S3Error {
    if (err instanceof S3Error) return err;
    return new S3Error("InternalError", undefined, { cause: err });
  }
}

export function isS3Error(err: unknown, code?: S3ErrorCode): err is S3Error {
  return err instanceof S3Error && (code === undefined || err.code === code);
}
