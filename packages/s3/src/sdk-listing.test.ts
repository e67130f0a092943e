import { memoryBackend } from "./testing/harness.js";
import { sdkListingSuite } from "./testing/suites/sdk-listing.js";

sdkListingSuite(memoryBackend());
