// The conference UI (web/app/conference.js) in real Chromium peers, through
// its test page web/test/conference.html: each browser signs in (demo
// code), goes through the pre-join screen and clicks Join like a user.
//   (a) two browsers see each other's camera tile playing;
//   (b) screen shares come and go as tiles, two at once;
//   (c) a viewer (viewer PIN) sees the publishers and has no publish controls;
//   (d) switching to HD changes the frame width really sent;
//   (l) switching cameras in the call (three fake cameras): the other side
//       keeps decoding, the new device is what is sent and shown;
//   (m) each video quality (FHD, 4K where the camera has it, HD, SD)
//       changes the capture size and the encoder's bitrate cap;
//   (e) speaker view shows whoever talks large;
//   (f) grid pages: tiles off the page are unsubscribed, and so is the
//       video of someone hidden; audio only;
//   (k) a 1-1 call's room joins without the form, camera per call type;
//   (g-j) moderation: mute, remove (and let back in), allow a viewer to
//   publish, lock the room.
// Screenshots and page consoles land in the log directory printed first.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { createRoom, login, logDir, openBrowser, sleep, startServer, waitFor } from './harness.mjs';

const TEST_TIMEOUT = 300000;
const VIEWPORT = { width: 1280, height: 720 };
let server;
let annToken;
const tokens = {};
const peers = [];

before(async () => {
  console.error(`screenshots and logs: ${logDir}`);
  server = await startServer();
  for (const name of ['Ann', 'Bob', 'Cat', 'Carol'])
    tokens[name.toLowerCase()] = await login(server, `${name.toLowerCase()}@example.com`, name);
  annToken = tokens.ann;
});

after(async () => {
  await closePeers();
  await server?.stop();
});

async function closePeers() {
  while (peers.length) await peers.pop().close();
}

// The test page for `room`, signed in as `user` (a key of `tokens`).
async function openConference(name, room, { user, pin = '', query = '', devices = 1 }) {
  const path = `/test/conference.html?room=${room.id}&pin=${pin}&token=${encodeURIComponent(tokens[user])}${query}`;
  const peer = await openBrowser(server, name, path, { viewport: VIEWPORT, devices });
  peers.push(peer);
  // The pre-join screen, or the page's own failure.
  await peer.page.waitForFunction(() => window.conf?.error || document.querySelector('.prejoin input'));
  const error = await peer.page.evaluate(() => window.conf.error);
  if (error) throw new Error(`${name}: the test page failed: ${error}`);
  return peer;
}

// Opens the test page and joins through the pre-join screen: display name
// typed in, microphone/camera toggled off if asked.
async function joinUI(name, room, { user, displayName, pin = '', mic = true, camera = true, query = '', devices = 1 }) {
  const peer = await openConference(name, room, { user, pin, query, devices });
  const { page } = peer;
  await page.getByLabel('Your name').fill(displayName);
  if (!mic) await page.getByRole('button', { name: 'Join with microphone off' }).click();
  if (!camera) await page.getByRole('button', { name: 'Join with camera off' }).click();
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.waitForFunction(() => window.conf?.room && document.querySelector('.conference'));
  peer.pid = await page.evaluate(() => window.conf.room.participantId);
  peer.userId = await page.evaluate(() => window.conf.room.client.user.id);
  return peer;
}

// The tiles on screen, as the user sees them.
function tiles(peer) {
  return peer.page.evaluate(() => [...document.querySelectorAll('.tile')].map((t) => ({
    key: t.dataset.key,
    kind: t.dataset.kind,
    participant: t.dataset.participant || null,
    track: t.dataset.track || null,
    name: t.querySelector('.tile-name-text').textContent,
    label: t.getAttribute('aria-label'),
    videoOn: t.classList.contains('video-on'),
    videoWidth: t.querySelector('video').videoWidth,
    micMuted: t.querySelector('.tile-mic').classList.contains('muted'),
    speaking: t.classList.contains('speaking'),
    large: t.classList.contains('large'),
    self: t.classList.contains('self'),
    inStrip: !!t.closest('.tiles-strip'),
  })));
}

// Decoded video frames per server track id (inbound-rtp of the subscribe
// session, matched through the receiver's track).
function decoded(peer) {
  return peer.page.evaluate(async () => {
    const room = window.conf.room;
    const pc = room.subscribeConnection;
    const out = {};
    if (!pc) return out;
    const byTrack = new Map([...room.remote].map(([id, r]) => [r.track.id, id]));
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        const id = byTrack.get(s.trackIdentifier);
        if (id) out[id] = { frames: s.framesDecoded || 0, width: s.frameWidth || 0, height: s.frameHeight || 0 };
      }
    });
    return out;
  });
}

// What the camera sender sends (outbound-rtp of the publish session).
function sentCamera(peer) {
  return peer.page.evaluate(async () => {
    const room = window.conf.room;
    const sender = room.sender('camera');
    if (!sender) return null;
    let out = null;
    (await sender.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp') out = { width: s.frameWidth || 0, height: s.frameHeight || 0, frames: s.framesEncoded || 0, packets: s.packetsSent, keys: s.keyFramesEncoded, plis: s.pliCount, firs: s.firCount };
    });
    return out;
  });
}

