// Real Chromium peers in Zumzi rooms, through web/zumzi.js and the test page
// web/test/call.html served by zumzi-server itself:
//   - two browsers each decode the other's video and receive its audio,
//     and each sees the other `speaking` (audio-level extension);
//   - a browser and a GStreamer zumzi-bot see each other, and a second
//     browser decodes both;
//   - a browser forced to send H.264 is decoded by a viewer (viewer PIN,
//     no camera), whose publish attempt is refused;
//   - a getDisplayMedia screen share appears at the other browser as a
//     second video track and disappears when stopped, twice;
//   - an HD publisher's answer accepts transport-wide-cc; its bandwidth
//     estimate is printed (not asserted).
// The screen share is a real getDisplayMedia() call: headless Chromium with
// --use-fake-ui-for-media-stream and --use-fake-device-for-media-stream
// grants it without a picker and captures a fake 1280x720 screen.
// Each test saves screenshots (and every page's console) in the log
// directory printed first. Run by `meson test` (suite `browser`).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  createRoom, login, logDir, openPeer, runBot, sleep, startServer, waitFor, waitForAudio, waitForVideo,
} from './harness.mjs';

const TEST_TIMEOUT = 300000;
let server;
let users;
const peers = [];

async function peer(name) {
  const p = await openPeer(server, name);
  peers.push(p);
  return p;
}

async function closePeers() {
  while (peers.length) await peers.pop().close();
}

before(async () => {
  // stderr: stdout is the TAP stream, which must start with its version.
  console.error(`screenshots and logs: ${logDir}`);
  server = await startServer();
  users = {
    ann: await login(server, 'ann@example.com', 'Ann'),
    bob: await login(server, 'bob@example.com', 'Bob'),
  };
});

after(async () => {
  await closePeers();
  await server?.stop();
});

test('two browsers see and hear each other', { timeout: TEST_TIMEOUT }, async (t) => {
  t.diagnostic(`screenshots and logs: ${logDir}`);
  const room = await createRoom(server, users.ann, 'Two browsers');
  const ann = await peer('two-ann');
  const bob = await peer('two-bob');
  // A wrong PIN is the server's BADPIN, through zumzi.js.
  const wrong = room.participant_pin === '00000000' ? '11111111' : '00000000';
  const refused = await bob.call('joinError', { token: users.bob, roomId: room.id, pin: wrong });
  assert.equal(refused.code, 'BADPIN', JSON.stringify(refused));
  assert.equal(refused.rooms, 0);

  const annJoin = await ann.call('join', { token: users.ann, roomId: room.id });
  const bobJoin = await bob.call('join', { token: users.bob, roomId: room.id, pin: room.participant_pin });
  assert.equal(annJoin.role, 'owner');
  assert.equal(bobJoin.role, 'publisher');
  await ann.call('publishCamera');
  await bob.call('publishCamera');

  for (const [me, other] of [[ann, bobJoin], [bob, annJoin]]) {
    const v = await waitForVideo(me, 'the other camera', (t) => t.from === other.participantId && t.label === 'camera');
    assert.equal(v.track.codec, 'VP8');
    assert.ok(v.track.videoWidth > 0 && v.track.videoHeight > 0);
    const a = await waitForAudio(me);
    assert.equal(a.track.from, other.participantId);
    assert.equal(a.track.label, 'mic');
  }
  await ann.screenshot('two-browsers-ann');
  await bob.screenshot('two-browsers-bob');

  // The publish answer accepts the RFC 6464 audio-level extension, so
  // Chromium writes it, and the fake microphone's beeps make the server
  // announce the other as speaking.
  for (const [me, other] of [[ann, bobJoin], [bob, annJoin]]) {
    const { publish } = await me.call('sdp');
    assert.match(publish.remote, /a=extmap:\d+ urn:ietf:params:rtp-hdrext:ssrc-audio-level/, publish.remote);
    const events = await waitFor(`${me.name} to see the other speaking`, async () => {
      const all = await me.call('speaking');
      return all.some((e) => e.participant_id === other.participantId && e.speaking) ? all : { ok: false, all };
    });
    t.diagnostic(`${me.name} saw speaking events: ${JSON.stringify(events)}`);
  }

  // Figures for the record (not asserted: the machine is shared).
  await sleep(8000);
  const seen = await ann.call('remote');
  const sent = await bob.call('sent');
  t.diagnostic(`Ann receives: ${JSON.stringify(seen.tracks)} ${JSON.stringify(seen.inbound)}`);
  t.diagnostic(`Bob sends: ${JSON.stringify(sent)}`);

  // Leaving takes Bob's tracks away at Ann's.
  await bob.call('leave');
  await waitFor('Ann to lose Bob\'s tracks', async () => {
    const r = await ann.call('remote');
    return r.tracks.length === 0 ? r : { ok: false, r };
  });
  await closePeers();
});

