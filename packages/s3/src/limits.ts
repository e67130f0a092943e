/** Every limit of the S3 front end, named once. Values follow AWS S3 unless a comment says why not. */

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Sum of request header names and values we accept; above it → RequestHeaderSectionTooLarge. */
export const MAX_REQUEST_HEADER_BYTES = 16 * KiB;
/**
 * Node's own parser limit (`maxHeaderSize`). Set above MAX_REQUEST_HEADER_BYTES so that headers
 * between the two get a proper S3 XML error from us; beyond it Node answers 431 by itself.
 */
export const NODE_MAX_HEADER_BYTES = 64 * KiB;
/** User metadata (`x-amz-meta-*` names + values), as in S3. */
export const MAX_USER_METADATA_BYTES = 2 * KiB;
/** XML request bodies (DeleteObjects, CompleteMultipartUpload, CreateBucket configuration). */
export const MAX_XML_BODY_BYTES = 1 * MiB;
export const MAX_KEY_BYTES = 1024;
export const MAX_DELETE_OBJECTS_KEYS = 1000;
export const MAX_LIST_KEYS = 1000;
export const MAX_LIST_PARTS = 1000;
export const MAX_LIST_UPLOADS = 1000;
export const MIN_PART_NUMBER = 1;
export const MAX_PART_NUMBER = 10_000;
/** Every part but the last must be at least this big (enforced by the service at complete). */
export const MIN_PART_SIZE_BYTES = 5 * MiB;
export const MAX_PART_SIZE_BYTES = 5 * GiB;
export const MAX_PUT_OBJECT_BYTES = 5 * GiB;
export const MAX_OBJECT_BYTES = 5 * 1024 * GiB;
/** `X-Amz-Expires` upper bound for presigned URLs (7 days). */
export const MAX_PRESIGN_EXPIRES_SECONDS = 7 * 24 * 3600;
/** Allowed distance between the request's signing time and ours. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** aws-chunked framing: the size line (hex size + extensions) and each trailer line. */
export const MAX_CHUNK_HEADER_LINE_BYTES = 4 * KiB;
export const MAX_TRAILER_BYTES = 16 * KiB;
/** Signing keys cached (one per access key, day, region). */
export const SIGNING_KEY_CACHE_ENTRIES = 256;

/** HTTP server timeouts (set explicitly rather than relying on Node's defaults). */
export const HEADERS_TIMEOUT_MS = 60_000;
/** Whole-request timeout: 0 disables it, because a 5 GiB PUT on a slow link legitimately takes long. */
export const REQUEST_TIMEOUT_MS = 0;
/** Idle socket timeout: a stalled upload or download is cut after this much silence. */
export const SOCKET_IDLE_TIMEOUT_MS = 120_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
