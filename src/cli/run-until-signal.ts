/**
 * Runs a long job until SIGINT or SIGTERM, which abort it so it can finish cleanly. A reader
 * that goes away (`tributary demo | head`: EPIPE on stdout) stops the job the same way, as a
 * shell user expects from SIGPIPE, instead of crashing mid-apply.
 */

export async function runUntilSignal(job: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  const onOutputError = (error: NodeJS.ErrnoException) => {
    if (isClosedReader(error)) stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.on('error', onOutputError);
  try {
    await job(controller.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.stdout.off('error', onOutputError);
  }
}

/** The error a write to a pipe whose reader has gone away ends in. */
export function isClosedReader(error: NodeJS.ErrnoException): boolean {
  return error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED';
}
