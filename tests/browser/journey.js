// A new user's whole journey in headless Chromium, by keyboard where a person
// would type: register, sign in, upload three files at once, the dashboard,
// a file's page, download the file, its receipt, token and signature, /verify
// accepts the file and refuses a changed one, an API token, delete, sign out.
// Usage: node journey.js BASE_URL on|off WORKDIR [SCREENSHOT_DIR]
//   on|off: JavaScript. On failure a screenshot of the page is left in WORKDIR;
//   with SCREENSHOT_DIR, the dashboard and a file's proofs are saved there.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const [base, javascript, workdir, screenshots] = process.argv.slice(2);
const withScript = javascript === 'on';
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const name = `journey${withScript ? 'js' : 'plain'}`;
const password = 'a journey password';

(async () => {
  const browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ javaScriptEnabled: withScript, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  let step = 'start';
  try {
    const files = ['minutes.txt', 'budget.csv', 'notes.md'].map((file, i) => {
      const where = path.join(workdir, file);
      fs.writeFileSync(where, `${file}: the ${['first', 'second', 'third'][i]} of three\n`);
      return where;
    });

    step = 'register';
    await page.goto(`${base}/auth/register`);
    await page.focus('#username');
    await page.keyboard.type(name);
    await page.keyboard.press('Tab');
    await page.keyboard.type(`${name}@example.com`);
    await page.keyboard.press('Tab');
    await page.keyboard.type(password);
    await Promise.all([page.waitForURL('**/auth/login'), page.keyboard.press('Enter')]);
    assert.ok((await page.textContent('main')).includes('Your account is ready'));

    step = 'sign in by keyboard';
    await page.focus('#username');
    await page.keyboard.type(name);
    await page.keyboard.press('Tab');
    await page.keyboard.type(password);
    await Promise.all([page.waitForURL('**/dashboard'), page.keyboard.press('Enter')]);

    step = 'upload three files, by keyboard';
    await page.goto(`${base}/upload`);
    // Space on the focused file input opens the chooser. On a loaded machine
    // headless Chromium has been seen to drop the first press, so the key is
    // pressed again (still only the keyboard) before the step counts as failed.
    let chooser;
    for (let attempt = 1; !chooser; attempt++) {
      await page.focus('#files');
      try {
        [chooser] = await Promise.all([
          page.waitForEvent('filechooser', { timeout: 10000 }),
          page.keyboard.press('Space'),
        ]);
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
    await chooser.setFiles(files);
    await page.focus('#upload-form button[type=submit]');
    if (withScript) {
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => /uploaded and stamped/.test(document.getElementById('upload-status').textContent));
      assert.equal(await page.getAttribute('#upload-total', 'value'), '100', 'the progress bar is full');
      await page.goto(`${base}/dashboard`);
    } else {
      await Promise.all([page.waitForURL('**/dashboard'), page.keyboard.press('Enter')]);
      assert.ok((await page.textContent('main')).includes('Uploaded 3 files.'));
    }

    step = 'dashboard';
    const dashboard = await page.textContent('main');
    for (const file of ['minutes.txt', 'budget.csv', 'notes.md']) assert.ok(dashboard.includes(file), `${file} is listed`);
    assert.equal(await page.locator('.proof-status').count(), 3, 'each file shows its proofs at a glance');
    if (screenshots) await page.screenshot({ path: path.join(screenshots, 'dashboard.png') });

    step = 'file page';
    await Promise.all([page.waitForURL(/\/files\/\d+$/), page.click('text=minutes.txt')]);
    const fileUrl = page.url();
    for (let i = 0; i < 50 && !/Transparency log entry \d+ of/.test(await page.textContent('main')); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await page.reload();
    }
    assert.ok(/Transparency log entry \d+ of/.test(await page.textContent('main')), 'the log entry is shown');
    if (screenshots) await page.screenshot({ path: path.join(screenshots, 'file-proofs.png'), fullPage: true });

    step = 'downloads';
    const saved = {};
    for (const [label, file] of [['Download', 'minutes.txt'], ['Download receipt', 'minutes.receipt'],
      ['RFC 3161 time-stamp token', 'minutes.tsr'], ['OpenPGP signature', 'minutes.asc']]) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(`main a:text-is("${label}")`)]);
      saved[file] = path.join(workdir, `saved-${file}`);
      await download.saveAs(saved[file]);
    }
    assert.equal(fs.readFileSync(saved['minutes.txt'], 'utf8'), fs.readFileSync(files[0], 'utf8'), 'the download is the file');
    assert.ok(JSON.parse(fs.readFileSync(saved['minutes.receipt'], 'utf8')).rfc3161, 'the receipt is one');
    assert.ok(fs.readFileSync(saved['minutes.asc'], 'utf8').includes('BEGIN PGP SIGNATURE'));
    assert.ok(fs.statSync(saved['minutes.tsr']).size > 100, 'a time-stamp token');

    step = 'verify';
    const changed = path.join(workdir, 'changed.txt');
    fs.writeFileSync(changed, 'minutes.txt: the first of three, changed afterwards\n');
    for (const [file, expected] of [[saved['minutes.txt'], /^This file existed, unchanged, on /],
      [changed, /^This is not the file this receipt covers\.$/]]) {
      await page.goto(`${base}/verify`);
      await page.setInputFiles('#receipt', saved['minutes.receipt']);
      await page.setInputFiles('#file', file);
      await page.click('main button[type=submit]');
      assert.match((await page.textContent('#verdict-title')).trim(), expected);
    }

    step = 'API token';
    await page.goto(`${base}/settings/tokens`);
    await page.fill('#name', 'journey');
    await Promise.all([page.waitForURL('**/settings/tokens'), page.click('text=Create token')]);
    assert.match(await page.textContent('#new-token'), /sst_/);

    step = 'delete';
    await page.goto(fileUrl);
    await page.click('text=Delete file…');
    await Promise.all([page.waitForURL('**/dashboard'), page.click('main button.button-danger')]);
    const after = await page.textContent('main');
    assert.ok(after.includes('The file was deleted.') && !after.includes('minutes.txt'), 'the file is gone');

    step = 'sign out';
    await Promise.all([page.waitForNavigation(), page.click('text=Sign out')]);
    await page.goto(`${base}/dashboard`);
    assert.match(page.url(), /\/auth\/login/, 'signed out: the dashboard asks to sign in');
    console.log(`journey passed with JavaScript ${javascript}`);
  } catch (error) {
    await page.screenshot({ path: path.join(workdir, `failed-${step.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
    console.error(`failed at step "${step}" (screenshot in ${workdir}):`, error);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