test('a browser and a GStreamer bot see each other', { timeout: TEST_TIMEOUT }, async (t) => {
  const room = await createRoom(server, users.ann, 'Browser and bot');
  const ann = await peer('bot-ann');
  const annJoin = await ann.call('join', { token: users.ann, roomId: room.id });
  await ann.call('publishCamera');
  const bot = runBot([
    '--server', server.url, '--token', users.bob, '--room', room.id, '--pin', room.participant_pin,
    '--duration', '30', '--size', '320x240', '--fps', '15',
  ]);
  const v = await waitForVideo(ann, 'the bot\'s camera', (t) => t.from !== annJoin.participantId && t.label === 'camera');
  assert.equal(v.track.codec, 'VP8');
  await waitForAudio(ann);
  await ann.screenshot('browser-and-bot-ann');

  // Bob, a second browser, then gets in one subscribe bundle the bot's
  // audio level (its extmap id 1) and Chromium's (another id, with
  // transport-cc): forwarded packets keep their publisher's ids, and Bob
  // decodes both.
  const bob = await peer('bot-bob');
  await bob.call('join', { token: users.bob, roomId: room.id, pin: room.participant_pin });
  await waitForVideo(bob, 'the bot\'s camera', (t) => t.from !== annJoin.participantId && t.label === 'camera');
  await waitFor('Bob to decode both cameras and hear both microphones', async () => {
    const r = await bob.call('remote');
    const video = r.inbound.filter((s) => s.kind === 'video' && s.framesDecoded > 0);
    const audio = r.inbound.filter((s) => s.kind === 'audio' && s.totalAudioEnergy > 0);
    return video.length === 2 && audio.length === 2 ? r : { ok: false, r };
  });
  const ext = (await bob.call('sdp')).subscribe.remote.match(/a=extmap:.*/g);
  t.diagnostic(`Bob's subscribe offer extensions: ${JSON.stringify(ext)}`);
  await bob.screenshot('browser-and-bot-bob');

  const { code, report } = await bot;
  assert.equal(code, 0, `zumzi-bot failed: ${JSON.stringify(report)}`);
  const rows = report.bots[0].tracks.filter((t) => t.participant_id === annJoin.participantId);
  const video = rows.find((t) => t.kind === 'video');
  const audio = rows.find((t) => t.kind === 'audio');
  assert.ok(video && video.frames > 0, `the bot decoded no video from the browser: ${JSON.stringify(rows)}`);
  assert.ok(audio && audio.frames > 0, `the bot decoded no audio from the browser: ${JSON.stringify(rows)}`);
  assert.equal(video.label, 'camera');
  t.diagnostic(`bot decoded ${video.frames} video frames and ${audio.frames} audio buffers from Chromium`);
  await closePeers();
});

test('H.264 from a browser is decoded by a viewer browser', { timeout: TEST_TIMEOUT }, async () => {
  const room = await createRoom(server, users.ann, 'H.264');
  const ann = await peer('h264-ann');
  const bob = await peer('h264-bob');
  const annJoin = await ann.call('join', { token: users.ann, roomId: room.id });
  // Bob watches with the viewer PIN: he never opens a camera (so Chromium
  // has no media permission for his page) and may not publish.
  const bobJoin = await bob.call('join', { token: users.bob, roomId: room.id, pin: room.viewer_pin });
  assert.equal(bobJoin.role, 'viewer');
  await ann.call('publishCamera', { videoCodec: 'H264' });

  const v = await waitForVideo(bob, 'Ann\'s H.264 camera', (t) => t.from === annJoin.participantId && t.label === 'camera');
  assert.equal(v.track.codec, 'H264');
  assert.ok(v.inbound.some((s) => s.codec === 'video/H264' && s.framesDecoded > 0),
    `no decoded H.264 at Bob: ${JSON.stringify(v.inbound)}`);
  const sent = await ann.call('sent');
  assert.ok(sent.some((s) => s.kind === 'video' && s.codec === 'video/H264'), JSON.stringify(sent));
  await bob.screenshot('h264-bob');
  await assert.rejects(bob.call('publishCamera'), /may not publish/);
  await closePeers();
});

