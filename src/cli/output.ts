/** Writes to stdout and waits until the data is handed over, so exiting never cuts it short. */
export function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) =>
    process.stdout.write(text, (error) => (error ? reject(error) : resolve())),
  );
}
