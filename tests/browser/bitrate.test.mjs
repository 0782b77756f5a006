// x-google-start-bitrate: the publish answer of an HD room asks Chromium to
// start its bandwidth estimate at the preset's bitrate (2000 kbps) instead
// of its default (300 kbps), so that its encoder does not spend many
// seconds at a small size. The same Chromium publisher runs twice in one
// HD room: once with the parameter taken out of the answer in the page (as
// the server answered before), once as served. Asserted: the answer
// carries the parameter on the video codec only, and Chromium's sender
// sends with it (getParameters().codecs[].sdpFmtpLine). The ramp of both
// runs (frame size, target and available bitrate a few seconds after the
// session connected) is printed, never asserted: it is a timing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { createRoom, login, logDir, openPeer, sleep, startServer, waitFor } from './harness.mjs';

const TEST_TIMEOUT = 300000;
let server;
let users;
const peers = [];

before(async () => {
  console.error(`screenshots and logs: ${logDir}`);
  server = await startServer();
  users = { ann: await login(server, 'ann@example.com', 'Ann') };
});

after(async () => {
  while (peers.length) await peers.pop().close();
  await server?.stop();
});

// Removes every x-google-start-bitrate from the answers this page applies.
function stripStartBitrate() {
  const set = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = function (desc, ...rest) {
    if (desc && desc.type === 'answer' && desc.sdp) {
      const sdp = desc.sdp
        .replace(/;x-google-start-bitrate=\d+/g, '')
        .replace(/a=fmtp:\d+ x-google-start-bitrate=\d+\r\n/g, '');
      return set.call(this, { type: desc.type, sdp }, ...rest);
    }
    return set.call(this, desc, ...rest);
  };
}

// One publishing run: joins, publishes a 1280x720 camera, samples what the
// sender does for a few seconds, leaves.
async function run(t, room, name, strip) {
  const p = await openPeer(server, name);
  peers.push(p);
  if (strip) {
    await p.page.addInitScript(stripStartBitrate);
    await p.page.reload();
    await p.page.waitForFunction(() => window.call !== undefined);
  }
  await p.call('join', { token: users.ann, roomId: room.id });
  await p.call('publishCamera', { width: 1280, height: 720 });
  await waitFor(`${name} to send video`, async () => {
    const sent = await p.call('sent');
    const video = sent.find((s) => s.kind === 'video');
    return { ok: !!video && video.framesEncoded > 0, sent };
  }, 60000);
  const start = Date.now();
  const ramp = [];
  for (const at of [1, 2, 3, 5, 8]) {
    await sleep(Math.max(0, start + at * 1000 - Date.now()));
    const sent = await p.call('sent');
    const video = sent.find((s) => s.kind === 'video');
    const transport = sent.find((s) => s.kind === 'transport');
    ramp.push({
      at,
      availableKbps: transport ? Math.round(transport.availableOutgoingBitrate / 1000) : null,
      targetKbps: video ? Math.round(video.targetBitrate / 1000) : null,
      size: video ? `${video.frameWidth}x${video.frameHeight}` : null,
      limit: video?.qualityLimitationReason,
    });
  }
  const { publish } = await p.call('sdp');
  const params = await p.call('senderParameters');
  await p.screenshot(name);
  t.diagnostic(`${name}: ramp after the first encoded frame: ${JSON.stringify(ramp)}`);
  await p.call('leave');
  return { answer: publish.remote, params, ramp };
}

test('an HD room starts Chromium\'s video at the preset bitrate', { timeout: TEST_TIMEOUT }, async (t) => {
  t.diagnostic(`screenshots and logs: ${logDir}`);
  const room = await createRoom(server, users.ann, 'HD start', { preset: 'hd' });

  const before = await run(t, room, 'start-bitrate-stripped', true);
  const served = await run(t, room, 'start-bitrate-served', false);

  // The answer as served: the video codecs (not rtx/red/ulpfec) carry it,
  // audio does not.
  const sections = served.answer.split(/\r\n(?=m=)/).filter((m) => m.startsWith('m='));
  const video = sections.find((m) => m.startsWith('m=video'));
  const audio = sections.find((m) => m.startsWith('m=audio'));
  assert.ok(video && audio, served.answer);
  assert.match(video, /a=fmtp:\d+ [^\r\n]*x-google-start-bitrate=2000/, video);
  assert.doesNotMatch(audio, /x-google-start-bitrate/, audio);
  for (const [, pt, codec] of video.matchAll(/a=rtpmap:(\d+) ([^/]+)\//g)) {
    const fmtp = new RegExp(`a=fmtp:${pt} ([^\\r\\n]*)`).exec(video)?.[1] || '';
    const expected = !/^(rtx|red|ulpfec|flexfec-03)$/i.test(codec);
    assert.equal(/x-google-start-bitrate=2000/.test(fmtp), expected, `${codec} ${pt}: ${fmtp}`);
  }
  // Chromium sends with it: its sender's codec parameters carry it.
  const sender = served.params.find((s) => s.kind === 'video');
  t.diagnostic(`served: sender codecs ${JSON.stringify(sender?.codecs)}`);
  assert.ok(sender && sender.codecs.length > 0, JSON.stringify(served.params));
  assert.match(sender.codecs[0].sdpFmtpLine || '', /x-google-start-bitrate=2000/);

  // The baseline really ran without it.
  assert.doesNotMatch(before.answer, /x-google-start-bitrate/);
  const base = before.params.find((s) => s.kind === 'video');
  t.diagnostic(`stripped: sender codecs ${JSON.stringify(base?.codecs)}`);
  assert.doesNotMatch(base?.codecs[0]?.sdpFmtpLine || '', /x-google-start-bitrate/);
});
