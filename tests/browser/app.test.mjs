// The web client's pages (web/index.html, web/app/*.js) in real Chromium
// against the real zumzi-server, driven only through what a user sees:
//   - sign-in: a wrong code shows its error, then the demo code works and
//     the token is remembered;
//   - rooms: a room created with the HD preset is listed with its
//     participant and viewer PINs and invite links (checked against REST);
//   - messenger: two users add each other, exchange 1-1 messages (typing
//     indicator, unread badge, read receipt), a picture sent by one shows
//     its thumbnail at the other, and a group's messages name their sender;
//   - the server restarts: both clients reconnect by themselves, and a
//     message typed while it was down is sent once, and read;
//   - a 1-1 call rings at the other, is accepted, both enter the same call
//     room, and leaving it ends the call at the other too;
//   - a token revoked elsewhere sends the page back to sign-in; sign-out
//     returns to sign-in, forgets and revokes the token; an invite link
//     opened signed out leads through sign-in back to the room.
// Screenshots land in the log directory printed first.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import zlib from 'node:zlib';

import { logDir, openBrowser, startServer, waitFor } from './harness.mjs';

const TEST_TIMEOUT = 240000;
const VIEWPORT = { width: 1200, height: 760 };
let server;
const browsers = {};
const state = {};

before(async () => {
  console.error(`screenshots and logs: ${logDir}`);
  server = await startServer();
});

after(async () => {
  for (const b of Object.values(browsers)) await b.close();
  await server?.stop();
});

async function rest(method, route, token, body) {
  const res = await fetch(server.url + route, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json() };
}