test('a screen share appears and disappears', { timeout: TEST_TIMEOUT }, async () => {
  const room = await createRoom(server, users.ann, 'Screen share');
  const ann = await peer('screen-ann');
  const bob = await peer('screen-bob');
  const annJoin = await ann.call('join', { token: users.ann, roomId: room.id });
  await bob.call('join', { token: users.bob, roomId: room.id, pin: room.participant_pin });
  await ann.call('publishCamera');
  await waitForVideo(bob, 'Ann\'s camera', (t) => t.from === annJoin.participantId && t.label === 'camera');

  await ann.call('shareScreen');
  const screen = await waitForVideo(bob, 'Ann\'s screen', (t) => t.from === annJoin.participantId && t.label === 'screen');
  const cameraToo = (await bob.call('remote')).tracks.filter((t) => t.kind === 'video');
  assert.equal(cameraToo.length, 2, JSON.stringify(cameraToo));
  assert.ok(screen.track.videoWidth > 0);
  await waitFor('frames of both videos', async () => {
    const r = await bob.call('remote');
    const decoding = r.inbound.filter((s) => s.kind === 'video' && s.framesDecoded > 0);
    return decoding.length >= 2 ? r : { ok: false, r };
  });
  await bob.screenshot('screen-share-bob-sharing');

  await ann.call('stopScreen');
  await waitFor('Bob to lose the screen share', async () => {
    const r = await bob.call('remote');
    const videos = r.tracks.filter((t) => t.kind === 'video');
    return videos.length === 1 && videos[0].label === 'camera' ? r : { ok: false, r };
  });
  // The camera goes on playing.
  await waitForVideo(bob, 'Ann\'s camera after the share', (t) => t.label === 'camera');
  await bob.screenshot('screen-share-bob-stopped');

  // Sharing again is a new track (a new m-line) and plays too.
  await ann.call('shareScreen');
  const again = await waitForVideo(bob, 'Ann\'s second screen share',
    (t) => t.from === annJoin.participantId && t.label === 'screen');
  assert.notEqual(again.track.id, screen.track.id);
  await ann.call('stopScreen');
  await waitFor('Bob to lose the second share', async () => {
    const r = await bob.call('remote');
    const videos = r.tracks.filter((t) => t.kind === 'video');
    return videos.length === 1 && videos[0].label === 'camera' ? r : { ok: false, r };
  });
  await closePeers();
});

// Bandwidth estimation of a browser publisher in an HD room: what
// Chromium's sender thinks it may send 3, 5, 10 and 20 s after the first frame
// reached the other side. Figures only (the machine is shared).
test('an HD publisher\'s bandwidth estimate', { timeout: TEST_TIMEOUT }, async (t) => {
  const room = await createRoom(server, users.ann, 'HD', { preset: 'hd' });
  const ann = await peer('hd-ann');
  const bob = await peer('hd-bob');
  const annJoin = await ann.call('join', { token: users.ann, roomId: room.id });
  await bob.call('join', { token: users.bob, roomId: room.id, pin: room.viewer_pin });
  await ann.call('publishCamera', { width: 1280, height: 720 });
  // The answer accepts transport-wide congestion control with the id
  // Chromium offered, and its transport-cc feedback, on every m-line.
  const { publish } = await ann.call('sdp');
  t.diagnostic(`publish answer extensions: ${JSON.stringify(publish.remote.match(/a=(extmap|rtcp-fb):.*/g))}`);
  const twcc = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
  const offered = new RegExp(`a=extmap:(\\d+)[^ ]* ${twcc}`).exec(publish.local);
  assert.ok(offered, 'Chromium offered no transport-cc extension');
  const sections = publish.remote.split(/\r\n(?=m=)/).filter((m) => m.startsWith('m='));
  assert.equal(sections.length, 2);
  for (const m of sections) {
    assert.ok(m.includes(`a=extmap:${offered[1]} ${twcc}`), m);
    assert.match(m, /a=rtcp-fb:\d+ transport-cc/, m);
  }
  await waitForVideo(bob, 'Ann\'s HD camera', (v) => v.from === annJoin.participantId && v.label === 'camera');
  const start = Date.now();
  const figures = [];
  for (const at of [3, 5, 10, 20]) {
    await sleep(Math.max(0, start + at * 1000 - Date.now()));
    const sent = await ann.call('sent');
    const video = sent.find((s) => s.kind === 'video');
    const transport = sent.find((s) => s.kind === 'transport');
    figures.push({
      at,
      availableOutgoingMbps: transport ? +(transport.availableOutgoingBitrate / 1e6).toFixed(2) : null,
      targetMbps: video ? +(video.targetBitrate / 1e6).toFixed(2) : null,
      sentMB: video ? +(video.bytesSent / 1e6).toFixed(2) : null,
      size: video ? `${video.frameWidth}x${video.frameHeight}@${video.framesPerSecond}` : null,
      limit: video?.qualityLimitationReason,
    });
  }
  t.diagnostic(`Ann's publisher after the first frame: ${JSON.stringify(figures)}`);
  const r = await bob.call('remote');
  const decoded = r.inbound.find((s) => s.kind === 'video' && s.framesDecoded > 0);
  assert.ok(decoded, JSON.stringify(r));
  t.diagnostic(`Bob decodes: ${JSON.stringify(decoded)}`);
  const sub = (await bob.call('sdp')).subscribe;
  t.diagnostic(`subscribe offer extensions: ${JSON.stringify(sub.remote.match(/a=(extmap|rtcp-fb):.*/g))}`);
  t.diagnostic(`subscribe answer extensions: ${JSON.stringify(sub.local.match(/a=(extmap|rtcp-fb):.*/g))}`);
  t.diagnostic(`Ann's camera: ${JSON.stringify(await ann.call('cameraSettings'))}`);
  await closePeers();
});