// Waits until `peer` shows a tile matching `match` with video playing
// (frames decoded for its track and a sized <video>).
async function waitForTileVideo(peer, what, match, timeoutMs = 90000) {
  return waitFor(`${peer.name} to play ${what}`, async () => {
    const all = await tiles(peer);
    const tile = all.find((t) => match(t) && t.videoOn && t.videoWidth > 0 && t.track);
    if (!tile) return { ok: false, all };
    const frames = (await decoded(peer))[tile.track];
    if (!frames || frames.frames <= 0) return { ok: false, all, frames };
    return { ok: true, tile, frames, all };
  }, timeoutMs);
}

async function shot(peer, label) {
  await sleep(300); // let the last layout paint
  return peer.screenshot(`conference-${label}`);
}

test('(a) two browsers join through the pre-join screen and see each other', { timeout: TEST_TIMEOUT }, async (t) => {
  t.diagnostic(`screenshots and logs: ${logDir}`);
  const room = await createRoom(server, annToken, 'Two in a call');
  const ann = await joinUI('conf-a-ann', room, { user: 'ann', displayName: 'Ann Lee' });
  const bob = await joinUI('conf-a-bob', room, { user: 'bob', displayName: 'Bob Stone', pin: room.participant_pin });

  for (const [me, other, name] of [[ann, bob, 'Bob Stone'], [bob, ann, 'Ann Lee']]) {
    const v = await waitForTileVideo(me, `${name}'s camera`, (x) => x.participant === other.pid && x.kind === 'person');
    assert.equal(v.tile.name, name);
    assert.equal(v.tile.micMuted, false, JSON.stringify(v.tile));
    const own = v.all.find((x) => x.self);
    assert.ok(own && own.videoOn, `no own camera tile: ${JSON.stringify(v.all)}`);
    assert.match(own.name, /\(you\)$/);
  }
  // The name typed in the pre-join screen is the profile name now.
  const profile = await bob.page.evaluate(async () => {
    const r = await fetch('/api/v1/profile', { headers: { Authorization: `Bearer ${window.conf.session.token}` } });
    return r.json();
  });
  assert.equal(profile.name, 'Bob Stone');
  await shot(ann, 'a-ann');
  await shot(bob, 'a-bob');

  // Bob mutes his microphone (keyboard shortcut M): Ann's tile of Bob
  // shows it muted.
  await bob.page.locator('body').press('m');
  await waitFor('Ann to see Bob muted', async () => {
    const b = (await tiles(ann)).find((x) => x.participant === bob.pid);
    return b?.micMuted ? b : { ok: false, b };
  });
  // Camera off (V): Ann's tile of Bob shows his initials, no video.
  await bob.page.locator('body').press('v');
  await waitFor('Ann to see Bob\'s camera off', async () => {
    const b = (await tiles(ann)).find((x) => x.participant === bob.pid);
    return b && !b.videoOn ? b : { ok: false, b };
  });
  await shot(ann, 'a-ann-bob-muted');
  await bob.page.locator('body').press('v');
  await waitForTileVideo(ann, 'Bob\'s camera again', (x) => x.participant === bob.pid);

  // The invite dialog: the owner gets both links with the room's PINs,
  // Bob the link with the PIN he joined with.
  await ann.page.getByRole('button', { name: 'Invite people' }).click();
  const annInvite = ann.page.getByRole('dialog', { name: 'Invite people' });
  assert.match(await annInvite.getByLabel('Participant link', { exact: true }).inputValue(), new RegExp(`/r/${room.id}\\?pin=${room.participant_pin}$`));
  assert.match(await annInvite.getByLabel('Viewer link', { exact: true }).inputValue(), new RegExp(`/r/${room.id}\\?pin=${room.viewer_pin}$`));
  await shot(ann, 'a-ann-invite');
  await annInvite.getByRole('button', { name: 'Close' }).click();
  await bob.page.getByRole('button', { name: 'Invite people' }).click();
  const bobInvite = bob.page.getByRole('dialog', { name: 'Invite people' });
  assert.match(await bobInvite.getByLabel('Participant link', { exact: true }).inputValue(), new RegExp(`\\?pin=${room.participant_pin}$`));
  assert.equal(await bobInvite.getByLabel('Viewer link', { exact: true }).count(), 0);
  await bobInvite.getByRole('button', { name: 'Close' }).click();

  // Bob switches microphones during the call: the same server track goes
  // on, now from the other device, and Ann still hears him.
  await bob.page.getByRole('button', { name: 'Unmute microphone' }).click();
  await waitFor('Ann to see Bob unmuted', async () => {
    const b = (await tiles(ann)).find((x) => x.participant === bob.pid);
    return b && !b.micMuted ? b : { ok: false, b };
  });
  await bob.page.getByRole('button', { name: /^Settings/ }).click();
  const micSelect = bob.page.getByLabel('Microphone', { exact: true });
  await micSelect.waitFor(); // filled once the device list is read
  const mics = await micSelect.locator('option').evaluateAll((os) => os.map((o) => o.value));
  const before = await bob.page.evaluate(() => {
    const mic = window.conf.room.localTracks.find((x) => x.label === 'mic');
    return { id: mic.id, device: mic.track.getSettings().deviceId };
  });
  const other = mics.find((m) => m !== before.device);
  if (other) {
    await bob.page.getByLabel('Microphone', { exact: true }).selectOption(other);
    const now = await waitFor('Bob\'s microphone to switch', () => bob.page.evaluate((want) => {
      const mic = window.conf.room.localTracks.find((x) => x.label === 'mic');
      const sending = window.conf.room.sender('mic').track;
      return mic.track.getSettings().deviceId === want && sending === mic.track ? { id: mic.id } : null;
    }, other));
    assert.equal(now.id, before.id);
    const heard = async () => ann.page.evaluate(async (pid) => {
      const room = window.conf.room;
      const id = [...room.tracks.values()].find((x) => x.participant_id === pid && x.kind === 'audio')?.id;
      let packets = 0;
      (await room.subscribeConnection.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio' && s.trackIdentifier === room.remote.get(id)?.track.id) packets = s.packetsReceived;
      });
      return packets;
    }, bob.pid);
    const p0 = await heard();
    await waitFor('Ann to keep receiving Bob\'s audio', async () => ((await heard()) > p0 + 50 ? true : { ok: false }));
  } else {
    t.diagnostic('one fake microphone only: no switch tried');
  }
  await bob.page.keyboard.press('Escape');

  // Leaving asks first; then Ann's tile of Bob goes.
  await bob.page.getByRole('button', { name: 'Leave the call' }).click();
  await bob.page.getByRole('dialog', { name: 'Leave the call?' }).getByRole('button', { name: 'Leave' }).click();
  await bob.page.waitForFunction(() => window.conf.result?.reason === 'left');
  await waitFor('Bob\'s tile to go at Ann', async () => {
    const all = await tiles(ann);
    return all.some((x) => x.participant === bob.pid) ? { ok: false, all } : all;
  });
  await closePeers();
});

