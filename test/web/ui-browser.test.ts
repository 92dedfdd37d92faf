// The web UI in a real browser (Debian's chromium, driven by playwright-core, headless): sign in,
// search, facets, histogram drag, rows, context, live tail with pause, URL state and the back
// button, `/`, export, a failing histogram, and log text that tries to be HTML or script.
//
// Screenshots go to dist/screenshots/ (or $SLUICE_SCREENSHOT_DIR).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startApi, type TestApi } from '../helpers/api.js';
import { REPO } from '../helpers/daemon.js';
import { WebTestStore } from '../helpers/web-store.js';
import { tempDir, waitFor } from '../helpers/wait.js';

// Page-side code below runs in the browser; these names exist there (the build has no DOM lib).
declare const document: any, window: any, location: any;

const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = process.env.SLUICE_SCREENSHOT_DIR ?? path.join(REPO, 'dist', 'screenshots');
const XSS_IMG = '<img src=x onerror="window.__xss=1">';
const XSS_SCRIPT = '<script>window.__xss=2</script>';
const XSS_APP = '<svg onload="window.__xss=3">';

const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium && process.env.SLUICE_REQUIRE_ALL === '1') throw new Error(`SLUICE_REQUIRE_ALL=1: ${CHROMIUM} is missing (apt-get install chromium)`);

