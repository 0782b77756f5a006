// In-call behaviour of the conference UI (web/app/conference.js) in real
// Chromium peers, through its test page web/test/conference.html, as a
// user sees it (each test saves screenshots to the log directory):
//   (1) notifications: "joined" with a join chime that really plays,
//       "started sharing", "left" with its chime;
//       at most three notices show at once, a repeat is not shown twice;
//   (2) a removed member is kept out (their rejoin is refused with a clear
//       message) until the moderator lets them back in from the
//       participant list; then they join again;
//   (3) a 1-1 chat started from the participant list reaches the other
//       side in the call, with an unread badge, and the reply comes back;
//   (4) the grid for 1, 4, 9 and 16 tiles (columns and rows, no overlap,
//       all in the viewport), and pages beyond 16 (WHIP zumzi-bots make
//       the tiles);
//   (5) a camera or microphone that the browser ends (device gone) shows
//       as off here and as muted at the other side.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';

import { createRoom, login, logDir, openBrowser, runBot, sleep, startServer, waitFor } from './harness.mjs';

const TEST_TIMEOUT = 300000;
const VIEWPORT = { width: 1280, height: 720 };
let server;
const tokens = {};
const peers = [];
const bots = [];

before(async () => {
  console.error(`screenshots and logs: ${logDir}`);
  server = await startServer();
  for (const name of ['Ann', 'Bob'])
    tokens[name.toLowerCase()] = await login(server, `${name.toLowerCase()}@example.com`, name);
});

// Each test ends with its browsers and bots closed, passed or failed.
afterEach(closeAll);

after(async () => {
  await closeAll();
  await server?.stop();
});

async function closeAll() {
  while (bots.length) await bots.pop().stop().catch(() => {});
  while (peers.length) await peers.pop().close();
}

// Runs in each page before its scripts: records the notifications shown
// (toasts) and the sounds played. A WebAudio oscillator counts as played
// once its context rendered it to its end ('ended': a suspended context
// never gets there).
function recordNotifications() {
  window.__toasts = [];
  window.__sounds = [];
  new MutationObserver((changes) => {
    for (const c of changes)
      for (const n of c.addedNodes)
        if (n.classList?.contains('toast')) window.__toasts.push(n.textContent);
  }).observe(document, { childList: true, subtree: true });
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    const sound = { state: this.context.state, ended: false };
    window.__sounds.push(sound);
    this.addEventListener('ended', () => {
      sound.ended = true;
      sound.endState = this.context.state;
    });
    return start.apply(this, args);
  };
}

// The test page for `room`, signed in as `user` (a key of `tokens`), at
// its pre-join screen.
async function openConference(name, room, { user, pin = '' }) {
  const path = `/test/conference.html?room=${room.id}&pin=${pin}&token=${encodeURIComponent(tokens[user])}`;
  const peer = await openBrowser(server, name, path, { viewport: VIEWPORT, init: recordNotifications });
  peers.push(peer);
  await prejoinShown(peer);
  return peer;
}

async function prejoinShown(peer) {
  await peer.page.waitForFunction(() => window.conf?.error || document.querySelector('.prejoin input'));
  const error = await peer.page.evaluate(() => window.conf.error);
  if (error) throw new Error(`${peer.name}: the test page failed: ${error}`);
}

// Types the display name in the pre-join screen and joins.
async function join(peer, { displayName, mic = true }) {
  const { page } = peer;
  await page.getByLabel('Your name').fill(displayName);
  if (!mic) await page.getByRole('button', { name: 'Join with microphone off' }).click();
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.waitForFunction(() => window.conf?.room && document.querySelector('.conference'));
  peer.pid = await page.evaluate(() => window.conf.room.participantId);
  return peer;
}

async function joinUI(name, room, { user, displayName, pin = '', mic = true }) {
  return join(await openConference(name, room, { user, pin }), { displayName, mic });
}

// The tiles on screen, as the user sees them.
function tiles(peer) {
  return peer.page.evaluate(() => [...document.querySelectorAll('.tile')].map((t) => ({
    kind: t.dataset.kind,
    participant: t.dataset.participant || null,
    track: t.dataset.track || null,
    name: t.querySelector('.tile-name-text').textContent,
    label: t.getAttribute('aria-label'),
    videoOn: t.classList.contains('video-on'),
    videoOff: t.classList.contains('video-off'),
    videoWidth: t.querySelector('video').videoWidth,
    micMuted: t.querySelector('.tile-mic').classList.contains('muted'),
    self: t.classList.contains('self'),
  })));
}

