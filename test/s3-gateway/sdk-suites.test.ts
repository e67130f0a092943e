/**
 * The s3 package's SDK and raw-HTTP suites, unchanged, over the REAL engine: `EngineObjectService`
 * on an `Engine` in a temp dir (keystore, SQLite manifest, FastCDC → SHA-256 → AES-GCM pipeline,
 * local chunk store) with 64 KiB chunks, so every object of a few MiB spans many chunks and ranges
 * cross chunk boundaries. The same suites run over the in-memory double in packages/s3.
 */
import { describe } from "vitest";
import { httpEdgeSuite } from "../../packages/s3/src/testing/suites/http-edge.js";
import { sdkListingSuite } from "../../packages/s3/src/testing/suites/sdk-listing.js";
import { sdkMultipartSuite } from "../../packages/s3/src/testing/suites/sdk-multipart.js";
import { sdkObjectsSuite } from "../../packages/s3/src/testing/suites/sdk-objects.js";
import { engineBackend } from "../support/engine.js";

describe("engine: SDK objects", () => sdkObjectsSuite(engineBackend()));
describe("engine: SDK listing", () => sdkListingSuite(engineBackend()));
describe("engine: SDK multipart and copy", () => sdkMultipartSuite(engineBackend()));
describe("engine: payload modes and bad input", () => httpEdgeSuite(engineBackend()));
