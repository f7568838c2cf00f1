// The pages at phone widths and without JavaScript, in headless Chromium:
// nothing scrolls sideways at 360 and 320 px and every file's Download stays on
// screen; times show in the viewer's zone with UTC on hover. With JavaScript
// off: a new token is shown once, the file page offers its receipt first,
// /verify says plainly when a file is not the receipt's, and deleting a file
// asks first. Every page passes axe-core with no serious or critical
// violation.
// Usage: node layout.js BASE_URL USERNAME PASSWORD FILE_ID; exits non-zero on failure.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const [base, username, password, fileId] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

// axe-core, run inside each page: no serious or critical violation allowed.
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
async function audit(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
  assert.deepEqual(bad, [], `${label}: accessibility`);
}

async function signIn(page) {
  await page.goto(`${base}/auth/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL('**/dashboard'), page.click('main button[type=submit]')]);
}

(async () => {
  const browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    // Before signing in.
    for (const width of [1280, 360]) {
      const context = await browser.newContext({ viewport: { width, height: 800 } });
      const page = await context.newPage();
      for (const path of ['/', '/auth/login', '/auth/register', '/verify', '/missing']) {
        await page.goto(`${base}${path}`);
        const { scroll, inner } = await page.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          inner: window.innerWidth,
        }));
        assert.ok(scroll <= inner, `${path} at ${width} px is ${scroll} px wide`);
        await audit(page, `${path} at ${width} px`);
      }
      await context.close();
    }

    const paths = ['/dashboard', '/files', `/files/${fileId}`, `/files/${fileId}/delete`, '/settings/tokens',
      '/settings/account', '/settings/account/delete', '/settings/two-factor', '/settings/sessions', '/settings/activity',
      '/verify', '/upload'];
    for (const width of [1280, 360, 320]) {
      const context = await browser.newContext({ viewport: { width, height: 800 } });
      const page = await context.newPage();
      await signIn(page);
      for (const path of paths) {
        await page.goto(`${base}${path}`);
        const { scroll, inner } = await page.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          inner: window.innerWidth,
        }));
        assert.ok(scroll <= inner, `${path} at ${width} px is ${scroll} px wide`);
        for (const link of await page.locator('.file-actions a').all()) {
          const box = await link.boundingBox();
          assert.ok(box && box.x >= 0 && box.x + box.width <= inner, `${path} at ${width} px hides a Download link`);
        }
        await audit(page, `${path} at ${width} px`);
      }
      // With JavaScript, a new token has a Copy button that copies it.
      if (width === 1280) {
        await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
        await page.goto(`${base}/settings/tokens`);
        await page.fill('#name', 'copied');
        await Promise.all([page.waitForURL('**/settings/tokens'), page.click('text=Create token')]);
        const token = (await page.textContent('#new-token')).trim();
        await page.click('text=Copy the token');
        await page.waitForFunction(() => /Copied/.test(document.querySelector('button[data-copy]').textContent));
        assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token, 'Copy copies the token');
      }
      // With JavaScript, times are the viewer's; the UTC text is on hover.
      await page.goto(`${base}/files/${fileId}`);
      const title = await page.getAttribute('dd time', 'title');
      assert.ok(title && title.endsWith('UTC'), `the stated UTC time stays on hover, got ${title}`);
      await context.close();
    }

    // Without JavaScript, at 360 px.
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 360, height: 800 } });
    const page = await context.newPage();
    await signIn(page);

    // A new token is shown once, after a redirect: a reload shows it no more.
    await page.goto(`${base}/settings/tokens`);
    await page.fill('#name', 'phone');
    await Promise.all([page.waitForURL('**/settings/tokens'), page.click('text=Create token')]);
    assert.ok((await page.textContent('main')).includes('Your new token'), 'the token is shown');
    await page.reload();
    assert.ok(!(await page.textContent('main')).includes('Your new token'), 'and only once');

    // The file page offers the receipt first; /verify says plainly that
    // another file is not the receipt's.
    await page.goto(`${base}/files/${fileId}`);
    const text = await page.textContent('main');
    assert.ok(text.indexOf('Download receipt') < text.indexOf('RFC 3161 time-stamp token'), 'the receipt comes first');
    let receipt;
    for (let i = 0; i < 50; i += 1) {
      receipt = await page.request.get(`${base}/files/${fileId}/receipt`);
      if (receipt.status() === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(receipt.status(), 200);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'layout-'));
    fs.writeFileSync(path.join(work, 'file.receipt'), await receipt.body());
    fs.writeFileSync(path.join(work, 'other.txt'), 'not the file the receipt covers');
    await page.goto(`${base}/verify`);
    await page.setInputFiles('#receipt', path.join(work, 'file.receipt'));
    await page.setInputFiles('#file', path.join(work, 'other.txt'));
    await page.click('main button[type=submit]');
    const verdict = await page.textContent('#verdict-title');
    assert.equal(verdict.trim(), 'This is not the file this receipt covers.');
    assert.ok(!/assertion|left == right|panicked/.test(await page.textContent('main')), 'no internal text');
    fs.rmSync(work, { recursive: true });

    // Delete asks on a page of its own, then deletes.
    await page.goto(`${base}/files/${fileId}`);
    await Promise.all([page.waitForURL(`**/files/${fileId}/delete`), page.click('text=Delete file…')]);
    assert.ok((await page.textContent('h1')).includes('?'), 'the page asks');
    await Promise.all([page.waitForURL('**/dashboard'), page.click('main button.button-danger')]);
    assert.ok((await page.textContent('main')).includes('The file was deleted.'), 'and says it is done');
    await context.close();
    console.log('browser layout checks passed');
  } finally {
    await browser.close();
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
