/**
 * A real browser for end-to-end tests: Debian's Chromium (CHROMIUM_PATH, else /usr/bin/chromium)
 * driven by playwright-core, headless, with background networking off so that it never tries the
 * internet. Screenshots go to a folder the test prints (SCREENSHOT_DIR, else a temp folder).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The folder screenshots of this test file go to (printed once). */
export function screenshotDir(name: string): string {
  const dir = process.env.SCREENSHOT_DIR ? path.join(process.env.SCREENSHOT_DIR, name) : fs.mkdtempSync(path.join(os.tmpdir(), `egsde-shots-${name}-`));
  fs.mkdirSync(dir, { recursive: true });
  console.log(`screenshots of ${name}: ${dir}`);
  return dir;
}
