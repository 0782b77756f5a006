// The web client in Firefox: Debian's Firefox ESR, driven by puppeteer-core
// over WebDriver BiDi (Playwright cannot drive a stock Firefox), with a fake
// camera and microphone and ICE on loopback. Ann owns a room (REST); Bob
// opens its participant invite link in Firefox, signs in through the UI,
// goes through the pre-join screen and joins. A zumzi-bot publisher, signed
// in as Ann, joins too: Firefox plays its camera (a sized <video> in the
// bot's tile and inbound framesDecoded > 0 in getStats), the bot decodes
// Firefox's camera and microphone (its report), and a room chat message
// written in Firefox reaches Ann (the room's history as she reads it).
// Screenshots land in the log directory printed first.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { createRoom, logDir, login, recordPeerConnections, runBot, sleep, startServer, waitFor } from './harness.mjs';

let puppeteer;
try {
  ({ default: puppeteer } = await import('puppeteer-core'));
} catch (e) {
  throw new Error(`puppeteer-core is missing (run tools/setup, which runs npm ci): ${e.message}`);
}

const firefoxPath = process.env.ZUMZI_FIREFOX || '/usr/bin/firefox-esr';
if (!fs.existsSync(firefoxPath))
  throw new Error(`no Firefox at ${firefoxPath} (run tools/setup, or set ZUMZI_FIREFOX)`);

const TEST_TIMEOUT = 300000;
let server;
let browser;
let profile;
let consoleLog;

// Fake camera and microphone without a permission prompt, host candidates
// on 127.0.0.1 as they are (no mDNS names), media that plays without a
// user gesture, and nothing that phones home.
const firefoxPrefs = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.peerconnection.ice.default_address_only': false,
  'media.autoplay.default': 0,
  'media.autoplay.block-webaudio': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'app.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
};

before(async () => {
  console.error(`screenshots and logs: ${logDir}`);
  server = await startServer();
});

after(async () => {
  await browser?.close().catch(() => {});
  consoleLog?.end();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  await server?.stop();
});

async function openFirefox() {
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'zumzi-firefox-'));
  browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: firefoxPath,
    headless: true,
    userDataDir: profile,
    extraPrefsFirefox: firefoxPrefs,
    defaultViewport: null, // the window's size
    protocolTimeout: 120000,
    timeout: 120000,
  });
  const page = (await browser.pages())[0] || (await browser.newPage());
  page.setDefaultTimeout(120000);
  consoleLog = fs.createWriteStream(path.join(logDir, 'firefox-bob.console.log'));
  page.on('console', (m) => consoleLog.write(`${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => consoleLog.write(`pageerror: ${e.message}\n`));
  // The page's RTCPeerConnections, recorded for getStats; the page's own
  // code is untouched.
  await page.evaluateOnNewDocument(recordPeerConnections);
  return page;
}

// The form control labelled `label` (exactly), or the button reading
// `button` (its aria-label, else its text), marked so puppeteer can type into or click it like a user.
let marks = 0;
async function control(page, { label, button, within }) {
  const id = `m${++marks}`;
  await page.waitForFunction(({ label, button, within, id }) => {
    const root = within ? document.querySelector(within) : document;
    if (!root) return false;
    let el = null;
    if (label !== undefined) {
      const l = [...root.querySelectorAll('label')].find((x) => x.textContent.trim() === label);
      el = l?.control ||
        [...root.querySelectorAll('[aria-label]')].find((x) => x.getAttribute('aria-label') === label && x.matches('input, textarea'));
    } else {
      el = [...root.querySelectorAll('button')].find((b) =>
        (b.getAttribute('aria-label') || b.textContent.trim()) === button && !b.disabled && b.offsetParent !== null);
    }
    if (!el) return false;
    el.setAttribute('data-test-mark', id);
    return true;
  }, { polling: 250 }, { label, button, within, id });
  return `[data-test-mark="${id}"]`;
}

async function fill(page, label, value, within) {
  const sel = await control(page, { label, within });
  await page.click(sel, { count: 3 });
  await page.type(sel, value);
}

async function press(page, button, within) {
  await page.click(await control(page, { button, within }));
}

async function screenshot(page, label) {
  const file = path.join(logDir, `${label}.png`);
  await page.screenshot({ path: file });
  return file;
}

// `name`'s tile as the user sees it: its <video> sized and playing, and
// frames decoded on some inbound video stream.
async function waitForPlaying(page, name) {
  return waitFor(`Firefox to show ${name}'s video playing`, async () => {
    const tile = await page.evaluate((who) => {
      const t = [...document.querySelectorAll('.tile')].find(
        (x) => x.querySelector('.tile-name-text')?.textContent === who);
      const v = t?.querySelector('video');
      return t ? { videoWidth: v?.videoWidth || 0, videoHeight: v?.videoHeight || 0, playing: !!v && !v.paused } : null;
    }, name);
    const frames = await page.evaluate(async () => {
      let n = 0;
      for (const pc of window.__pcs || []) {
        if (pc.connectionState === 'closed') continue;
        (await pc.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') n += s.framesDecoded || 0;
        });
      }
      return n;
    });
    const tiles = await page.evaluate(() =>
      [...document.querySelectorAll('.tile .tile-name-text')].map((x) => x.textContent));
    const ok = !!tile && tile.videoWidth > 0 && tile.playing && frames > 0;
    return { ok, tile, frames, tiles };
  }, 90000);
}

