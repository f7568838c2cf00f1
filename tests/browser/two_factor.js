// Two-factor sign-in with JavaScript off, in headless Chromium at 360 px:
// setting up an authenticator (QR code and key on the page, a code typed to
// confirm, the recovery codes shown), then signing in with the password and
// a code on the page that asks for it, then with a recovery code. Every page
// passes axe-core with no serious or critical violation, and none scrolls
// sideways. The codes are computed here as any authenticator app does
// (RFC 6238: HMAC-SHA1, six digits, 30-second steps).
// Usage: node two_factor.js BASE_URL USERNAME PASSWORD; exits non-zero on failure.
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const { chromium } = require('playwright-core');

const [base, username, password] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

function totp(secret, seconds) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(seconds / 30)));
  const mac = crypto.createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(value).padStart(6, '0');
}

// axe-core needs scripts, which the pages under test run without: each page's
// HTML is audited in a second page of the same origin that runs them.
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
let auditor;
async function check(page, label) {
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
  }));
  assert.ok(scroll <= inner, `${label} is ${scroll} px wide`);
  await auditor.setContent(await page.content(), { waitUntil: 'load' });
  await auditor.evaluate(axeSource);
  const result = await auditor.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id} (${violation.impact})`);
  assert.deepEqual(bad, [], `${label}: accessibility`);
}

async function passwordStep(page) {
  await page.goto(`${base}/auth/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('main button[type=submit]');
}

(async () => {
  const browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 360, height: 800 } });
    const page = await context.newPage();
    const audits = await browser.newContext({ viewport: { width: 360, height: 800 } });
    auditor = await audits.newPage();
    // Same origin as the pages, so that their stylesheet applies.
    await auditor.goto(`${base}/verify`);
    await passwordStep(page);
    await page.waitForURL('**/dashboard');

    // From the account page to the set-up, by its link.
    await page.goto(`${base}/settings/account`);
    await Promise.all([page.waitForURL('**/settings/two-factor'), page.click('text=Two-factor sign-in')]);
    await check(page, 'two-factor, off');
    await Promise.all([page.waitForURL('**/settings/two-factor'), page.click('text=Set up two-factor sign-in')]);
    assert.equal(await page.locator('.qr-code svg').count(), 1, 'the QR code is drawn');
    await check(page, 'two-factor, setting up');
    const secret = (await page.textContent('code.secret')).trim();
    await page.fill('#code', totp(secret, Date.now() / 1000));
    await page.click('text=Turn on two-factor sign-in');
    await page.waitForSelector('text=Your recovery codes');
    const codes = (await page.locator('.recovery-codes code').allTextContents()).map((c) => c.trim());
    assert.equal(codes.length, 10, 'ten recovery codes');
    await check(page, 'two-factor, recovery codes');

    // Signed out, then in again: the password, then the code.
    await page.goto(`${base}/auth/logout`);
    await passwordStep(page);
    await page.waitForSelector('text=Your password is right');
    assert.equal(await page.getAttribute('#code', 'autocomplete'), 'one-time-code');
    await check(page, 'sign-in, second step');
    await page.fill('#code', totp(secret, Date.now() / 1000 + 30));
    await Promise.all([page.waitForURL('**/dashboard'), page.click('main button[type=submit]')]);

    // And with a recovery code, once.
    await page.goto(`${base}/auth/logout`);
    await passwordStep(page);
    await page.waitForSelector('text=Your password is right');
    await page.fill('#code', codes[0]);
    await Promise.all([page.waitForURL('**/dashboard'), page.click('main button[type=submit]')]);
    await page.goto(`${base}/settings/two-factor`);
    assert.ok((await page.textContent('main')).includes('Recovery codes left: 9'), 'one code is spent');
    await check(page, 'two-factor, on');
    await context.close();
    console.log('two-factor browser checks passed');
  } finally {
    await browser.close();
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
