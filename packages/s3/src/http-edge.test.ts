import { memoryBackend } from "./testing/harness.js";
import { httpEdgeSuite } from "./testing/suites/http-edge.js";

httpEdgeSuite(memoryBackend());
