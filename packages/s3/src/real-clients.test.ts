import { startTestServer, TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY } from "./testing/harness.js";
import { realClientsSuite } from "./testing/suites/real-clients.js";

realClientsSuite(async () => {
  const t = await startTestServer();
  return {
    url: t.server.url,
    accessKeyId: TEST_ACCESS_KEY,
    secretAccessKey: TEST_SECRET_KEY,
    region: TEST_REGION,
    probe: t.backend,
    close: () => t.close(),
  };
});