// A small RGB PNG (a gradient) the server's thumbnailer can decode.
function png(width, height) {
  const crcTable = [];
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crcTable[n] = c >>> 0;
  }
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      row[1 + x * 3] = Math.round((255 * x) / width);
      row[2 + x * 3] = Math.round((255 * y) / height);
      row[3 + x * 3] = 160;
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function signIn(page, email, name, code = '123456') {
  await page.getByLabel('E-mail or phone number').fill(email);
  if (name) await page.getByLabel('Your name (for a new account)').fill(name);
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByLabel('6-digit code').fill(code);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

test('sign in: a wrong code is refused with a message, the right one signs in', { timeout: TEST_TIMEOUT }, async (t) => {
  t.diagnostic(`screenshots and logs: ${logDir}`);
  const ann = (browsers.ann = await openBrowser(server, 'app-ann', '/', { viewport: VIEWPORT }));
  const { page } = ann;
  await page.waitForURL(/\/signin$/);
  await ann.screenshot('app-signin');
  await signIn(page, 'ann@example.com', 'Ann', '000000');
  const error = page.locator('#signin-error');
  await waitFor('the wrong-code message', async () => /Wrong code\. 4 tries left/.test(await error.textContent()));
  assert.equal(await page.evaluate(() => localStorage.getItem('zumzi.token')), null);
  await ann.screenshot('app-signin-wrong-code');

  await page.getByLabel('6-digit code').fill('123456');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(/\/rooms$/);
  state.annToken = await page.evaluate(() => localStorage.getItem('zumzi.token'));
  assert.match(state.annToken, /^zt_/);
  const profile = await rest('GET', '/api/v1/profile', state.annToken);
  assert.equal(profile.json.name, 'Ann');
  state.annId = profile.json.id;
  await page.getByRole('button', { name: 'Profile: Ann' }).waitFor();

  // Remembered: a reload stays signed in.
  await page.reload();
  await page.waitForURL(/\/rooms$/);
  await page.getByRole('heading', { name: 'My rooms' }).waitFor();
});

test('rooms: create with a preset, listed with PINs and invite links', { timeout: TEST_TIMEOUT }, async () => {
  const ann = browsers.ann;
  const { page } = ann;
  await page.getByLabel('Room name').fill('Weekly sync');
  await page.getByLabel('Video quality').selectOption('hd');
  await page.getByRole('button', { name: 'Create room' }).click();
  const card = page.locator('article.room-card', { hasText: 'Weekly sync' });
  await card.waitFor();

  const rooms = (await rest('GET', '/api/v1/rooms', state.annToken)).json.rooms;
  assert.equal(rooms.length, 1);
  const room = rooms[0];
  assert.equal(room.preset, 'hd');
  state.room = room;
  assert.match(await card.textContent(), /HD 1280×720/);
  assert.equal(await card.locator('.pin-participant code.pin').textContent(), room.participant_pin);
  assert.equal(await card.locator('.pin-viewer code.pin').textContent(), room.viewer_pin);
  const links = await card.locator('a.invite-link').evaluateAll((as) => as.map((a) => a.href));
  assert.deepEqual(links, [
    `${server.url}/r/${room.id}?pin=${room.participant_pin}`,
    `${server.url}/r/${room.id}?pin=${room.viewer_pin}`,
  ]);
  await card.getByRole('button', { name: 'Copy participant invite link' }).waitFor();
  await card.getByRole('button', { name: 'Copy viewer invite link' }).waitFor();
  await ann.screenshot('app-rooms');
});

test('messenger: 1-1 messages, typing, unread badge and read receipt', { timeout: TEST_TIMEOUT }, async () => {
  const bob = (browsers.bob = await openBrowser(server, 'app-bob', '/messenger', { viewport: VIEWPORT }));
  await bob.page.waitForURL(/\/signin\?next=%2Fmessenger$/);
  await signIn(bob.page, 'bob@example.com', 'Bob');
  await bob.page.waitForURL(/\/messenger$/); // back where it wanted to go
  state.bobToken = await bob.page.evaluate(() => localStorage.getItem('zumzi.token'));

  const ann = browsers.ann.page;
  await ann.getByRole('link', { name: 'Messenger' }).click();
  await ann.waitForURL(/\/messenger/);
  await ann.getByRole('tab', { name: 'Contacts' }).click();
  await ann.getByLabel('Add a contact').fill('bob@example.com');
  await ann.getByRole('button', { name: 'Add contact' }).click();
  await ann.getByRole('button', { name: 'Message Bob' }).click();
  await ann.getByRole('heading', { name: 'Bob' }).waitFor();
  // Bob is online: his presence reached Ann.
  await ann.locator('.chat-top .presence.online').waitFor();
  const input = ann.getByLabel('Message', { exact: true });
  await input.fill('Hello Bob');
  await input.press('Enter');
  const mine = ann.locator('li.msg.mine', { hasText: 'Hello Bob' });
  await mine.locator('.msg-state[data-state="delivered"], .msg-state[data-state="read"]').waitFor();

  // Bob: an unread badge in the header and on the conversation.
  const bp = bob.page;
  await bp.getByRole('link', { name: /Messenger.*1 unread/ }).waitFor();
  const conv = bp.getByRole('button', { name: 'Ann, 1 unread' });
  await conv.waitFor();
  assert.match(await conv.textContent(), /Hello Bob/);
  await bob.screenshot('app-messenger-unread');
  await conv.click();
  await bp.locator('li.msg.theirs', { hasText: 'Hello Bob' }).waitFor();

  // Read receipt back at Ann; the badge is gone at Bob.
  await mine.locator('.msg-state[data-state="read"]').waitFor();
  await bp.getByRole('button', { name: 'Ann', exact: true }).waitFor();

  // Typing, then the reply.
  const bobInput = bp.getByLabel('Message', { exact: true });
  await bobInput.fill('Hi Ann');
  await ann.locator('.chat-typing', { hasText: 'Bob is typing…' }).waitFor();
  await browsers.ann.screenshot('app-messenger-typing');
  await bobInput.press('Enter');
  await ann.locator('li.msg.theirs', { hasText: 'Hi Ann' }).waitFor();
  await ann.locator('.chat-typing', { hasText: /^$/ }).waitFor();
  // Ann sees it in the open conversation: nothing unread stays behind.
  await ann.getByRole('link', { name: 'Messenger', exact: true }).waitFor();
  await bp.locator('li.msg.mine', { hasText: 'Hi Ann' }).locator('.msg-state[data-state="read"]').waitFor();
  await browsers.ann.screenshot('app-messenger-ann');
  await bob.screenshot('app-messenger-bob');
});

test('messenger: a picture shows its thumbnail at the other side', { timeout: TEST_TIMEOUT }, async () => {
  const ann = browsers.ann.page;
  const bp = browsers.bob.page;
  await ann.locator('.chat-compose input[type=file]').setInputFiles({
    name: 'gradient.png', mimeType: 'image/png', buffer: png(320, 200),
  });
  const thumbLoaded = (page, who) => waitFor(`${who} to show the thumbnail`, () =>
    page.locator(`li.msg.${who} img.msg-thumb`).evaluateAll((imgs) =>
      imgs.some((i) => i.complete && i.naturalWidth === 100 && i.alt === 'gradient.png')));
  await thumbLoaded(ann, 'mine');
  await thumbLoaded(bp, 'theirs');
  // Full size on click: the 320x200 original.
  await bp.getByRole('button', { name: 'Open picture gradient.png' }).click();
  await waitFor('the full picture', () => bp.locator('dialog img.viewer-image').evaluate((i) =>
    i.complete && i.naturalWidth === 320 && i.naturalHeight === 200));
  await browsers.bob.screenshot('app-picture-full');
  await bp.getByRole('button', { name: 'Close' }).click();
  await browsers.bob.screenshot('app-picture-bob');
});

test('messenger: a group with Bob, messages carry the sender name', { timeout: TEST_TIMEOUT }, async () => {
  const ann = browsers.ann.page;
  const bp = browsers.bob.page;
  await ann.getByRole('tab', { name: 'Groups' }).click();
  await ann.getByRole('button', { name: 'New group' }).click();
  const dialog = ann.getByRole('dialog', { name: 'New group' });
  await dialog.getByLabel('Group name').fill('Climbing');
  await dialog.getByLabel('Bob').check();
  await browsers.ann.screenshot('app-group-new');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await ann.getByRole('heading', { name: 'Climbing' }).waitFor();
  const input = ann.getByLabel('Message', { exact: true });
  await input.fill('Saturday, 10:00?');
  await input.press('Enter');
  // Bob's list shows the group with the message and who wrote it.
  const conv = bp.getByRole('button', { name: 'Climbing, 1 unread' });
  await conv.waitFor();
  assert.match(await conv.textContent(), /Ann: Saturday, 10:00\?/);
  await conv.click();
  const msg = bp.locator('li.msg.theirs', { hasText: 'Saturday, 10:00?' });
  await waitFor('the sender name', async () => (await msg.locator('.msg-sender').textContent()) === 'Ann');
  await bp.getByRole('button', { name: 'Climbing', exact: true }).waitFor(); // read: no badge
  await bp.getByRole('button', { name: 'Members' }).click();
  const members = bp.getByRole('dialog', { name: 'Members of Climbing' });
  await members.getByText('Ann').waitFor();
  await browsers.bob.screenshot('app-group-members');
  await members.getByRole('button', { name: 'Close' }).click();
  // Back to the 1-1 conversation for what follows.
  await ann.getByRole('tab', { name: 'Chats' }).click();
  await ann.getByRole('button', { name: /^Bob/ }).click();
  await bp.getByRole('button', { name: /^Ann/ }).click();
  await ann.getByRole('heading', { name: 'Bob' }).waitFor();
  await bp.getByRole('heading', { name: 'Ann' }).waitFor();
});

test('the server restarts: a message typed meanwhile goes out once it is back', { timeout: TEST_TIMEOUT }, async () => {
  const ann = browsers.ann.page;
  const bp = browsers.bob.page;
  await server.kill();
  const status = ann.getByRole('button', { name: /Offline|Connecting/ });
  await status.waitFor();
  const input = ann.getByLabel('Message', { exact: true });
  await input.fill('Sent while offline');
  await input.press('Enter');
  const item = ann.locator('li.msg.mine', { hasText: 'Sent while offline' });
  await item.locator('.msg-state[data-state="sending"]').waitFor();
  await browsers.ann.screenshot('app-offline');
  await server.restart();
  // Both reconnect by themselves; Bob still has the conversation open.
  await item.locator('.msg-state[data-state="read"]').waitFor();
  await status.waitFor({ state: 'detached' });
  assert.equal(await bp.locator('li.msg', { hasText: 'Sent while offline' }).count(), 1);
  assert.equal(await item.count(), 1);
});

test('a 1-1 call rings, is answered, and ends at both sides', { timeout: TEST_TIMEOUT }, async () => {
  const ann = browsers.ann.page;
  const bp = browsers.bob.page;
  await ann.getByRole('region', { name: 'Conversation' }).getByRole('button', { name: 'Video call Bob' }).click();
  const ring = bp.getByRole('alertdialog', { name: 'Video call from Ann' });
  await ring.waitFor();
  await ann.getByRole('alertdialog', { name: 'Calling Bob' }).getByText('Ringing…').waitFor();
  await browsers.bob.screenshot('app-call-incoming');
  await ring.getByRole('button', { name: 'Accept' }).click();
  await ann.waitForURL(/\/r\/[^/?]+$/);
  await bp.waitForURL(/\/r\/[^/?]+$/);
  const annRoom = new URL(ann.url()).pathname;
  assert.equal(new URL(bp.url()).pathname, annRoom);
  await browsers.ann.screenshot('app-call-room');
  // Ann leaves the call page: the call ends, and Bob is taken out of it.
  await ann.goBack();
  await ann.waitForURL(/\/messenger/);
  await bp.waitForURL(/\/messenger/);
  await bp.getByText('The call ended.').waitFor();
});

test('sign out forgets the token; an invite link leads through sign-in to the room', { timeout: TEST_TIMEOUT }, async () => {
  // A token revoked elsewhere means signing in again.
  assert.equal((await rest('POST', '/api/v1/logout', state.bobToken)).status, 200);
  await browsers.bob.page.reload();
  await browsers.bob.page.waitForURL(/\/signin\?next=%2Fmessenger/);
  assert.equal(await browsers.bob.page.evaluate(() => localStorage.getItem('zumzi.token')), null);

  const ann = browsers.ann;
  const { page } = ann;
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/signin$/);
  assert.equal(await page.evaluate(() => localStorage.getItem('zumzi.token')), null);
  assert.equal((await rest('GET', '/api/v1/profile', state.annToken)).status, 401);
  await page.goto(`${server.url}/rooms`);
  await page.waitForURL(/\/signin\?next=%2Frooms$/);

  const invite = `/r/${state.room.id}?pin=${state.room.participant_pin}`;
  await page.goto(server.url + invite);
  await page.waitForURL(/\/signin\?next=/);
  await page.getByText('Sign in to join the room you were invited to.').waitFor();
  await ann.screenshot('app-invite-signin');
  await signIn(page, 'ann@example.com');
  await page.waitForURL((url) => url.pathname + url.search === invite);
});
