// The pages at phone widths and without JavaScript, in headless Chromium:
// nothing scrolls sideways at 360 and 320 px and every file's Download stays on
// screen; times show in the viewer's zone with UTC on hover; deleting a file
// asks first and works with JavaScript off.
// Usage: node layout.js BASE_URL USERNAME PASSWORD FILE_ID; exits non-zero on failure.
'use strict';
const assert = require('node:assert/strict');
const { chromium } = require('playwright-core');

const [base, username, password, fileId] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

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
    const paths = ['/dashboard', '/files', `/files/${fileId}`, `/files/${fileId}/delete`, '/settings/tokens', '/verify', '/upload'];
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
      }
      // With JavaScript, times are the viewer's; the UTC text is on hover.
      await page.goto(`${base}/files/${fileId}`);
      const title = await page.getAttribute('dd time', 'title');
      assert.ok(title && title.endsWith('UTC'), `the stated UTC time stays on hover, got ${title}`);
      await context.close();
    }

    // Without JavaScript: Delete asks on a page of its own, then deletes.
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 360, height: 800 } });
    const page = await context.newPage();
    await signIn(page);
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