// Reason: a developer machine may lack chromium; under SLUICE_REQUIRE_ALL=1 (CI) the line above fails instead.
describe('web UI in chromium', { skip: haveChromium ? false : `${CHROMIUM} is not installed (apt-get install chromium; .ci/run does)` }, () => {
  let store: WebTestStore;
  let t: TestApi;
  let ctx: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];

  const rowMessages = () => page.$$eval('#rows > li.row .msg', (els) => els.map((e) => e.textContent ?? ''));
  const rowHosts = () => page.$$eval('#rows > li.row .host', (els) => els.map((e) => e.textContent ?? ''));
  const waitRows = () => page.waitForFunction(() => document.querySelectorAll('#rows > li.row').length > 0 && document.getElementById('summary')!.textContent !== 'searching…');

  before(async () => {
    const now = Date.now();
    const specs = [];
    for (let i = 0; i < 240; i++) {
      specs.push({ time: now - (240 - i) * 14_000, host: `web-0${(i % 3) + 1}`, app: ['nginx', 'sshd', 'cron'][i % 3 === 0 ? 0 : i % 2 ? 1 : 2]!, severity: i % 8 === 0 ? 3 : 6, message: `GET /item/${i} ${i % 8 === 0 ? 'failed' : 'ok'} in ${i % 50} ms`, sd: { 'req@1': { id: `r${i}` } } });
    }
    specs.push({ time: now - 5000, host: 'evil', app: 'x', message: XSS_IMG });
    specs.push({ time: now - 4000, host: 'evil', app: XSS_APP, message: XSS_SCRIPT });
    store = await WebTestStore.open();
    await store.add(specs);
    t = await startApi(store.reader);
    ctx = await chromium.launchPersistentContext(tempDir('chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      viewport: { width: 1400, height: 900 },
    });
    // Installed by the browser driver, outside the page's CSP: records every violation report.
    await ctx.addInitScript(() => {
      (window as unknown as { __csp: string[] }).__csp = [];
      document.addEventListener('securitypolicyviolation', (e: any) => (window as unknown as { __csp: string[] }).__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  });
  after(async () => {
    await ctx?.close();
    await t?.stop();
    await store?.close();
  });

  it('without a session shows the sign-in form; the printed token signs in', async () => {
    const r = await page.goto(`${t.url}/?since=1h`);
    assert.equal(r!.status(), 401);
    assert.ok(await page.isVisible('#login'));
    await page.fill('#token', 'slc_not-a-token');
    await page.click('#login button');
    await page.waitForFunction(() => document.getElementById('login-error')!.textContent !== '');
    assert.match((await page.textContent('#login-error'))!, /not valid/);
    await page.fill('#token', t.admin);
    await page.click('#login button');
    await page.waitForSelector('#q');
    await waitRows();
    assert.match((await page.textContent('#who'))!, /admin \(admin\)/);
    const cookies = await ctx.cookies();
    const c = cookies.find((x) => x.name === 'sluice_session')!;
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is not readable by scripts');
  });

  it('log text that looks like HTML or script is shown as text and runs nothing', async () => {
    const msgs = await rowMessages();
    assert.ok(msgs.includes(XSS_IMG), 'the <img> message is shown literally');
    assert.ok(msgs.includes(XSS_SCRIPT), 'the <script> message is shown literally');
    assert.equal(await page.$$eval('#rows img, #rows script, #rows svg', (els) => els.length), 0, 'no element made from log text');
    await page.waitForSelector('#facets .facet[data-field="app"] .facet-value');
    const apps = await page.$$eval('#facets .facet[data-field="app"] .v', (els) => els.map((e) => e.textContent));
    assert.ok(apps.includes(XSS_APP), `the facet shows the app name as text: ${apps}`);
    assert.equal(await page.$$eval('#facets svg, #facets img', (els) => els.length), 0);
    // Expanding the rows puts the text in more places (fields table, JSON).
    for (const m of [XSS_IMG, XSS_SCRIPT]) {
      await page.locator('#rows > li.row .line', { hasText: m }).first().click();
    }
    assert.equal(await page.$$eval('#rows img, #rows script, #rows svg', (els) => els.length), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined, 'no injected script set the flag');
    assert.deepEqual(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp), [], 'nothing even tried (no CSP violation)');
  });

  it('search: the query box runs a query, the URL holds it', async () => {
    await page.fill('#q', 'failed');
    await page.press('#q', 'Enter');
    await page.waitForFunction(() => location.search.includes('q=failed'));
    await waitRows();
    const msgs = await rowMessages();
    assert.equal(msgs.length, 30);
    assert.ok(msgs.every((m) => / failed /.test(m)), 'every row matches');
    assert.match(page.url(), /since=1h/);
  });

  it('histogram and facets appear after the results', async () => {
    await page.waitForSelector('#histogram canvas');
    await page.waitForFunction(() => /30 events/.test(document.getElementById('hist-status')!.textContent ?? ''));
    await page.waitForSelector('#facets .facet[data-field="host"] .facet-value');
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'search.png') });
  });

  it('a facet click adds field:value; ctrl-click adds -field:value', async () => {
    await page.click('#facets .facet[data-field="host"] .facet-value[data-value="web-02"]');
    await page.waitForFunction(() => (document.getElementById('q')).value === 'failed host:web-02');
    await waitRows();
    const hosts = await rowHosts();
    assert.ok(hosts.length > 0 && hosts.every((h) => h === 'web-02'), hosts.join(','));
    await page.waitForSelector('#facets .facet[data-field="app"] .facet-value');
    const app = (await page.getAttribute('#facets .facet[data-field="app"] .facet-value', 'data-value'))!;
    await page.click(`#facets .facet[data-field="app"] .facet-value[data-value="${app}"]`, { modifiers: ['Control'] });
    await page.waitForFunction((a) => (document.getElementById('q')).value === `failed host:web-02 -app:${a}`, app);
  });

  it('the back button restores the previous query and its results', async () => {
    await page.goBack();
    await page.waitForFunction(() => (document.getElementById('q')).value === 'failed host:web-02');
    await page.goBack();
    await page.waitForFunction(() => (document.getElementById('q')).value === 'failed');
    await page.waitForFunction(() => document.querySelectorAll('#rows > li.row').length === 30);
    assert.ok(new Set(await rowHosts()).size > 1);
  });

  it('`/` focuses the search box', async () => {
    await page.click('#summary');
    assert.notEqual(await page.evaluate(() => document.activeElement?.id), 'q');
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'q');
    assert.equal(await page.inputValue('#q'), 'failed', 'the slash was not typed into the box');
  });

  it('a row expands to the whole event; "show context" lists its neighbours on the same host', async () => {
    const first = page.locator('#rows > li.row').first();
    const seq = await first.getAttribute('data-seq');
    await first.locator('.line').click();
    await first.locator('.details').waitFor();
    const fieldNames = await first.locator('.fields th').allTextContents();
    for (const f of ['seq', 'host', 'app', 'severity', 'source', 'sd.req@1.id']) assert.ok(fieldNames.includes(f), `field ${f} in ${fieldNames}`);
    assert.match((await first.locator('pre.json').textContent())!, /"structured_data"/);
    await first.locator('button.ctx', { hasText: 'same host' }).click();
    await first.locator('.context li.target').waitFor();
    assert.equal(await first.locator('.context li.target').getAttribute('data-seq'), seq);
    const ctxHosts = await first.locator('.context .host').allTextContents();
    assert.ok(ctxHosts.length > 5 && new Set(ctxHosts).size === 1, ctxHosts.join(','));
    assert.ok(!(await first.locator('.context .msg').allTextContents()).every((m) => / failed /.test(m)), 'context is not limited to the query');
  });

  it('dragging on the histogram narrows the range (absolute, in the URL)', async () => {
    const box = (await page.locator('#histogram .u-over').boundingBox())!;
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.5, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.7, y, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.9, y, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => location.search.includes('from='));
    assert.equal(await page.inputValue('#range'), 'custom');
    const u = new URL(page.url());
    const from = Date.parse(u.searchParams.get('from')!), to = Date.parse(u.searchParams.get('to')!);
    assert.ok(to > from && to - from < 3600_000, 'a narrower range than the hour');
    await page.waitForFunction(() => document.getElementById('summary')!.textContent !== 'searching…');
    const times = await page.$$eval('#rows > li.row .time', (els) => els.map((e) => Date.parse(e.textContent!.replace(' ', 'T') + 'Z')));
    assert.ok(times.every((x) => x >= from - 1 && x < to), 'every row inside the dragged range');
  });

  it('the range picker takes an absolute from/to (UTC) and puts it in the URL', async () => {
    await page.selectOption('#range', 'custom');
    await page.waitForSelector('#absolute:not([hidden])');
    const from = new Date(Date.now() - 20 * 60_000), to = new Date(Date.now() - 10 * 60_000);
    await page.fill('#from', from.toISOString().slice(0, 19));
    await page.fill('#to', to.toISOString().slice(0, 19));
    await page.fill('#q', '');
    await page.click('#go');
    await page.waitForFunction((f) => new URL(location.href).searchParams.get('from') === f, from.toISOString().slice(0, 19) + '.000Z');
    await page.waitForFunction(() => document.getElementById('summary')!.textContent !== 'searching…');
    const times = await page.$$eval('#rows > li.row .time', (els) => els.map((e) => Date.parse(e.textContent!.replace(' ', 'T') + 'Z')));
    const lo = Math.floor(from.getTime() / 1000) * 1000, hi = Math.floor(to.getTime() / 1000) * 1000;
    assert.ok(times.length >= 40 && times.length <= 45, `about 10 minutes of events at one per 14 s: ${times.length}`);
    assert.ok(times.every((x) => x >= lo && x < hi));
  });

  it('live tail shows arriving events; pause holds them and keeps the rows where they are', async () => {
    await page.selectOption('#range', '1h');
    await page.fill('#q', '');
    await page.press('#q', 'Enter');
    await page.waitForFunction(() => !location.search.includes('q=') && location.search.includes('since=1h'));
    await waitRows();
    await page.click('#tail-toggle');
    await page.waitForSelector('#pause:not([hidden])');
    // The tail starts after the newest row shown; store an event and watch it arrive on top.
    await waitFor(() => true, 'noop', 10);
    await store.add([{ message: 'tail arrival one', host: 'web-09' }]);
    await page.waitForFunction(() => document.querySelector('#rows > li.row .msg')?.textContent === 'tail arrival one', null, { timeout: 10_000 });
    await page.click('#pause');
    const before = await rowMessages();
    await store.add([{ message: 'tail arrival two', host: 'web-09' }, { message: 'tail arrival three', host: 'web-09' }]);
    await page.waitForFunction(() => /2 new events \(paused\)/.test(document.getElementById('tail-buffer')!.textContent ?? ''), null, { timeout: 10_000 });
    assert.deepEqual(await rowMessages(), before, 'nothing moved while paused');
    await page.click('#tail-buffer');
    await page.waitForFunction(() => document.querySelector('#rows > li.row .msg')?.textContent === 'tail arrival three');
    assert.deepEqual((await rowMessages()).slice(0, 3), ['tail arrival three', 'tail arrival two', 'tail arrival one']);
    // Scrolled away from the top (reading older rows): new events wait too.
    await page.evaluate(() => { document.getElementById('results')!.scrollTop = 200; });
    const top = await page.evaluate(() => document.getElementById('results')!.scrollTop);
    assert.ok(top > 0);
    const firstVisible = await page.evaluate(() => document.elementFromPoint(300, document.getElementById('results')!.getBoundingClientRect().top + 5)?.closest('li.row')?.getAttribute('data-seq'));
    await store.add([{ message: 'tail arrival four', host: 'web-09' }]);
    await page.waitForFunction(() => /1 new event/.test(document.getElementById('tail-buffer')!.textContent ?? ''), null, { timeout: 10_000 });
    const stillVisible = await page.evaluate(() => document.elementFromPoint(300, document.getElementById('results')!.getBoundingClientRect().top + 5)?.closest('li.row')?.getAttribute('data-seq'));
    assert.equal(stillVisible, firstVisible, 'the row being read did not move');
    await page.click('#tail-toggle');
  });

  it('export: the link carries the query and range and downloads the whole result', async () => {
    await page.fill('#q', 'failed');
    await page.press('#q', 'Enter');
    await page.waitForFunction(() => location.search.includes('q=failed'));
    await waitRows();
    const href = (await page.getAttribute('#export-ndjson', 'href'))!;
    assert.match(href, /format=ndjson/);
    assert.match(href, /q=failed/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-ndjson')]);
    const file = await download.path();
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, 30);
    assert.ok(lines.every((l) => / failed /.test(JSON.parse(l).message)));
  });

  it('a failing histogram does not blank the results', async () => {
    // The real store does not fail on demand: the test's reader wrapper makes hits() throw.
    store.reader.failHits = true;
    try {
      await page.fill('#q', 'ok');
      await page.press('#q', 'Enter');
      await page.waitForFunction(() => /histogram unavailable/.test(document.getElementById('hist-status')!.textContent ?? ''));
      const msgs = await rowMessages();
      assert.equal(msgs.length, 100, 'the first page of results is there');
      assert.ok(msgs.every((m) => / ok /.test(m)));
    } finally {
      store.reader.failHits = false;
    }
  });

  it('a query error shows the column and keeps the page usable', async () => {
    await page.fill('#q', 'ok nosuch:x');
    await page.press('#q', 'Enter');
    await page.waitForFunction(() => /column \d+/.test(document.getElementById('notices')!.textContent ?? ''));
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    assert.deepEqual(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp), []);
  });
});