async function waitForTileVideo(peer, what, match, timeoutMs = 90000) {
  return waitFor(`${peer.name} to play ${what}`, async () => {
    const all = await tiles(peer);
    const tile = all.find((t) => match(t) && t.videoOn && t.videoWidth > 0);
    return tile ? { tile, all } : { ok: false, all };
  }, timeoutMs);
}

// A notification shown since `from` (an index into the page's record).
async function waitForToast(peer, text, from = 0) {
  return waitFor(`${peer.name} to show "${text}"`, async () => {
    const all = await peer.page.evaluate(() => window.__toasts);
    return all.slice(from).some((t) => t === text) ? all : { ok: false, all };
  }, 60000, 100);
}

const toastCount = (peer) => peer.page.evaluate(() => window.__toasts.length);
const sounds = (peer) => peer.page.evaluate(() => window.__sounds);

async function shot(peer, label) {
  await sleep(300); // let the last layout paint
  return peer.screenshot(`incall-${label}`);
}

test('(1) joined, started sharing and left are notified; joining and leaving chime', { timeout: TEST_TIMEOUT }, async (t) => {
  t.diagnostic(`screenshots and logs: ${logDir}`);
  const room = await createRoom(server, tokens.ann, 'Notifications');
  const ann = await joinUI('incall-1-ann', room, { user: 'ann', displayName: 'Ann' });
  assert.deepEqual(await sounds(ann), []); // nobody joined yet: no chime
  // Toasts last 4 s: the screenshot is taken as soon as it shows.
  const shown = (text) => ann.page.locator('#toasts .toast', { hasText: text }).waitFor({ timeout: 60000 })
    .then(() => ann.screenshot(`incall-1-ann-${text.toLowerCase().replace(/\W+/g, '-')}`))
    .catch((e) => e); // a test that failed before closed the page
  const joinedShown = shown('Bob joined');
  const bob = await joinUI('incall-1-bob', room, { user: 'bob', displayName: 'Bob', pin: room.participant_pin });

  await waitForToast(ann, 'Bob joined');
  await joinedShown;
  const joined = await waitFor('the join chime to play at Ann', async () => {
    const s = await sounds(ann);
    return s.length === 1 && s[0].ended ? s : { ok: false, s };
  });
  assert.equal(joined[0].endState, 'running');
  await waitForTileVideo(ann, 'Bob\'s camera', (x) => x.participant === bob.pid && x.kind === 'person');

  let from = await toastCount(ann);
  const sharingShown = shown('Bob started sharing their screen');
  await bob.page.getByRole('button', { name: 'Share your screen' }).click();
  await bob.page.getByRole('button', { name: 'Stop sharing your screen', exact: true }).waitFor();
  await waitForToast(ann, 'Bob started sharing their screen', from);
  await sharingShown;
  await waitForTileVideo(ann, 'Bob\'s screen', (x) => x.participant === bob.pid && x.kind === 'screen');

  from = await toastCount(ann);
  const leftShown = shown('Bob left');
  await bob.page.getByRole('button', { name: 'Leave the call' }).click();
  await bob.page.getByRole('dialog', { name: 'Leave the call?' }).getByRole('button', { name: 'Leave' }).click();
  await waitForToast(ann, 'Bob left', from);
  await leftShown;
  await waitFor('the leave chime to play at Ann', async () => {
    const s = await sounds(ann);
    return s.length === 2 && s[1].ended ? s : { ok: false, s };
  });
  assert.deepEqual((await tiles(ann)).map((x) => x.participant), [ann.pid]);

  // Notices do not pile up over the call (ten people joining at once):
  // at most three show, the newest, and a repeat of one still shown is
  // not shown twice.
  const showing = await ann.page.evaluate(async () => {
    const { toast } = await import('/app/ui.js');
    for (const n of [1, 2, 3, 4, 5, 5]) toast(`Notice ${n}`);
    return [...document.querySelectorAll('#toasts .toast')].map((x) => x.textContent);
  });
  assert.deepEqual(showing, ['Notice 3', 'Notice 4', 'Notice 5']);
});

