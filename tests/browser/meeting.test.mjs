// A meeting as users hold one, through the real web client (web/index.html)
// and nothing else: Ann signs in and creates a room; Bob opens the
// participant invite link in another browser, signs in, goes through the
// pre-join screen and joins; Ann enters the room from "My rooms". Each sees
// the other's camera playing (inbound framesDecoded > 0 in getStats and a
// sized <video> in the other's tile), and a room chat message written by one
// appears at the other. Then Cat opens the viewer link: she sees both
// publishers and has no control to publish with.
// Screenshots land in the log directory printed first.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { logDir, openBrowser, recordPeerConnections, sleep, startServer, waitFor } from './harness.mjs';

const TEST_TIMEOUT = 300000;
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

// A browser whose RTCPeerConnections the test can read stats from: the
// page's own code is untouched, the constructor only records each one.
async function openUser(name, path) {
  const b = await openBrowser(server, name, '/', { viewport: VIEWPORT });
  browsers.push(b);
  await b.context.addInitScript(recordPeerConnections);
  await b.page.goto(server.url + path);
  return b;
}

async function signIn(page, email, name) {
  await page.getByLabel('E-mail or phone number').fill(email);
  await page.getByLabel('Your name (for a new account)').fill(name);
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByLabel('6-digit code').fill('123456');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

// Through the pre-join screen, with camera and microphone on.
async function joinFromPrejoin(page, displayName) {
  await page.getByLabel('Your name').fill(displayName);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.locator('.conference').waitFor();
}

// The other person's tile as the user sees it: the tile named `name`, its
// <video> sized and playing, and frames decoded on some inbound video stream.
async function waitForPlaying(b, name) {
  return waitFor(`${b.name} to see ${name}'s video playing`, async () => {
    const tile = await b.page.evaluate((who) => {
      const t = [...document.querySelectorAll('.tile')].find(
        (x) => x.querySelector('.tile-name-text')?.textContent === who);
      const v = t?.querySelector('video');
      return t ? { videoWidth: v?.videoWidth || 0, playing: !!v && !v.paused } : null;
    }, name);
    const frames = await b.page.evaluate(async () => {
      let n = 0;
      for (const pc of window.__pcs || []) {
        if (pc.connectionState === 'closed') continue;
        (await pc.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') n += s.framesDecoded || 0;
        });
      }
      return n;
    });
    const ok = !!tile && tile.videoWidth > 0 && tile.playing && frames > 0;
    return { ok, tile, frames };
  }, 90000);
}

test('sign in, create a room, join by invite link, see each other, chat; a viewer link views', { timeout: TEST_TIMEOUT }, async (t) => {
  t.diagnostic(`screenshots and logs: ${logDir}`);
  // Ann signs in and creates a room.
  const ann = await openUser('meeting-ann', '/');
  await ann.page.waitForURL(/\/signin$/);
  await signIn(ann.page, 'ann@example.com', 'Ann');
  await ann.page.waitForURL(/\/rooms$/);
  await ann.page.getByLabel('Room name').fill('Design review');
  await ann.page.getByRole('button', { name: 'Create room' }).click();
  const card = ann.page.locator('article.room-card', { hasText: 'Design review' });
  await card.waitFor();
  const [participantLink, viewerLink] = await card.locator('a.invite-link').evaluateAll((as) => as.map((a) => a.href));
  assert.match(participantLink, /\/r\/[a-z0-9]+\?pin=\d{8}$/);
  assert.match(viewerLink, /\/r\/[a-z0-9]+\?pin=\d{8}$/);
  assert.notEqual(participantLink, viewerLink);

  // Bob follows the participant link: sign-in first, then back to it.
  const bob = await openUser('meeting-bob', new URL(participantLink).pathname + new URL(participantLink).search);
  await bob.page.waitForURL(/\/signin\?next=/);
  await signIn(bob.page, 'bob@example.com', 'Bob');
  await bob.page.waitForURL((url) => url.href === participantLink);
  await bob.page.getByLabel('Your name').waitFor();
  await sleep(1000); // the camera preview starts
  await bob.screenshot('meeting-bob-prejoin');
  await joinFromPrejoin(bob.page, 'Bob');

  // Ann enters her room from the list.
  await card.getByRole('link', { name: 'Enter Design review' }).click();
  await joinFromPrejoin(ann.page, 'Ann');

  const seenByAnn = await waitForPlaying(ann, 'Bob');
  const seenByBob = await waitForPlaying(bob, 'Ann');
  t.diagnostic(`Ann decodes ${seenByAnn.frames} frames (Bob's tile ${seenByAnn.tile.videoWidth} px wide), ` +
    `Bob ${seenByBob.frames} (Ann's tile ${seenByBob.tile.videoWidth} px)`);

  // Room chat: Ann writes, Bob reads it in his side panel.
  await ann.page.getByRole('button', { name: /^Chat($| \()/ }).click();
  const annChat = ann.page.locator('#side-chat-room');
  await annChat.getByRole('textbox', { name: 'Message' }).fill('Can everyone see the mockups?');
  await annChat.getByRole('button', { name: 'Send' }).click();
  await bob.page.getByRole('button', { name: /^Chat \(1 unread\)/ }).waitFor();
  await bob.page.getByRole('button', { name: /^Chat($| \()/ }).click();
  await bob.page.locator('#side-chat-room').getByText('Can everyone see the mockups?').waitFor();
  const bobChat = bob.page.locator('#side-chat-room');
  await bobChat.getByRole('textbox', { name: 'Message' }).fill('Yes, loud and clear');
  await bobChat.getByRole('button', { name: 'Send' }).click();
  await annChat.getByText('Yes, loud and clear').waitFor();
  await sleep(300);
  await ann.screenshot('meeting-ann');
  await bob.screenshot('meeting-bob');

  // Cat follows the viewer link: she sees both, and cannot publish.
  const cat = await openUser('meeting-cat', new URL(viewerLink).pathname + new URL(viewerLink).search);
  await cat.page.waitForURL(/\/signin\?next=/);
  await signIn(cat.page, 'cat@example.com', 'Cat');
  await cat.page.waitForURL((url) => url.href === viewerLink);
  await cat.page.getByText('View only: you joined with the viewer PIN').waitFor();
  await cat.page.getByLabel('Your name').fill('Cat');
  await cat.page.getByRole('button', { name: 'Join', exact: true }).click();
  await cat.page.locator('.conference').waitFor();
  await waitForPlaying(cat, 'Ann');
  await waitForPlaying(cat, 'Bob');
  for (const name of [/microphone/i, /camera/i, /share/i])
    assert.equal(await cat.page.getByRole('button', { name }).count(), 0, `the viewer has a ${name} button`);
  const catTiles = await cat.page.locator('.tile .tile-name-text').allTextContents();
  assert.ok(!catTiles.includes('Cat'), `a viewer has no tile of her own: ${catTiles}`);
  await sleep(300);
  await cat.screenshot('meeting-cat-viewer');
});
