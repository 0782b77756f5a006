// Live output through the real web client (web/index.html): Ann, the
// room's owner, is in a call with camera and microphone and starts the HLS
// stream from the Live panel; the LIVE badge shows in her header. Bob opens
// the panel's viewer link /watch/{room}?pin=<viewer PIN> in another
// browser, signs in, and his <video> plays the stream (currentTime
// advancing, videoWidth > 0) with hls.js: his browser is made one without
// HLS of its own (canPlayType answers '' for HLS), as Firefox and older
// Chromiums are; Cat's Chromium, which plays HLS itself, plays it natively.
// Bob's message in the page's room chat reaches Ann's room chat.
// Ann records, stops, and the recordings list offers the file, whose
// download link answers video/mp4 (an MP4 with an ftyp box). When she
// stops the stream, Bob's page says it is not live. Screenshots land in
// the log directory printed first.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';

import { createRoom, logDir, login, openBrowser, sleep, startServer, waitFor } from './harness.mjs';

const TEST_TIMEOUT = 420000;
const VIEWPORT = { width: 1280, height: 720 };
let server;
const browsers = [];

before(async () => {
  console.error(`screenshots and logs: ${logDir}`);
  server = await startServer();
});

after(async () => {
  for (const b of browsers) await b.close();
  await server?.stop();
});

// initScript: runs in the page before its own scripts.
async function open(name, path, initScript = null) {
  const b = await openBrowser(server, name, '/', { viewport: VIEWPORT });
  browsers.push(b);
  if (initScript) await b.context.addInitScript(initScript);
  await b.page.goto(server.url + path);
  return b;
}

// A TCP port of 127.0.0.1 nobody listens on.
async function closedPort() {
  const s = net.createServer();
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

// A browser that cannot play HLS itself: the viewer page must use hls.js.
function withoutNativeHls() {
  const canPlayType = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return /mpegurl/i.test(type) ? '' : canPlayType.call(this, type);
  };
}

// The <video> of the viewer page playing: frames sized, time advancing.
async function waitForStream(b, who) {
  const first = await waitFor(`${who}’s video to play the stream`, async () => {
    const s = await watchState(b.page);
    return { ok: s.state === 'playing' && s.videoWidth > 0 && !s.paused && s.currentTime > 0, ...s };
  }, 120000);
  const later = await waitFor(`${who}’s video to go on`, async () => {
    const s = await watchState(b.page);
    return { ok: s.currentTime > first.currentTime + 1, ...s };
  }, 60000);
  return { first, later };
}

