// Drives erpsync's console in Debian's chromium, as an operator would:
// sees the failed bills with their reason, clears the sandbox's fault,
// replays them from the page and sees them resolved. Run by
// TestIntegrationConsoleBrowser (tests/console), which starts erpsync on
// the sandbox and checks the sandbox's truth afterwards. Screenshots go to
// $SHOTS. Prints one JSON line: {"replayed": [source ids], ...}.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const consoleURL = process.env.CONSOLE_URL;
const sandboxURL = process.env.SANDBOX_URL;
const stream = process.env.STREAM;
const shots = process.env.SHOTS;
mkdirSync(shots, { recursive: true });

const fail = (msg) => { console.error('FAIL: ' + msg); process.exit(1); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const result = {};
try {
  const ctx = await browser.newContext({ locale: 'en-GB', viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => fail('page error: ' + e.message));
  const shot = (name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });

  // Streams: the stream's card with its dead letters.
  await page.goto(consoleURL);
  const card = page.locator(`.card[data-stream="${stream}"]`);
  await card.waitFor();
  await page.waitForFunction((s) => {
    const c = document.querySelector(`.card[data-stream="${s}"] .state`);
    return c && c.classList.contains('waiting');
  }, stream, { timeout: 60000 });
  const cardText = await card.innerText();
  if (!/dead-lettered/.test(cardText)) fail('the stream card shows no dead-letter count: ' + cardText);
  await shot('01-streams');

  // Dead letters of the stream, with the reason K3Cloud gave.
  await page.click('button[data-tab="dead"]');
  await page.selectOption('#f-stream', stream);
  const rows = page.locator('#dl-table tbody tr[data-id]');
  await rows.first().waitFor();
  const n = await rows.count();
  const reasons = await page.locator('#dl-table tbody td.reason').allInnerTexts();
  if (!reasons.some((r) => r.includes('未通过业务规则校验'))) fail('no row shows the K3Cloud refusal: ' + reasons.slice(0, 3).join(' | '));
  const ids = await page.locator('#dl-table tbody tr[data-id] td.col-source').allInnerTexts();
  result.failed = ids;
  await shot('02-dead-letters');

  // One opened: reason, source document, what K3Cloud refused.
  await rows.first().click();
  await page.locator('#dl-detail pre').first().waitFor();
  const detail = await page.locator('#dl-detail').innerText();
  if (!detail.includes('io_id') || !detail.includes('FBillNo')) fail('the detail lacks the source document or the target payload');
  await shot('03-detail');

  // The cause is fixed: K3Cloud accepts the rows again.
  const r = await fetch(sandboxURL + '/_sandbox/faults', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ row_fail_rate: 0 }) });
  if (!r.ok) fail('clearing the fault: HTTP ' + r.status);

  // Replay them all from the page, and see them resolved.
  await page.click('#replay-all');
  await page.locator('.job[data-state="done"]').first().waitFor({ timeout: 120000 });
  await page.waitForFunction(() => document.querySelectorAll('#dl-table tbody tr[data-id]').length === 0, null, { timeout: 60000 });
  await shot('04-replayed');
  await page.selectOption('#f-status', 'resolved');
  await page.waitForFunction((k) => document.querySelectorAll('#dl-table tbody tr[data-id]').length === k, n, { timeout: 30000 });
  const statuses = await page.locator('#dl-table tbody td.col-status').allInnerTexts();
  if (statuses.some((s) => s.trim() !== 'resolved')) fail('not every replayed dead letter shows resolved: ' + statuses.join(','));
  result.replayed = await page.locator('#dl-table tbody tr[data-id] td.col-source').allInnerTexts();
  await shot('05-resolved');

  // Records: where did the bill go?
  await page.click('button[data-tab="records"]');
  await page.fill('#r-q', result.replayed[0]);
  await page.click('#r-go');
  const rec = page.locator('#r-table tbody tr', { hasText: 'created' });
  await rec.first().waitFor();
  const recText = await page.locator('#r-table tbody').innerText();
  if (!recText.includes(result.replayed[0]) || !recText.includes('SAL_OUTSTOCK')) fail('the record search shows: ' + recText);
  await shot('06-records');

  // Checkpoints tab.
  await page.click('button[data-tab="checkpoints"]');
  await page.locator('#c-table tbody tr').first().waitFor();
  const cp = await page.locator('#c-table tbody').innerText();
  if (!cp.includes(stream)) fail('the checkpoints tab lacks the stream: ' + cp);
  await shot('07-checkpoints');

  // Chinese labels for a Chinese browser.
  const zh = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1440, height: 900 } });
  const zp = await zh.newPage();
  await zp.goto(consoleURL + '#dead');
  await zp.locator('button[data-tab="dead"]', { hasText: '死信' }).waitFor();
  await zp.selectOption('#f-status', 'resolved');
  await zp.locator('#dl-table tbody tr[data-id]').first().waitFor();
  const zhText = await zp.locator('body').innerText();
  if (!zhText.includes('已解决') || !zhText.includes('重放所选')) fail('the Chinese page lacks its labels');
  await zp.screenshot({ path: `${shots}/08-zh-dead-letters.png`, fullPage: true });
  await zp.goto(consoleURL);
  await zp.locator(`.card[data-stream="${stream}"]`).waitFor();
  await zp.screenshot({ path: `${shots}/09-zh-streams.png`, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
