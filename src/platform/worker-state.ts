// Whether this process's workers are shutting down. Set by src/workers when they close, read by use
// cases that wait (for a rate-limit slot, say): they give their work back instead of holding the
// shutdown past its bound. Per process on purpose: another process's shutdown is not ours.
let stopping = false;

export const setWorkersStopping = (v: boolean) => {
  stopping = v;
};
export const workersStopping = () => stopping;

/** Sleeps ms in short steps; false as soon as the workers are stopping (true when the time is up). */
export async function waitUnlessStopping(ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (stopping) return false;
    await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
  }
  return !stopping;
}
