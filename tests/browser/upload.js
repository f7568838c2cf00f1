// Drives the upload page in headless Chromium, with JavaScript on: progress,
// cancel, a finished upload, and a refusal shown from the server's JSON.
// Usage: node upload.js BASE_URL USERNAME PASSWORD WORKDIR; exits non-zero on failure.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const [base, username, password, workdir] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

(async () => {
  const browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const failures = [];
  const page = await browser.newPage();
  page.on('pageerror', (error) => failures.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused/.test(message.text())) failures.push(message.text());
  });
  try {
    const big = path.join(workdir, 'big.zip');
    fs.writeFileSync(big, Buffer.alloc(80 * 1024 * 1024, 7));
    const notes = path.join(workdir, 'notes.txt');
    fs.writeFileSync(notes, 'notes');
    const tool = path.join(workdir, 'tool.exe');
    fs.writeFileSync(tool, 'MZ');

    await page.goto(`${base}/auth/login`);
    await page.fill('#username', username);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL('**/dashboard'), page.click('main button[type=submit]')]);

    // Progress, then cancel.
    await page.goto(`${base}/upload`);
    await page.setInputFiles('#files', [big]);
    await page.click('#upload-form button[type=submit]');
    await page.waitForFunction(() => {
      const total = document.getElementById('upload-total');
      return total.value > 0 && total.value < 100;
    }, null, { timeout: 20000 });
    await page.click('#upload-cancel');
    await page.waitForFunction(() => /cancel/i.test(document.getElementById('upload-status').textContent));

    // A whole upload lands on the dashboard, which lists it.
    await page.setInputFiles('#files', [notes, big]);
    await Promise.all([page.waitForURL('**/dashboard', { timeout: 60000 }), page.click('#upload-form button[type=submit]')]);
    const listed = await page.textContent('main');
    assert.ok(listed.includes('notes.txt') && listed.includes('big.zip'), 'the dashboard lists both files');

    // A refusal shows the server's message and stores nothing.
    await page.goto(`${base}/upload`);
    await page.setInputFiles('#files', [notes, tool]);
    await page.click('#upload-form button[type=submit]');
    await page.waitForFunction(() => /tool\.exe/.test(document.getElementById('upload-status').textContent));

    assert.deepEqual(failures, [], 'no script errors or CSP refusals');
    console.log('browser upload checks passed');
  } catch (error) {
    console.error(error);
    console.error('page errors:', failures);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