test('(2) a removed member is kept out until the moderator lets them back in', { timeout: TEST_TIMEOUT }, async () => {
  const room = await createRoom(server, tokens.ann, 'Remove and readmit');
  const ann = await joinUI('incall-2-ann', room, { user: 'ann', displayName: 'Ann' });
  const bob = await joinUI('incall-2-bob', room, { user: 'bob', displayName: 'Bob', pin: room.participant_pin });
  await waitForTileVideo(ann, 'Bob\'s camera', (x) => x.participant === bob.pid);

  await ann.page.getByRole('button', { name: /^Participants/ }).click();
  await ann.page.getByRole('button', { name: 'Remove Bob from the call' }).click();
  await ann.page.getByRole('dialog', { name: 'Remove Bob?' }).getByRole('button', { name: 'Remove' }).click();
  // Bob is told, and not offered to join again.
  const ended = bob.page.getByRole('region', { name: 'You were removed by a moderator' });
  await ended.waitFor();
  assert.equal(await ended.getByRole('button', { name: 'Join again' }).count(), 0);
  await shot(bob, '2-bob-removed');
  await waitFor('Bob\'s tile to go at Ann', async () => {
    const all = await tiles(ann);
    return all.some((x) => x.participant === bob.pid) ? { ok: false, all } : all;
  });
  await ann.page.getByRole('button', { name: 'Let Bob join again' }).waitFor();
  await shot(ann, '2-ann-removed-list');

  // Bob tries again (the page opens the room anew, as a reload would):
  // refused, and told why, whatever the PIN.
  await ended.getByRole('button', { name: 'Close' }).click();
  await bob.page.getByRole('button', { name: 'Open the room again' }).click();
  await bob.page.getByRole('heading', { name: 'You were removed from this room' }).waitFor();
  const refused = bob.page.getByRole('alert').filter({ hasText: /removed you/ });
  const text = await refused.textContent();
  assert.match(text, /moderator removed you/);
  assert.equal(await bob.page.getByRole('button', { name: 'Join', exact: true }).count(), 0);
  await shot(bob, '2-bob-refused');

  // Ann reloads and joins again: Bob is still listed as removed (from the
  // server's list of removals, not only from what this page saw).
  await ann.page.reload();
  await prejoinShown(ann);
  await join(ann, { displayName: 'Ann' });
  await ann.page.getByRole('button', { name: /^Participants/ }).click();
  await ann.page.getByRole('button', { name: 'Let Bob join again' }).waitFor();

  // Ann lets him back in from her participant list.
  await ann.page.getByRole('button', { name: 'Let Bob join again' }).click();
  await waitFor('Bob to leave Ann\'s removed list', async () =>
    (await ann.page.getByRole('button', { name: 'Let Bob join again' }).count()) === 0);
  await bob.page.getByRole('button', { name: 'Close' }).click();
  await bob.page.getByRole('button', { name: 'Open the room again' }).click();
  await prejoinShown(bob);
  await join(bob, { displayName: 'Bob' });
  await waitForTileVideo(ann, 'Bob\'s camera again', (x) => x.participant === bob.pid);
  await waitForTileVideo(bob, 'Ann\'s camera', (x) => x.participant === ann.pid);
  await shot(bob, '2-bob-back');
});

test('(3) a 1-1 chat from the participant list reaches the other side in the call', { timeout: TEST_TIMEOUT }, async () => {
  const room = await createRoom(server, tokens.ann, 'Private words');
  const ann = await joinUI('incall-3-ann', room, { user: 'ann', displayName: 'Ann', mic: false });
  const bob = await joinUI('incall-3-bob', room, { user: 'bob', displayName: 'Bob', pin: room.participant_pin, mic: false });
  await waitForTileVideo(ann, 'Bob\'s camera', (x) => x.participant === bob.pid);

  await ann.page.getByRole('button', { name: /^Participants/ }).click();
  await ann.page.getByRole('button', { name: 'Chat with Bob' }).click();
  const annTab = ann.page.getByRole('tab', { name: 'Bob' });
  assert.equal(await annTab.getAttribute('aria-selected'), 'true');
  const annChat = ann.page.getByRole('tabpanel').filter({ has: ann.page.getByRole('region', { name: 'Bob' }) });
  await annChat.getByRole('textbox', { name: 'Message' }).fill('Bob, a word in private?');
  await annChat.getByRole('button', { name: 'Send' }).click();
  await annChat.locator('.msg.mine:not(.pending)', { hasText: 'Bob, a word in private?' }).waitFor();

  // Bob, in the call with the side panel closed: the chat button counts it.
  const unread = bob.page.getByRole('button', { name: 'Chat (1 unread)' });
  await unread.waitFor({ timeout: 60000 });
  await shot(bob, '3-bob-unread');
  await unread.click();
  const bobTab = bob.page.getByRole('tab', { name: /^Ann/ });
  await waitFor('Bob\'s chat with Ann shown', async () => (await bobTab.getAttribute('aria-selected')) === 'true');
  const bobChat = bob.page.getByRole('tabpanel').filter({ has: bob.page.getByRole('region', { name: 'Ann' }) });
  await bobChat.getByText('Bob, a word in private?').waitFor();
  await bob.page.getByRole('button', { name: 'Chat', exact: true }).waitFor(); // read: no badge
  await bobChat.getByRole('textbox', { name: 'Message' }).fill('Sure, Ann.');
  await bobChat.getByRole('button', { name: 'Send' }).click();
  await annChat.getByText('Sure, Ann.').waitFor();
  await shot(bob, '3-bob-chat');
  await shot(ann, '3-ann-chat');
});