async function signIn(page, email, name) {
  await page.getByLabel('E-mail or phone number').fill(email);
  await page.getByLabel('Your name (for a new account)').fill(name);
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByLabel('6-digit code').fill('123456');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

// What the viewer page's <video> does: the player used, its size and
// position in the stream, and the page's state.
function watchState(page) {
  return page.evaluate(() => {
    const v = document.querySelector('video.watch-video');
    return {
      state: document.querySelector('.watch')?.dataset.state || null,
      player: v?.dataset.player || null,
      currentTime: v?.currentTime || 0,
      videoWidth: v?.videoWidth || 0,
      videoHeight: v?.videoHeight || 0,
      paused: v ? v.paused : null,
      status: document.querySelector('.watch-status-text')?.textContent || '',
      badge: !!document.querySelector('.watch .live-badge:not([hidden])'),
    };
  });
}

test('a moderator goes live from the call, a viewer watches and chats, a recording downloads', { timeout: TEST_TIMEOUT }, async (t) => {
  t.diagnostic(`screenshots and logs: ${logDir}`);
  const annToken = await login(server, 'ann@example.com', 'Ann');
  const room = await createRoom(server, annToken, 'Launch party', { preset: 'vga' });

  // Ann signs in and joins her room with camera and microphone.
  const ann = await open('live-ann', `/r/${room.id}`);
  await ann.page.waitForURL(/\/signin\?next=/);
  await signIn(ann.page, 'ann@example.com', 'Ann');
  await ann.page.waitForURL((url) => url.pathname === `/r/${room.id}`);
  await ann.page.getByLabel('Your name').fill('Ann');
  await ann.page.getByRole('button', { name: 'Join', exact: true }).click();
  await ann.page.locator('.conference').waitFor();
  const liveBadge = ann.page.locator('.conf-header .live-badge');
  const recBadge = ann.page.locator('.conf-header .rec-badge');
  assert.equal(await liveBadge.isVisible(), false, 'LIVE before anything started');

  // The Live panel: keyboard reachable, labelled controls.
  const liveButton = ann.page.getByRole('button', { name: /^Live streaming and recording/ });
  await liveButton.focus();
  await ann.page.keyboard.press('Enter');
  const panel = ann.page.getByRole('dialog', { name: 'Live streaming and recording' });
  await panel.waitFor();
  await panel.getByRole('radio', { name: 'Grid' }).waitFor();
  assert.equal(await panel.getByRole('radio', { name: 'Grid' }).isChecked(), true);
  await panel.getByLabel('RTMP URL (with the stream key)').waitFor();
  assert.equal(await panel.locator('#live-state-hls').textContent(), 'Off');

  // A bad RTMP URL is refused in the panel, nothing starts.
  await panel.getByLabel('RTMP URL (with the stream key)').fill('http://example.com/live');
  await panel.getByRole('button', { name: 'Start RTMP stream' }).click();
  await panel.locator('.live-rtmp .live-error', { hasText: 'rtmp://' }).waitFor();
  assert.equal(await panel.locator('#live-state-rtmp').textContent(), 'Off');

  // Speaker layout, then HLS.
  await panel.getByRole('radio', { name: 'Speaker' }).check();
  await waitFor('the server to have the speaker layout', async () => {
    const res = await fetch(`${server.url}/api/v1/rooms/${room.id}/live`, { headers: { Authorization: `Bearer ${annToken}` } });
    const live = await res.json();
    return { ok: live.layout === 'speaker', live };
  });
  assert.equal(await panel.getByRole('radio', { name: 'Speaker' }).isChecked(), true);
  await panel.getByRole('button', { name: 'Start HLS stream' }).click();
  await liveBadge.waitFor({ state: 'visible', timeout: 90000 });
  await waitFor('the HLS state to say live', async () =>
    /^Live/.test(await panel.locator('#live-state-hls').textContent()));
  const viewerLink = await panel.getByRole('textbox', { name: 'Viewer link' }).inputValue();
  assert.equal(viewerLink, `${server.url}/watch/${room.id}?pin=${room.viewer_pin}`);
  await sleep(300);
  await ann.screenshot('live-ann-streaming');

  // Bob follows the viewer link: sign-in first, then the stream plays.
  const viewerPath = new URL(viewerLink).pathname + new URL(viewerLink).search;
  const bob = await open('live-bob', viewerPath, withoutNativeHls);
  await bob.page.waitForURL(/\/signin\?next=/);
  await signIn(bob.page, 'bob@example.com', 'Bob');
  await bob.page.waitForURL((url) => url.href === viewerLink);
  await bob.page.locator('.watch').waitFor();
  const { first, later } = await waitForStream(bob, 'Bob');
  t.diagnostic(`Bob plays ${later.videoWidth}x${later.videoHeight} with ${later.player}; ` +
    `currentTime ${first.currentTime.toFixed(2)} -> ${later.currentTime.toFixed(2)}`);
  assert.equal(later.player, 'hls.js');
  assert.ok(later.badge, 'the LIVE badge shows on the viewer page while it plays');
  assert.equal(await bob.page.getByRole('heading', { name: 'Launch party' }).count(), 1);

  // Bob writes in the room chat; Ann reads it in her call's room chat.
  const bobChat = bob.page.locator('.watch-chat');
  await bobChat.getByRole('textbox', { name: 'Message' }).fill('Hello from the audience!');
  await bobChat.getByRole('button', { name: 'Send' }).click();
  await bobChat.getByText('Hello from the audience!').waitFor();
  await sleep(500);
  await bob.screenshot('live-bob-watching');

  // Cat's Chromium plays HLS itself (where it says it can).
  const cat = await open('live-cat', viewerPath);
  await cat.page.waitForURL(/\/signin\?next=/);
  await signIn(cat.page, 'cat@example.com', 'Cat');
  await cat.page.waitForURL((url) => url.href === viewerLink);
  const native = await cat.page.evaluate(() => document.createElement('video').canPlayType('application/vnd.apple.mpegurl'));
  const catPlays = await waitForStream(cat, 'Cat');
  t.diagnostic(`Cat's canPlayType for HLS: '${native}'; she plays ${catPlays.later.videoWidth}x${catPlays.later.videoHeight} with ${catPlays.later.player}`);
  assert.equal(catPlays.later.player, native ? 'native' : 'hls.js');
  await cat.screenshot('live-cat-watching');
  await cat.close();
  browsers.splice(browsers.indexOf(cat), 1);
  await ann.page.keyboard.press('Escape'); // the panel closes
  await ann.page.getByRole('button', { name: /^Chat \(1 unread\)/ }).waitFor();
  await ann.page.getByRole('button', { name: /^Chat($| \()/ }).click();
  await ann.page.locator('#side-chat-room').getByText('Hello from the audience!').waitFor();
  // Bob became a member after Ann's chat opened: his name is looked up.
  await ann.page.locator('#side-chat-room .msg-sender', { hasText: 'Bob' }).waitFor();

  // Ann records for a few seconds and stops.
  await liveButton.click();
  await panel.waitFor();
  await panel.getByText('No recordings yet.').waitFor();
  await panel.getByRole('button', { name: 'Start recording' }).click();
  await recBadge.waitFor({ state: 'visible', timeout: 90000 });
  await sleep(4000); // something to record
  await ann.screenshot('live-ann-recording');
  await panel.getByRole('button', { name: 'Stop recording' }).click();
  await recBadge.waitFor({ state: 'hidden', timeout: 90000 });
  const download = panel.getByRole('link', { name: /^Download the recording of / });
  await download.waitFor({ timeout: 60000 });
  assert.equal(await download.count(), 1);
  const href = await download.getAttribute('href');
  const res = await fetch(href);
  assert.equal(res.status, 200, `GET ${href.replace(/token=[^&]+/, 'token=…')}`);
  assert.equal(res.headers.get('content-type'), 'video/mp4');
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.ok(bytes.length > 1000, `a recording of ${bytes.length} bytes`);
  assert.equal(bytes.subarray(4, 8).toString('latin1'), 'ftyp', 'an MP4 file');
  const meta = await panel.locator('.recording .recording-meta').first().textContent();
  t.diagnostic(`recording: ${bytes.length} bytes, listed as "${meta}"`);
  await download.scrollIntoViewIfNeeded();
  await sleep(300);
  await ann.screenshot('live-ann-recordings');

  // An RTMP server that is not there: the panel shows the retries and why,
  // the masked target, and the HLS stream plays on.
  const rtmpUrl = `rtmp://127.0.0.1:${await closedPort()}/live/secret-stream-key`;
  await panel.getByLabel('RTMP URL (with the stream key)').fill(rtmpUrl);
  await panel.getByRole('button', { name: 'Start RTMP stream' }).click();
  const retrying = await waitFor('the RTMP state to show a retry and why', async () => {
    const text = await panel.locator('#live-state-rtmp').textContent();
    const why = await panel.locator('#live-detail-rtmp').textContent();
    return { ok: /^Retrying in \d+ s$/.test(text) && why.length > 0, text, why };
  }, 90000);
  t.diagnostic(`RTMP: "${retrying.text}": "${retrying.why}"`);
  const target = await panel.locator('.live-target').textContent();
  assert.ok(!target.includes('secret-stream-key') && target.startsWith('Pushing to rtmp://127.0.0.1:'), target);
  assert.equal(await panel.getByRole('button', { name: 'Stop RTMP stream' }).count(), 1);
  assert.ok(await liveBadge.isVisible(), 'HLS is still live');
  await panel.locator('.live-rtmp').scrollIntoViewIfNeeded();
  await sleep(300);
  await ann.screenshot('live-ann-rtmp-retrying');
  await panel.getByRole('button', { name: 'Stop RTMP stream' }).click();
  await waitFor('the RTMP state to be off', async () =>
    (await panel.locator('#live-state-rtmp').textContent()) === 'Off');

  // Ann stops the stream: the badge goes, Bob's page waits for the next one.
  await panel.getByRole('button', { name: 'Stop HLS stream' }).click();
  await liveBadge.waitFor({ state: 'hidden', timeout: 60000 });
  await waitFor('Bob\u2019s page to say it is not live', async () => {
    const s = await watchState(bob.page);
    return { ok: s.state === 'offline' && s.status === 'Not live yet' && !s.badge, ...s };
  }, 90000);
  await sleep(300);
  await bob.screenshot('live-bob-offline');
});