test('(b) screen shares appear as tiles and go when stopped, two at once', { timeout: TEST_TIMEOUT }, async () => {
  const room = await createRoom(server, annToken, 'Screens');
  const ann = await joinUI('conf-b-ann', room, { user: 'ann', displayName: 'Ann' });
  const bob = await joinUI('conf-b-bob', room, { user: 'bob', displayName: 'Bob', pin: room.participant_pin });
  await waitForTileVideo(ann, 'Bob\'s camera', (x) => x.participant === bob.pid && x.kind === 'person');

  await bob.page.getByRole('button', { name: 'Share your screen' }).click();
  const first = await waitForTileVideo(ann, 'Bob\'s screen', (x) => x.participant === bob.pid && x.kind === 'screen');
  assert.equal(first.tile.name, 'Bob\u2019s screen');
  await bob.page.getByRole('button', { name: 'Share another screen' }).click();
  const second = await waitForTileVideo(ann, 'Bob\'s second screen',
    (x) => x.participant === bob.pid && x.kind === 'screen' && x.track !== first.tile.track);
  assert.equal(second.tile.name, 'Bob\u2019s screen 2');
  await waitFor('both screens decoding at Ann', async () => {
    const d = await decoded(ann);
    return d[first.tile.track]?.frames > 0 && d[second.tile.track]?.frames > 0 ? d : { ok: false, d };
  });
  // Bob sees his own two shares, each with its stop button.
  const mine = (await tiles(bob)).filter((x) => x.kind === 'screen' && x.self);
  assert.equal(mine.length, 2, JSON.stringify(mine));
  await shot(ann, 'b-ann-two-screens');
  await shot(bob, 'b-bob-two-screens');

  // Full screen: one tile, then the whole call.
  const screenTile = ann.page.locator(`.tile[data-track="${second.tile.track}"]`);
  await screenTile.hover();
  await screenTile.getByRole('button', { name: 'Show Bob\u2019s screen 2 full screen' }).click();
  await ann.page.waitForFunction((id) => document.fullscreenElement?.dataset.track === id, second.tile.track);
  await shot(ann, 'b-ann-tile-fullscreen');
  await ann.page.evaluate(() => document.exitFullscreen());
  await ann.page.waitForFunction(() => !document.fullscreenElement);
  await ann.page.getByRole('button', { name: 'Full screen', exact: true }).click();
  await ann.page.waitForFunction(() => document.fullscreenElement?.classList.contains('conference'));
  await ann.page.getByRole('button', { name: 'Exit full screen' }).click();
  await ann.page.waitForFunction(() => !document.fullscreenElement);

  // Stopping the first leaves the second.
  await bob.page.getByRole('button', { name: 'Stop sharing your screen', exact: true }).click();
  await waitFor('the first share to go at Ann', async () => {
    const screens = (await tiles(ann)).filter((x) => x.kind === 'screen');
    return screens.length === 1 && screens[0].track === second.tile.track ? screens : { ok: false, screens };
  });
  await waitForTileVideo(ann, 'the second share still', (x) => x.track === second.tile.track);
  // And the stop button on the tile ends the other.
  await bob.page.locator('.tile.screen .tile-stop').click();
  await waitFor('no share left at Ann', async () => {
    const screens = (await tiles(ann)).filter((x) => x.kind === 'screen');
    return screens.length === 0 ? true : { ok: false, screens };
  });
  await waitForTileVideo(ann, 'Bob\'s camera after the shares', (x) => x.participant === bob.pid && x.kind === 'person');
  await shot(ann, 'b-ann-shares-stopped');
  await closePeers();
});