// The grid's tiles on screen: their boxes, the grid's columns and rows as
// placed (distinct lefts and tops), whether any two overlap and whether
// all are inside the viewport.
function gridGeometry(peer) {
  return peer.page.evaluate(() => {
    const boxes = [...document.querySelectorAll('.tiles-main .tile')].map((t) => {
      const r = t.getBoundingClientRect();
      return { participant: t.dataset.participant, videoOn: t.classList.contains('video-on'), x: r.x, y: r.y, w: r.width, h: r.height };
    });
    const distinct = (xs) => [...new Set(xs.map((x) => Math.round(x)))].length;
    let overlaps = 0;
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i];
        const b = boxes[j];
        if (a.x < b.x + b.w - 1 && b.x < a.x + a.w - 1 && a.y < b.y + b.h - 1 && b.y < a.y + a.h - 1) overlaps++;
      }
    const inView = boxes.every((b) => b.w > 0 && b.h > 0 && b.x >= 0 && b.y >= 0 &&
      b.x + b.w <= window.innerWidth && b.y + b.h <= window.innerHeight);
    const pager = document.querySelector('.pager');
    return {
      count: boxes.length, cols: distinct(boxes.map((b) => b.x)), rows: distinct(boxes.map((b) => b.y)),
      overlaps, inView, playing: boxes.filter((b) => b.videoOn).length,
      minWidth: Math.min(...boxes.map((b) => b.w)), pager: !!pager && !pager.hidden, boxes,
    };
  });
}

// Waits for `count` tiles in a cols x rows grid, all playing video.
async function waitForGrid(peer, count, cols, rows) {
  const g = await waitFor(`${count} tiles playing in a ${cols}x${rows} grid at ${peer.name}`, async () => {
    const x = await gridGeometry(peer);
    return x.count === count && x.cols === cols && x.rows === rows && x.playing === count ? x : { ok: false, ...x, boxes: undefined };
  }, 120000, 500);
  assert.equal(g.overlaps, 0, `overlapping tiles: ${JSON.stringify(g.boxes)}`);
  assert.ok(g.inView, `a tile outside the viewport: ${JSON.stringify(g.boxes)}`);
  assert.equal(g.pager, false);
  return g;
}

// `n` WHIP publishers (video only, small and slow) in `room`.
function whipBots(room, n) {
  const bot = runBot([
    '--whip', `${server.url}/whip/${room.id}`, '--pin', room.participant_pin, '--bots', String(n),
    '--no-audio', '--size', '160x90', '--fps', '5', '--kbps', '60', '--duration', '600',
  ]);
  bots.push(bot);
  return bot;
}

