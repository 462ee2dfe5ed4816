/** A one-line progress bar on stderr: redrawn in place on a terminal, every 10 % otherwise. */
export interface ProgressBar {
  update(done: number): void;
  finish(note?: string): void;
}

/** A progress bar for `total` units of `label`; silent when `quiet`. */
export function progressBar(label: string, total: number, unit: string, quiet = false): ProgressBar {
  const start = performance.now();
  const tty = process.stderr.isTTY;
  let lastDecile = -1;
  const line = (done: number) => {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const width = 30;
    const filled = Math.round(fraction * width);
    const seconds = (performance.now() - start) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    return `${label.padEnd(22)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${unit} ${seconds.toFixed(1)} s ${rate.toLocaleString('en-US')} ${unit}/s`;
  };
  return {
    update(done) {
      if (quiet) return;
      if (tty) {
        process.stderr.write(`\r${line(done)}`);
        return;
      }
      const decile = Math.floor((done / Math.max(1, total)) * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        process.stderr.write(`${line(done)}\n`);
      }
    },
    finish(note) {
      if (quiet) return;
      process.stderr.write(`${tty ? '\r' : ''}${line(total)}${note ? `  ${note}` : ''}\n`);
    },
  };
}

/** Logs a harness step on stderr unless `quiet`. */
export function say(quiet: boolean, message: string): void {
  if (!quiet) process.stderr.write(`${message}\n`);
}