test('Firefox joins by invite link, plays a bot\'s camera, the bot decodes Firefox, chat arrives', { timeout: TEST_TIMEOUT }, async (t) => {
  t.diagnostic(`screenshots and logs: ${logDir}`);
  const annToken = await login(server, 'ann@example.com', 'Ann');
  const room = await createRoom(server, annToken, 'Firefox check');
  const invite = `/r/${room.id}?pin=${room.participant_pin}`;

  const page = await openFirefox();
  t.diagnostic(`browser: ${await browser.version()}`);
  await page.goto(server.url + invite);
  // Not signed in: the sign-in page first, then back to the invite link.
  await waitFor('the sign-in page', async () => /\/signin\?next=/.test(page.url()), 60000);
  await fill(page, 'E-mail or phone number', 'bob@example.com');
  await fill(page, 'Your name (for a new account)', 'Bob');
  await press(page, 'Send code');
  await fill(page, '6-digit code', '123456');
  await press(page, 'Sign in');
  await waitFor('the invite link again', async () => page.url() === server.url + invite || { ok: false, url: page.url() }, 60000);

  // Pre-join: camera preview, name, Join.
  await fill(page, 'Your name', 'Bob');
  await waitFor('the camera preview', () => page.evaluate(() =>
    [...document.querySelectorAll('video')].some((v) => v.videoWidth > 0)), 60000);
  await screenshot(page, 'firefox-bob-prejoin');
  await press(page, 'Join');
  await page.waitForSelector('.conference');

  // The bot joins as Ann, publishes and subscribes to Bob.
  const bot = runBot([
    '--server', server.url, '--token', annToken, '--room', room.id, '--pin', room.participant_pin,
    '--duration', '40', '--size', '320x240', '--fps', '15',
  ]);
  const seen = await waitForPlaying(page, 'Ann');
  t.diagnostic(`Firefox decodes ${seen.frames} frames of the bot (its tile's video ${seen.tile.videoWidth}x${seen.tile.videoHeight})`);

  // Playback goes on, not just one keyframe.
  const later = await waitFor('Firefox to keep decoding the bot', async () => {
    const r = await waitForPlaying(page, 'Ann');
    return r.frames >= seen.frames + 30 ? r : { ok: false, frames: r.frames };
  }, 60000);
  t.diagnostic(`then ${later.frames} frames`);

  // Room chat from Firefox.
  await press(page, 'Chat');
  await fill(page, 'Message', 'Hello from Firefox', '#side-chat-room');
  await press(page, 'Send', '#side-chat-room');
  await page.waitForFunction(() =>
    document.querySelector('#side-chat-room')?.textContent.includes('Hello from Firefox'));
  await sleep(300);
  await screenshot(page, 'firefox-bob-meeting');
  const history = await waitFor('Ann to have the message', async () => {
    const res = await fetch(`${server.url}/api/v1/conversations/room:${room.id}/messages`, {
      headers: { Authorization: `Bearer ${annToken}` },
    });
    const body = await res.json();
    return (body.messages || []).some((m) => m.text === 'Hello from Firefox') ? body : { ok: false, status: res.status, body };
  }, 30000);
  assert.ok(history.messages.length >= 1);

  // The bot's report: what it decoded of Firefox's camera and microphone.
  const { code, report } = await bot;
  assert.equal(code, 0, `zumzi-bot failed: ${JSON.stringify(report)}`);
  const me = report.bots[0].participant_id;
  const rows = report.bots[0].tracks.filter((r) => r.participant_id !== me);
  const video = rows.find((r) => r.kind === 'video');
  const audio = rows.find((r) => r.kind === 'audio');
  assert.ok(video && video.frames > 0, `the bot decoded no video from Firefox: ${JSON.stringify(rows)}`);
  assert.ok(audio && audio.frames > 0, `the bot decoded no audio from Firefox: ${JSON.stringify(rows)}`);
  assert.equal(video.label, 'camera');
  t.diagnostic(`bot decoded ${video.frames} video frames (${video.frame_rate?.toFixed(1)} fps) and ${audio.frames} audio buffers from Firefox`);
});
