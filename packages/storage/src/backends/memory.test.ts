import { runBackendContract } from "../contract/backend-contract.js";
import { MemoryBackend } from "./memory.js";

runBackendContract("memory", async () => new MemoryBackend({ name: "memory-contract" }));