test('(c) a viewer sees the publishers and has no publish controls', { timeout: TEST_TIMEOUT }, async () => {
  const room = await createRoom(server, annToken, 'Live audience');
  const ann = await joinUI('conf-c-ann', room, { user: 'ann', displayName: 'Ann' });
  const carol = await openConference('conf-c-carol', room, { user: 'carol', pin: room.viewer_pin });
  // The pre-join screen says so, and offers no camera preview.
  await carol.page.getByText('View only: you joined with the viewer PIN').waitFor();
  assert.equal(await carol.page.locator('.preview').count(), 0);
  await carol.page.getByLabel('Your name').fill('Carol');
  await carol.screenshot('conference-c-carol-prejoin');
  await carol.page.getByRole('button', { name: 'Join', exact: true }).click();
  await carol.page.waitForFunction(() => window.conf?.room);
  assert.equal(await carol.page.evaluate(() => window.conf.room.role), 'viewer');

  await waitForTileVideo(carol, 'Ann\'s camera', (x) => x.name === 'Ann' && x.kind === 'person');
  const carolTiles = await tiles(carol);
  assert.ok(!carolTiles.some((x) => x.self), `a viewer has no tile of their own: ${JSON.stringify(carolTiles)}`);
  for (const name of [/microphone/i, /camera/i, /share/i])
    assert.equal(await carol.page.getByRole('button', { name }).count(), 0, `viewer has a ${name} button`);
  assert.equal(await carol.page.locator('.viewer-chip').isVisible(), true);
  // Ann lists Carol as a viewer, without a tile.
  await ann.page.getByRole('button', { name: /^Participants/ }).click();
  const row = ann.page.locator('.people .person', { hasText: 'Carol' });
  await row.waitFor();
  assert.match(await row.textContent(), /Viewer/);
  assert.ok(!(await tiles(ann)).some((x) => x.name === 'Carol'));
  // Room chat in the side panel: Ann writes, Carol's chat button counts
  // it as unread, and her room chat tab shows it.
  await ann.page.getByRole('button', { name: /^Chat($| \()/ }).click();
  const annChat = ann.page.locator('#side-chat-room');
  await annChat.getByRole('textbox', { name: 'Message' }).fill('Hello viewers');
  await annChat.getByRole('button', { name: 'Send' }).click();
  await carol.page.getByRole('button', { name: 'Chat (1 unread)' }).waitFor();
  await carol.page.getByRole('button', { name: /^Chat($| \()/ }).click();
  const tab = carol.page.getByRole('tab', { name: /Room chat/ });
  assert.equal(await tab.getAttribute('aria-selected'), 'true');
  await carol.page.locator('#side-chat-room').getByText('Hello viewers').waitFor();
  await carol.page.getByRole('button', { name: 'Chat', exact: true }).waitFor(); // read: no badge
  await shot(carol, 'c-carol-chat');
  await shot(ann, 'c-ann-chat');
  await carol.page.getByRole('button', { name: 'Close the side panel' }).click();
  await shot(carol, 'c-carol-viewer');
  await shot(ann, 'c-ann-with-viewer');
  await closePeers();
});

test('(d) switching to HD changes the frame width sent', { timeout: TEST_TIMEOUT }, async (t) => {
  const room = await createRoom(server, annToken, 'Quality');
  const ann = await joinUI('conf-d-ann', room, { user: 'ann', displayName: 'Ann' });
  const bob = await joinUI('conf-d-bob', room, { user: 'bob', displayName: 'Bob', pin: room.viewer_pin });
  const seen = await waitForTileVideo(bob, 'Ann\'s camera', (x) => x.participant === ann.pid);
  const sd = await waitFor('Ann to send SD', async () => {
    const s = await sentCamera(ann);
    return s?.width === 640 ? s : { ok: false, s };
  });
  t.diagnostic(`SD: sent ${JSON.stringify(sd)}`);

  await ann.page.getByRole('button', { name: /^Settings/ }).click();
  await ann.page.getByLabel('Video quality (what you send)').selectOption('hd');
  const hd = await waitFor('Ann to send 1280 wide', async () => {
    const s = await sentCamera(ann);
    return s?.width === 1280 ? s : { ok: false, s };
  });
  assert.equal(hd.height, 720);
  const bitrate = await ann.page.evaluate(() => window.conf.room.sender('camera').getParameters().encodings[0].maxBitrate);
  assert.equal(bitrate, 2_500_000);
  // Bob receives it that size.
  const got = await waitFor('Bob to decode 1280x720', async () => {
    const d = (await decoded(bob))[seen.tile.track];
    return d?.width === 1280 ? d : { ok: false, d };
  });
  t.diagnostic(`HD: sent ${JSON.stringify(hd)}, Bob decodes ${JSON.stringify(got)}`);
  // The statistics popover says what is sent.
  await ann.page.keyboard.press('Escape');
  await ann.page.getByRole('button', { name: 'Connection statistics' }).click();
  await ann.page.locator('.stat-row[data-label="camera"][data-width="1280"]').waitFor();
  assert.match(await ann.page.locator('.stat-row[data-label="camera"]').textContent(), /1280×720/);
  await shot(ann, 'd-ann-hd-stats');
  await closePeers();
});

// Bob's video inbound-rtp counters, for diagnostics.
function inboundVideo(peer) {
  return peer.page.evaluate(async () => {
    const out = [];
    (await window.conf.room.subscribeConnection.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video')
        out.push({ packets: s.packetsReceived, frames: s.framesDecoded, received: s.framesReceived, dropped: s.framesDropped, keys: s.keyFramesDecoded, plis: s.pliCount, firs: s.firCount, nacks: s.nackCount });
    });
    return out;
  });
}

// What Ann's camera sender has: the track's device and capture size, the
// encoder's bitrate cap.
function cameraSender(peer) {
  return peer.page.evaluate(() => {
    const sender = window.conf.room.sender('camera');
    const track = sender?.track;
    if (!track) return null;
    const s = track.getSettings();
    return {
      deviceId: s.deviceId, width: s.width, height: s.height, live: track.readyState === 'live',
      maxBitrate: sender.getParameters().encodings?.[0]?.maxBitrate ?? null,
    };
  });
}

test('(l) switching cameras in the call: the other side keeps decoding', { timeout: TEST_TIMEOUT }, async (t) => {
  const room = await createRoom(server, annToken, 'Two cameras');
  // Three fake cameras: fake_device_0 (I420), fake_device_1 (a Y16 depth
  // camera, which a video element shows but the encoder gets no frames
  // of) and fake_device_2 (MJPEG); the switch goes from 0 to 2.
  const ann = await joinUI('conf-l-ann', room, { user: 'ann', displayName: 'Ann', devices: 3 });
  const bob = await joinUI('conf-l-bob', room, { user: 'bob', displayName: 'Bob', pin: room.participant_pin });
  const seen = await waitForTileVideo(bob, 'Ann\'s camera', (x) => x.participant === ann.pid);
  const before = await cameraSender(ann);

  // The settings menu lists the cameras, the one in use selected.
  await ann.page.getByRole('button', { name: /^Settings/ }).click();
  const select = ann.page.getByLabel('Camera', { exact: true });
  // The menu fills once the device list is read: evaluateAll below does
  // not wait, so wait for the select first.
  await select.waitFor();
  const cameras = await select.locator('option').evaluateAll((os) => os.map((o) => ({ id: o.value, label: o.textContent })));
  t.diagnostic(`cameras: ${JSON.stringify(cameras.map((c) => c.label))}`);
  assert.equal(cameras.length, 3, JSON.stringify(cameras));
  assert.equal(await select.inputValue(), before.deviceId);
  assert.equal(cameras.find((c) => c.id === before.deviceId)?.label, 'fake_device_0');
  const other = cameras.find((c) => c.label === 'fake_device_2');
  await select.selectOption(other.id);
  const after = await waitFor('Ann to send from the other camera', async () => {
    const s = await cameraSender(ann);
    return s?.live && s.deviceId === other.id ? s : { ok: false, s };
  });
  // Same size and bitrate cap as before: the chosen quality stays.
  assert.equal(after.width, before.width);
  assert.equal(after.maxBitrate, before.maxBitrate);
  // The same server track goes on; Bob keeps decoding it.
  const frames = (await decoded(bob))[seen.tile.track].frames;
  const now = await waitFor('Bob to keep decoding Ann\'s camera', async () => {
    const d = (await decoded(bob))[seen.tile.track];
    return d && d.frames > frames + 30 ? d : { ok: false, d, sent: await sentCamera(ann), bob: await inboundVideo(bob) };
  });
  t.diagnostic(`Bob decoded ${frames} frames at the switch, ${now.frames} since`);
  // Ann's own tile shows the new camera.
  const own = await ann.page.evaluate(() => document.querySelector('.tile.self video')?.srcObject?.getVideoTracks()[0]?.getSettings().deviceId);
  assert.equal(own, other.id);
  await shot(ann, 'l-ann-camera-menu');
  await ann.page.keyboard.press('Escape');
  await shot(bob, 'l-bob');
  await closePeers();
});

test('(m) each video quality changes the capture size and the encoder cap', { timeout: TEST_TIMEOUT }, async (t) => {
  const room = await createRoom(server, annToken, 'Qualities');
  const ann = await joinUI('conf-m-ann', room, { user: 'ann', displayName: 'Ann' });
  const bob = await joinUI('conf-m-bob', room, { user: 'bob', displayName: 'Bob', pin: room.viewer_pin });
  const seen = await waitForTileVideo(bob, 'Ann\'s camera', (x) => x.participant === ann.pid);
  const start = await cameraSender(ann);
  assert.deepEqual([start.width, start.height, start.maxBitrate], [640, 360, 900_000]);
  const caps = await ann.page.evaluate(() => {
    const c = window.conf.room.sender('camera').track.getCapabilities();
    return { width: c.width?.max, height: c.height?.max };
  });
  t.diagnostic(`the fake camera goes up to ${caps.width}x${caps.height}`);

  await ann.page.getByRole('button', { name: /^Settings/ }).click();
  const menu = ann.page.getByLabel('Video quality (what you send)');
  for (const [id, width, height, maxBitrate] of [
    ['fhd', 1920, 1080, 4_500_000], ['4k', 3840, 2160, 15_000_000], ['hd', 1280, 720, 2_500_000], ['sd', 640, 360, 900_000],
  ]) {
    if (width > caps.width || height > caps.height) {
      t.diagnostic(`${id}: the camera cannot capture ${width}x${height}, not tried`);
      continue;
    }
    await menu.selectOption(id);
    const s = await waitFor(`Ann to capture ${id}`, async () => {
      const x = await cameraSender(ann);
      return x?.width === width && x.height === height && x.maxBitrate === maxBitrate ? x : { ok: false, x };
    });
    assert.ok(s.live);
    if (id === 'fhd') {
      // Sent and decoded at that size.
      await waitFor('Ann to send 1920x1080', async () => {
        const x = await sentCamera(ann);
        return x?.width === 1920 && x.height === 1080 ? x : { ok: false, x };
      });
      await waitFor('Bob to decode 1920x1080', async () => {
        const d = (await decoded(bob))[seen.tile.track];
        return d?.width === 1920 && d.height === 1080 ? d : { ok: false, d };
      });
      await shot(ann, 'm-ann-fhd');
    }
    t.diagnostic(`${id}: captures ${s.width}x${s.height}, maxBitrate ${s.maxBitrate}, sends ${JSON.stringify(await sentCamera(ann))}`);
  }
  // Two choices in quick succession: the last one is what is captured.
  await menu.selectOption('fhd');
  await menu.selectOption('sd');
  const last = await waitFor('Ann to end at SD', async () => {
    const x = await cameraSender(ann);
    return x?.width === 640 && x.maxBitrate === 900_000 && (await menu.inputValue()) === 'sd' ? x : { ok: false, x };
  });
  assert.equal(last.height, 360);
  // And it is sent at that size again, Bob decoding on.
  await waitFor('Ann to send 640x360 again', async () => {
    const x = await sentCamera(ann);
    return x?.width === 640 && x.height === 360 ? x : { ok: false, x };
  });
  const frames = (await decoded(bob))[seen.tile.track].frames;
  await waitFor('Bob to decode Ann\'s camera on', async () => {
    const d = (await decoded(bob))[seen.tile.track];
    return d?.width === 640 && d.frames > frames + 30 ? d : { ok: false, d };
  });
  await ann.page.keyboard.press('Escape');
  await closePeers();
});

test('(e) speaker view shows the talker large', { timeout: TEST_TIMEOUT }, async () => {
  const room = await createRoom(server, annToken, 'Speakers');
  // Only Bob's (fake, beeping) microphone is on at first.
  const ann = await joinUI('conf-e-ann', room, { user: 'ann', displayName: 'Ann', mic: false });
  const bob = await joinUI('conf-e-bob', room, { user: 'bob', displayName: 'Bob', pin: room.participant_pin });
  const cat = await joinUI('conf-e-cat', room, { user: 'cat', displayName: 'Cat', pin: room.participant_pin, mic: false });
  await waitForTileVideo(ann, 'Bob\'s camera', (x) => x.participant === bob.pid);
  await waitForTileVideo(ann, 'Cat\'s camera', (x) => x.participant === cat.pid);
  await ann.page.getByRole('button', { name: 'Speaker view' }).click();

  const large = (who) => waitFor(`Ann to show ${who.name} large`, async () => {
    const all = await tiles(ann);
    const big = all.filter((x) => x.large);
    return big.length === 1 && big[0].participant === who.pid && big[0].videoOn ? all : { ok: false, all };
  });
  const first = await large(bob);
  // The others are in the strip, Bob marked as talking.
  assert.ok(first.find((x) => x.participant === cat.pid).inStrip);
  assert.ok(first.find((x) => x.self).inStrip);
  await shot(ann, 'e-ann-bob-talks');

  // Bob mutes, Cat turns her microphone on: Cat goes large.
  await bob.page.getByRole('button', { name: 'Mute microphone' }).click();
  await cat.page.getByRole('button', { name: 'Unmute microphone' }).click();
  const second = await large(cat);
  assert.ok(second.find((x) => x.participant === bob.pid).inStrip);
  await waitFor('Ann to see Cat talking', async () => {
    const c = (await tiles(ann)).find((x) => x.participant === cat.pid);
    return c?.speaking ? c : { ok: false, c };
  });
  await shot(ann, 'e-ann-cat-talks');
  await closePeers();
});

test('(f) grid pages: tiles off the page are unsubscribed', { timeout: TEST_TIMEOUT }, async () => {
  const room = await createRoom(server, annToken, 'Pages');
  // Two tiles per page at Ann's: herself and Bob on page 1, Cat on page 2.
  const ann = await joinUI('conf-f-ann', room, { user: 'ann', displayName: 'Ann', mic: false, query: '&maxTiles=2' });
  const bob = await joinUI('conf-f-bob', room, { user: 'bob', displayName: 'Bob', pin: room.participant_pin, mic: false });
  await waitForTileVideo(ann, 'Bob\'s camera', (x) => x.participant === bob.pid);
  const cat = await joinUI('conf-f-cat', room, { user: 'cat', displayName: 'Cat', pin: room.participant_pin, mic: false });
  const catTrack = await waitFor('Cat\'s camera track at Ann', () => ann.page.evaluate((pid) =>
    [...window.conf.room.tracks.values()].find((x) => x.participant_id === pid && x.kind === 'video')?.id, cat.pid));
  // Cat's tile is not on page 1, and Ann stopped receiving her video.
  await waitFor('Cat unsubscribed at Ann', () => ann.page.evaluate((id) => window.conf.room.unsubscribed.has(id), catTrack));
  const page1 = await tiles(ann);
  assert.deepEqual(page1.map((x) => x.participant).sort(), [ann.pid, bob.pid].sort(), JSON.stringify(page1));
  // No frames of hers arrive any more (two equal counts a second apart).
  let last = -1;
  await waitFor('Cat\'s frames to stop at Ann', async () => {
    const frames = (await decoded(ann))[catTrack]?.frames ?? 0;
    const same = frames === last;
    last = frames;
    return same ? { frames } : { ok: false, frames };
  }, 60000, 1000);
  await shot(ann, 'f-ann-page-1');

  await ann.page.getByRole('button', { name: 'Show page 2 of 2' }).click();
  await waitForTileVideo(ann, 'Cat\'s camera on page 2', (x) => x.participant === cat.pid);
  assert.equal(await ann.page.evaluate((id) => window.conf.room.unsubscribed.has(id), catTrack), false);
  const bobTrack = page1.find((x) => x.participant === bob.pid).track;
  await waitFor('Bob unsubscribed at Ann', () => ann.page.evaluate((id) => window.conf.room.unsubscribed.has(id), bobTrack));
  await shot(ann, 'f-ann-page-2');

  // Hiding Cat's video in the participant list unsubscribes it too.
  await ann.page.getByRole('button', { name: /^Participants/ }).click();
  await ann.page.getByRole('button', { name: 'Hide Cat\'s video' }).click();
  await waitFor('Cat hidden at Ann', async () => {
    const c = (await tiles(ann)).find((x) => x.participant === cat.pid);
    const unsubscribed = await ann.page.evaluate((id) => window.conf.room.unsubscribed.has(id), catTrack);
    return c && !c.videoOn && /video hidden/.test(c.label) && unsubscribed ? c : { ok: false, c, unsubscribed };
  });
  await ann.page.getByRole('button', { name: 'Show Cat\'s video' }).click();
  await waitForTileVideo(ann, 'Cat\'s camera shown again', (x) => x.participant === cat.pid);

  // Audio only: the server sends no video at all; the tile says so.
  await ann.page.getByRole('button', { name: 'Audio only (receive no video)' }).click();
  await waitFor('audio only at Ann', async () => {
    const c = (await tiles(ann)).find((x) => x.participant === cat.pid);
    const on = await ann.page.evaluate(() => window.conf.room.audioOnly);
    return on && c && !c.videoOn && /audio only/.test(c.label) ? c : { ok: false, c, on };
  });
  await shot(ann, 'f-ann-audio-only');
  await ann.page.getByRole('button', { name: 'Receive video again' }).click();
  await waitForTileVideo(ann, 'Cat\'s camera after audio only', (x) => x.participant === cat.pid);
  await closePeers();
});

test('(k) a 1-1 call\'s room joins at once: camera for video, microphone only for voice', { timeout: TEST_TIMEOUT }, async () => {
  const room = await createRoom(server, annToken, 'Call');
  const ann = await openBrowser(server, 'conf-k-ann', `/test/conference.html?room=${room.id}&token=${tokens.ann}&call=voice`, { viewport: VIEWPORT });
  peers.push(ann);
  const bob = await openBrowser(server, 'conf-k-bob',
    `/test/conference.html?room=${room.id}&pin=${room.participant_pin}&token=${tokens.bob}&call=video`, { viewport: VIEWPORT });
  peers.push(bob);
  for (const p of [ann, bob]) {
    await p.page.waitForFunction(() => window.conf?.room);
    p.pid = await p.page.evaluate(() => window.conf.room.participantId);
  }
  assert.equal(await ann.page.getByRole('button', { name: 'Join', exact: true }).count(), 0);
  await waitForTileVideo(ann, 'Bob\'s camera', (x) => x.participant === bob.pid);
  await ann.page.getByRole('button', { name: 'Turn camera on' }).waitFor(); // voice: camera off
  await waitFor('Bob to see Ann with her microphone on and no video', async () => {
    const a = (await tiles(bob)).find((x) => x.participant === ann.pid);
    return a && !a.micMuted && !a.videoOn ? a : { ok: false, a };
  });
  await shot(bob, 'k-bob-voice-call');
  await closePeers();
});

// --- moderation: the server enforces each (mute_participant,
// remove_participant, set_permissions, lock_room); the UI follows its events.

test('(g) a moderator mutes a participant', { timeout: TEST_TIMEOUT }, async () => {
  const room = await createRoom(server, annToken, 'Mute');
  const ann = await joinUI('conf-g-ann', room, { user: 'ann', displayName: 'Ann' });
  const bob = await joinUI('conf-g-bob', room, { user: 'bob', displayName: 'Bob', pin: room.participant_pin });
  await waitForTileVideo(ann, 'Bob\'s camera', (x) => x.participant === bob.pid);
  await waitFor('Bob\'s microphone at Ann', async () => {
    const b = (await tiles(ann)).find((x) => x.participant === bob.pid);
    return b && !b.micMuted ? b : { ok: false, b };
  });
  await ann.page.getByRole('button', { name: /^Participants/ }).click();
  await ann.page.getByRole('button', { name: 'Mute Bob\'s microphone' }).click();
  await waitFor('Ann to see Bob muted', async () => {
    const b = (await tiles(ann)).find((x) => x.participant === bob.pid);
    return b?.micMuted ? b : { ok: false, b };
  });
  // Bob's own controls follow: his microphone button offers to unmute.
  await bob.page.getByRole('button', { name: 'Unmute microphone' }).waitFor();
  await shot(ann, 'g-ann-muted-bob');
  await shot(bob, 'g-bob-muted');
  await closePeers();
});

test('(h) a moderator removes a participant', { timeout: TEST_TIMEOUT }, async () => {
  const room = await createRoom(server, annToken, 'Remove');
  const ann = await joinUI('conf-h-ann', room, { user: 'ann', displayName: 'Ann' });
  const bob = await joinUI('conf-h-bob', room, { user: 'bob', displayName: 'Bob', pin: room.participant_pin });
  await waitForTileVideo(ann, 'Bob\'s camera', (x) => x.participant === bob.pid);
  await ann.page.getByRole('button', { name: /^Participants/ }).click();
  await ann.page.getByRole('button', { name: 'Remove Bob from the call' }).click();
  await ann.page.getByRole('dialog', { name: 'Remove Bob?' }).getByRole('button', { name: 'Remove' }).click();
  await bob.page.getByText('You were removed by a moderator').waitFor();
  await waitFor('Bob\'s tile to go at Ann', async () => {
    const all = await tiles(ann);
    return all.some((x) => x.participant === bob.pid) ? { ok: false, all } : all;
  });
  await shot(bob, 'h-bob-removed');
  await shot(ann, 'h-ann-after-remove');
  await closePeers();
});

test('(i) a moderator lets a viewer publish', { timeout: TEST_TIMEOUT }, async () => {
  const room = await createRoom(server, annToken, 'Promote');
  const ann = await joinUI('conf-i-ann', room, { user: 'ann', displayName: 'Ann' });
  const carol = await joinUI('conf-i-carol', room, { user: 'carol', displayName: 'Carol', pin: room.viewer_pin });
  assert.equal(await carol.page.getByRole('button', { name: /camera/i }).count(), 0);
  await ann.page.getByRole('button', { name: /^Participants/ }).click();
  await ann.page.getByRole('button', { name: 'Allow Carol to publish' }).click();
  // Carol's publish controls appear; she turns her camera on.
  await carol.page.getByRole('button', { name: 'Turn camera on' }).click();
  await waitForTileVideo(ann, 'Carol\'s camera', (x) => x.participant === carol.pid);
  await shot(carol, 'i-carol-promoted');
  await shot(ann, 'i-ann-sees-carol');
  await closePeers();
});

test('(j) a moderator locks the room', { timeout: TEST_TIMEOUT }, async () => {
  const room = await createRoom(server, annToken, 'Lock');
  const ann = await joinUI('conf-j-ann', room, { user: 'ann', displayName: 'Ann' });
  await ann.page.getByRole('button', { name: /^Participants/ }).click();
  await ann.page.getByRole('button', { name: 'Lock room' }).click();
  await ann.page.locator('.conf-lock').waitFor({ state: 'visible' });
  // Nobody new gets in.
  const res = await fetch(`${server.url}/api/v1/rooms/${room.id}/join`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tokens.cat}` },
    body: JSON.stringify({ pin: room.participant_pin }),
  });
  assert.equal(res.status, 403);
  assert.equal((await res.json()).error.code, 'LOCKED');
  await shot(ann, 'j-ann-locked');
  await ann.page.getByRole('button', { name: 'Unlock room' }).click();
  await ann.page.locator('.conf-lock').waitFor({ state: 'hidden' });
  await closePeers();
});