test('(4) the grid for 1, 4, 9 and 16 tiles, and pages beyond 16', { timeout: TEST_TIMEOUT }, async (t) => {
  const room = await createRoom(server, tokens.ann, 'Grid');
  const ann = await joinUI('incall-4-ann', room, { user: 'ann', displayName: 'Ann', mic: false });
  const g1 = await waitForGrid(ann, 1, 1, 1);
  await shot(ann, '4-grid-1');
  for (const [count, side, add] of [[4, 2, 3], [9, 3, 5], [16, 4, 7]]) {
    whipBots(room, add);
    const g = await waitForGrid(ann, count, side, side);
    t.diagnostic(`${count} tiles: ${side}x${side}, each ${Math.round(g.minWidth)} px wide`);
    await shot(ann, `4-grid-${count}`);
  }
  assert.ok(g1.minWidth > 2 * (await gridGeometry(ann)).minWidth); // tiles shrink as the grid grows

  // Two more: 18 tiles, 16 on page 1 and 2 on page 2.
  whipBots(room, 2);
  const pager = ann.page.getByRole('navigation', { name: 'Pages of participants' });
  await pager.getByRole('button', { name: 'Show page 2 of 2' }).waitFor({ timeout: 120000 });
  const page1 = await gridGeometry(ann);
  assert.equal(page1.count, 16);
  assert.deepEqual([page1.cols, page1.rows, page1.overlaps, page1.inView], [4, 4, 0, true]);
  assert.equal(await pager.getByRole('button', { name: 'Show page 1 of 2' }).getAttribute('aria-current'), 'page');
  const pagerBox = await pager.boundingBox();
  assert.ok(pagerBox.y + pagerBox.height <= VIEWPORT.height, `the pager is off screen: ${JSON.stringify(pagerBox)}`);
  await shot(ann, '4-grid-18-page-1');

  await pager.getByRole('button', { name: 'Show page 2 of 2' }).click();
  const page2 = await waitFor('page 2 with the 2 others playing', async () => {
    const x = await gridGeometry(ann);
    return x.count === 2 && x.playing === 2 ? x : { ok: false, ...x, boxes: undefined };
  }, 120000, 500);
  assert.deepEqual([page2.cols, page2.rows, page2.overlaps, page2.inView], [2, 1, 0, true]);
  const all = [...page1.boxes, ...page2.boxes].map((b) => b.participant);
  assert.equal(new Set(all).size, 18, `a tile on both pages: ${JSON.stringify(all)}`);
  await shot(ann, '4-grid-18-page-2');
  await pager.getByRole('button', { name: 'Previous page' }).click();
  await waitFor('page 1 again', async () => ((await gridGeometry(ann)).count === 16 ? true : { ok: false }));
});

test('(5) a camera or microphone ended by the browser shows as off, here and there', { timeout: TEST_TIMEOUT }, async () => {
  const room = await createRoom(server, tokens.ann, 'Devices gone');
  const ann = await joinUI('incall-5-ann', room, { user: 'ann', displayName: 'Ann' });
  const bob = await joinUI('incall-5-bob', room, { user: 'bob', displayName: 'Bob', pin: room.participant_pin });
  await waitForTileVideo(bob, 'Ann\'s camera', (x) => x.participant === ann.pid);
  await waitFor('Bob to see Ann\'s microphone on', async () => {
    const a = (await tiles(bob)).find((x) => x.participant === ann.pid);
    return a && !a.micMuted ? a : { ok: false, a };
  });

  // The camera goes away (unplugged, or taken by the system): the browser
  // ends its track.
  const end = (label) => ann.page.evaluate((l) => {
    const track = window.conf.room.sender(l).track;
    track.stop();
    track.dispatchEvent(new Event('ended'));
  }, label);
  await end('camera');
  await ann.page.getByRole('button', { name: 'Turn camera on' }).waitFor({ timeout: 30000 });
  await waitFor('Ann\'s own tile without video', async () => {
    const a = (await tiles(ann)).find((x) => x.self);
    return a && !a.videoOn && a.videoOff ? a : { ok: false, a };
  });
  await waitFor('Bob to see Ann\'s camera off', async () => {
    const a = (await tiles(bob)).find((x) => x.participant === ann.pid);
    return a && a.videoOff && !a.videoOn ? a : { ok: false, a };
  });
  await shot(ann, '5-ann-camera-ended');

  await end('mic');
  await ann.page.getByRole('button', { name: 'Unmute microphone' }).waitFor({ timeout: 30000 });
  await waitFor('Bob to see Ann muted', async () => {
    const a = (await tiles(bob)).find((x) => x.participant === ann.pid);
    return a?.micMuted ? a : { ok: false, a };
  });
  await shot(ann, '5-ann-mic-ended');
  await shot(bob, '5-bob-sees-ann-off');

  // Both come back from the controls: new devices opened.
  await ann.page.getByRole('button', { name: 'Turn camera on' }).click();
  await waitForTileVideo(bob, 'Ann\'s camera again', (x) => x.participant === ann.pid);
  await ann.page.getByRole('button', { name: 'Unmute microphone' }).click();
  await waitFor('Bob to see Ann unmuted', async () => {
    const a = (await tiles(bob)).find((x) => x.participant === ann.pid);
    return a && !a.micMuted ? a : { ok: false, a };
  });
});
