/**
 * Test hook: `ENIGMA_GC_CRASH_AT=<step>` SIGKILLs this process when a GC run reaches that step
 * (chunk phase: after-mark, mid-delete, after-delete, after-forget; sweep: sweep-after-mark,
 * sweep-after-delete), so tests can kill GC between its steps.
 */
export function crashPoint(step: string): void {
  if (process.env.ENIGMA_GC_CRASH_AT === step) process.kill(process.pid, "SIGKILL");
}
