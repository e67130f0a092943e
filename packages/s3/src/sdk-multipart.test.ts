import { memoryBackend } from "./testing/harness.js";
import { sdkMultipartSuite } from "./testing/suites/sdk-multipart.js";

sdkMultipartSuite(memoryBackend());
