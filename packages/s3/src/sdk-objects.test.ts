import { memoryBackend } from "./testing/harness.js";
import { sdkObjectsSuite } from "./testing/suites/sdk-objects.js";

sdkObjectsSuite(memoryBackend());
