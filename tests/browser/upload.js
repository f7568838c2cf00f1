// Drives the upload page in headless Chromium, with JavaScript on: progress,
// cancel, a finished upload marked as stamped, refusals named before sending,
// a refusal shown from the server's JSON, and files dropped on the field.
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
    fs.copyFileSync(big, path.join(workdir, 'big2.zip'));
    const fake = path.join(workdir, 'fake.pdf');
    fs.writeFileSync(fake, 'MZ\x90\x00 not a PDF at all');

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
    // Leaving now would abandon the upload: the page asks the browser to
    // confirm first (headless Chromium shows no such dialog, so the event's
    // answer is checked instead).
    const leaving = () => page.evaluate(() => {
      const event = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(event);
      return event.defaultPrevented;
    });
    assert.equal(await leaving(), true, 'leaving mid-upload asks first');
    await page.click('#upload-cancel');
    assert.equal(await leaving(), false, 'once cancelled, leaving asks nothing');
    await page.waitForFunction(() => /cancel/i.test(document.getElementById('upload-status').textContent));

    // A whole upload says so in the page, each file marked as stamped.
    await page.setInputFiles('#files', [notes, big]);
    const chosenText = await page.textContent('#upload-chosen');
    assert.ok(chosenText.includes('notes.txt') && chosenText.includes('big.zip'), 'the chosen files are listed');
    await page.click('#upload-form button[type=submit]');
    await page.waitForFunction(() => /uploaded and stamped/.test(document.getElementById('upload-status').textContent),
      null, { timeout: 60000 });
    assert.equal(await page.locator('#upload-files a[href^="/files/"]').count(), 2, 'each file links to its page');
    await page.goto(`${base}/dashboard`);
    const listed = await page.textContent('main');
    assert.ok(listed.includes('notes.txt') && listed.includes('big.zip'), 'the dashboard lists both files');

    // Refused before anything is sent: an extension the server refuses, and
    // more than it takes in one upload, each named with the reason.
    await page.goto(`${base}/upload`);
    await page.setInputFiles('#files', [notes, tool]);
    await page.waitForFunction(() => /tool\.exe.*\.exe are refused/.test(document.getElementById('upload-status').textContent));
    await page.click('#upload-form button[type=submit]');
    await page.setInputFiles('#files', [big, path.join(workdir, 'big2.zip')]);
    await page.waitForFunction(() => /at most .* in one upload/.test(document.getElementById('upload-status').textContent));

    // The server's own refusal (content that contradicts its extension) is shown.
    await page.setInputFiles('#files', [fake]);
    await page.click('#upload-form button[type=submit]');
    await page.waitForFunction(() => /fake\.pdf/.test(document.getElementById('upload-status').textContent)
      && document.getElementById('upload-status').classList.contains('alert-error'));

    // Files dropped on the field are chosen, and go up like picked ones.
    const dropped = await page.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['dropped on the page'], 'dropped.txt', { type: 'text/plain' }));
      return transfer;
    });
    await page.dispatchEvent('#upload-drop', 'drop', { dataTransfer: dropped });
    assert.ok((await page.textContent('#upload-chosen')).includes('dropped.txt'), 'a dropped file is listed');
    await page.click('#upload-form button[type=submit]');
    await page.waitForFunction(() => /uploaded and stamped/.test(document.getElementById('upload-status').textContent));

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
