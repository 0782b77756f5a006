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
//   - after a reload (receipts heard before forgotten) and on a second
//     device, your messages show Read at once (the REST receipts); a 1-1
//     conversation with someone who is not a contact carries their name;
//   - a page whose connection was down while Bob and Ann's second device
//     wrote (more than a history page) shows every message once after it
//     reconnects;
//   - a 1-1 call rings at the other, is accepted, both enter the same call
//     room, and leaving it ends the call at the other too;
//   - a token revoked elsewhere sends the page back to sign-in; sign-out
//     returns to sign-in, forgets and revokes the token; an invite link
//     opened signed out leads through sign-in back to the room.
// Screenshots land in the log directory printed first.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import zlib from 'node:zlib';

import { login, logDir, openBrowser, startServer, waitFor } from './harness.mjs';

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

const dmOf = (a, b) => (a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`);

// The states of Ann's own messages in the open conversation, by text.
function ownStates(page) {
  return page.locator('li.msg.mine').evaluateAll((lis) => Object.fromEntries(lis.map((li) =>
    [li.querySelector('.msg-text')?.textContent, li.querySelector('.msg-state')?.dataset.state])));
}

test('messenger: receipts are right at once after a reload and on a second device', { timeout: TEST_TIMEOUT }, async () => {
  const ann = browsers.ann;
  state.bobId = (await rest('GET', '/api/v1/profile', state.bobToken)).json.id;
  state.dm = dmOf(state.annId, state.bobId);
  // Every WebSocket the page opens, for the next test to cut.
  await ann.context.addInitScript(() => {
    const Native = window.WebSocket;
    window.__sockets = [];
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        window.__sockets.push(this);
      }
    };
  });
  // Forget the receipts this browser heard live; no new one will come
  // (Bob read everything already): what shows Read comes from REST.
  await ann.page.evaluate((id) => localStorage.removeItem(`zumzi.chat.${id}`), state.annId);
  await ann.page.reload();
  await ann.page.getByRole('heading', { name: 'Bob' }).waitFor();
  const hello = ann.page.locator('li.msg.mine', { hasText: 'Hello Bob' });
  await hello.waitFor();
  await waitFor('Ann\'s messages to show Read after the reload', async () => {
    const s = await ownStates(ann.page);
    return s['Hello Bob'] === 'read' && s['Sent while offline'] === 'read' ? s : { ok: false, s };
  }, 10000);
  await ann.screenshot('app-receipts-after-reload');

  // Ann's second device: a fresh browser, nothing stored.
  const ann2 = (browsers.ann2 = await openBrowser(server, 'app-ann2', `/messenger?c=${encodeURIComponent(state.dm)}`,
    { viewport: VIEWPORT }));
  await ann2.page.waitForURL(/\/signin\?next=/);
  await signIn(ann2.page, 'ann@example.com');
  await ann2.page.getByRole('heading', { name: 'Bob' }).waitFor();
  await waitFor('Ann\'s second device to show Read', async () => {
    const s = await ownStates(ann2.page);
    return s['Hello Bob'] === 'read' ? s : { ok: false, s };
  }, 10000);
});

test('messenger: a 1-1 conversation with someone not in the contacts has their name', { timeout: TEST_TIMEOUT }, async () => {
  const caraToken = await login(server, 'cara@example.com', 'Cara Mendes');
  const cara = (await rest('GET', '/api/v1/profile', caraToken)).json;
  const page = browsers.ann2.page;
  await page.goto(`${server.url}/messenger?c=${encodeURIComponent(dmOf(state.annId, cara.id))}`);
  await page.getByRole('heading', { name: 'Cara Mendes' }).waitFor();
  await page.getByRole('button', { name: 'Video call Cara Mendes' }).waitFor();
  await page.locator('.chat-older', { hasText: 'No messages yet' }).waitFor();
  await browsers.ann2.screenshot('app-non-contact');
  await page.goto(`${server.url}/messenger?c=${encodeURIComponent(state.dm)}`);
  await page.getByRole('heading', { name: 'Bob' }).waitFor();
});

test('messenger: after a long disconnect the view catches up with everything, once', { timeout: TEST_TIMEOUT }, async () => {
  const ann = browsers.ann;
  const ann2 = browsers.ann2.page;
  const bp = browsers.bob.page;
  const status = ann.page.getByRole('button', { name: /Offline|Connecting/ });
  await status.waitFor({ state: 'detached' });
  // The network goes, and with it the connection.
  await ann.context.setOffline(true);
  await ann.page.evaluate(() => {
    for (const ws of window.__sockets) ws.close();
  });
  await status.waitFor();

  const say = async (page, text) => {
    const input = page.getByLabel('Message', { exact: true });
    await input.fill(text);
    await input.press('Enter');
    await page.locator('li.msg.mine', { hasText: text }).locator('.msg-state:not([data-state="sending"])').waitFor();
  };
  await say(bp, 'While you were away (1)');
  await say(ann2, 'From my phone');
  // More than one page of history (50) from the second device.
  const burst = 60;
  await ann2.evaluate(async (n) => {
    const { Zumzi, Chat } = await import('/zumzi.js');
    const client = await Zumzi.connect({ token: localStorage.getItem('zumzi.token') });
    const chat = new Chat(client);
    const conversation = new URLSearchParams(location.search).get('c');
    for (let i = 1; i <= n; i++) await chat.send({ conversation, text: `Burst ${i}` });
    chat.close();
    client.close();
  }, burst);
  await say(bp, 'While you were away (2)');
  const expected = ['While you were away (1)', 'From my phone',
    ...Array.from({ length: burst }, (_, i) => `Burst ${i + 1}`), 'While you were away (2)'];
  // Nothing of it reached the page while it was offline.
  const texts = () => ann.page.locator('li.msg .msg-text').allTextContents();
  assert.deepEqual((await texts()).filter((t) => expected.includes(t)), []);
  await ann.screenshot('app-disconnected');

  await ann.context.setOffline(false);
  await status.waitFor({ state: 'detached', timeout: 60000 });
  const all = await waitFor('Ann to show all that came meanwhile', async () => {
    const t = await texts();
    return expected.every((x) => t.includes(x)) ? t : { ok: false, missing: expected.filter((x) => !t.includes(x)) };
  }, 30000);
  // Each once, in the order sent.
  assert.deepEqual(all.filter((t) => expected.includes(t)), expected);
  const ids = await ann.page.locator('li.msg[data-id]').evaluateAll((lis) => lis.map((li) => Number(li.dataset.id)));
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
  assert.equal(new Set(ids).size, ids.length);
  await ann.page.locator('li.msg.theirs', { hasText: 'While you were away (2)' }).scrollIntoViewIfNeeded();
  await ann.screenshot('app-caught-up');
  // Bob sees his messages read by Ann now.
  await bp.locator('li.msg.mine', { hasText: 'While you were away (2)' }).locator('.msg-state[data-state="read"]').waitFor();
  await browsers.ann2.close();
  delete browsers.ann2;
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
