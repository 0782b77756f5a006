// Accounts, rooms and the messenger through the real web client
// (web/index.html) in Chromium against the real zumzi-server, as a user
// drives them; each test saves screenshots to the log directory:
//   - phone sign-in with the demo code; a real code (read from the server
//     log, where the default code delivery writes it) refused once it
//     expired, then a new code signs in;
//   - copy buttons of "My rooms" put the PIN or invite link on the clipboard
//     and say what they copied;
//   - editing a room (name, preset) and deleting one update the list; the
//     deleted room's invite link says there is no such room;
//   - joining by room ID + PIN from the rooms page: a wrong PIN is refused
//     with a message, the right one leads to the pre-join screen, where the
//     Join button stays put while the devices open, and the second of two
//     cameras chosen there is the one previewed and published;
//   - the in-call invite dialog's copy buttons;
//   - messenger: scrolling up pages through a long history in order, once
//     each; an attachment downloads with the bytes uploaded;
//   - every button of the sign-in, rooms, pre-join, call and messenger pages
//     has an accessible name and all their text meets WCAG AA contrast;
//     signing in and joining a room work with the keyboard alone, each
//     focus stop visibly marked.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { createRoom, logDir, login, openBrowser, recordPeerConnections, startServer, waitFor } from './harness.mjs';

const TEST_TIMEOUT = 300000;
const VIEWPORT = { width: 1200, height: 760 };
let server;
const browsers = {};
const state = {};

before(async () => {
  console.error(`screenshots and logs: ${logDir}`);
  server = await startServer();
  // Login codes live 10 s here (the least code_ttl allows), so the expiry
  // test waits for a real expiry. Every other sign-in uses the demo code
  // 123456, which the server takes at any time.
  fs.appendFileSync(path.join(server.dir, 'zumzi.ini'), '[login]\ncode_ttl = 10\n');
  await server.restart();
});

after(async () => {
  for (const b of Object.values(browsers)) await b.close();
  await server?.stop();
});

async function rest(method, route, token, body) {
  const res = await fetch(server.url + route, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json() };
}

// A browser of the test, closed at the end; `clipboard`: it may read and
// write the clipboard without asking.
async function open(name, pathname, { clipboard = false, devices = 1 } = {}) {
  const b = await openBrowser(server, name, pathname, { viewport: VIEWPORT, devices });
  browsers[name] = b;
  if (clipboard) await b.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  return b;
}

async function closeBrowser(name) {
  await browsers[name]?.close();
  delete browsers[name];
}

async function signIn(page, address, name, code = '123456') {
  await page.getByLabel('E-mail or phone number').fill(address);
  if (name) await page.getByLabel('Your name (for a new account)').fill(name);
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByLabel('6-digit code').fill(code);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

// The login codes the server delivered to `address` so far, oldest first
// (LogCodeDelivery writes them to its log, which the harness keeps at
// server.logPath).
function deliveredCodes(address) {
  const log = fs.readFileSync(server.logPath, 'utf8');
  const re = /login code for (\S+) \(app [^)]*\): (\d{6})/g;
  const codes = [];
  for (let m; (m = re.exec(log));) if (m[1] === address) codes.push(m[2]);
  return codes;
}

// Every toast the page shows from now on, in window.__toasts.
async function recordToasts(page) {
  await page.evaluate(() => {
    if (window.__toasts) return;
    window.__toasts = [];
    new MutationObserver((records) => {
      for (const r of records)
        for (const n of r.addedNodes) if (n.classList?.contains('toast')) window.__toasts.push(n.textContent);
    }).observe(document.body, { childList: true, subtree: true });
  });
}

// Clicks `button` with something else on the clipboard, then waits for
// `expected` there and for a new toast; returns the toast's text.
async function copyAndRead(page, button, expected) {
  await page.evaluate(() => navigator.clipboard.writeText('(nothing copied)'));
  const seen = await page.evaluate(() => window.__toasts.length);
  await button.click();
  const text = await waitFor(`the clipboard to hold ${expected}`, async () => {
    const t = await page.evaluate(() => navigator.clipboard.readText());
    return t === expected ? t : { ok: false, t };
  }, 20000);
  const toast = await waitFor('a toast saying what was copied', () =>
    page.evaluate((n) => window.__toasts[n] || null, seen), 20000);
  return { text, toast };
}

// The buttons of the page as the accessibility tree has them (Chromium's
// own accessible-name computation, hidden ones left out): [{name, html}].
async function axButtons(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    const out = [];
    for (const n of nodes) {
      if (n.ignored || n.role?.value !== 'button') continue;
      let html = '';
      if (n.backendDOMNodeId) {
        const { node } = await cdp.send('DOM.describeNode', { backendNodeId: n.backendDOMNodeId });
        html = `<${node.localName} ${(node.attributes || []).join(' ')}>`;
      }
      out.push({ name: (n.name?.value || '').trim(), html });
    }
    return out;
  } finally {
    await cdp.detach();
  }
}

// The text shown whose contrast with what is behind it (the backgrounds of
// its element and its ancestors, composited) is under WCAG AA: 4.5:1, or
// 3:1 for large text (24 px, or 18.66 px bold). Disabled buttons are
// exempt, as in WCAG. ['tag.class "text" ratio', ...]
function lowContrastText(page) {
  return page.evaluate(() => {
    const rgba = (css) => {
      const m = (css.match(/[\d.]+/g) || []).map(Number);
      return { r: m[0] ?? 0, g: m[1] ?? 0, b: m[2] ?? 0, a: m.length > 3 ? m[3] : (m.length ? 1 : 0) };
    };
    const over = (top, under) => {
      const mix = (k) => top[k] * top.a + under[k] * (1 - top.a);
      return { r: mix('r'), g: mix('g'), b: mix('b'), a: 1 };
    };
    const linear = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    const luminance = (c) => 0.2126 * linear(c.r) + 0.7152 * linear(c.g) + 0.0722 * linear(c.b);
    const behind = (el) => {
      const chain = [];
      for (let e = el; e; e = e.parentElement) chain.unshift(e);
      let bg = { r: 255, g: 255, b: 255, a: 1 };
      for (const e of chain) {
        const c = rgba(getComputedStyle(e).backgroundColor);
        if (c.a > 0) bg = over(c, bg);
      }
      return bg;
    };
    const low = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node; (node = walker.nextNode());) {
      const text = node.textContent.trim();
      const el = node.parentElement;
      if (!text || !el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
      if (el.closest('button:disabled, [aria-disabled="true"]')) continue;
      const box = el.getBoundingClientRect();
      if (box.width <= 1 || box.height <= 1) continue; // for screen readers only (.sr-only)
      const style = getComputedStyle(el);
      const bg = behind(el);
      const [hi, lo] = [luminance(over(rgba(style.color), bg)), luminance(bg)].sort((a, b) => b - a);
      const ratio = (hi + 0.05) / (lo + 0.05);
      const size = parseFloat(style.fontSize);
      const need = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66) ? 3 : 4.5;
      if (ratio < need) low.push(`${el.localName}.${el.className} "${text.slice(0, 40)}" ${ratio.toFixed(2)}`);
    }
    return low;
  });
}

// Asserts every button shown has an accessible name, and all text is
// readable (lowContrastText); `atLeast`: how many buttons the page shows
// at the least (so that an empty tree fails).
async function assertAccessible(t, page, what, atLeast) {
  assert.deepEqual(await lowContrastText(page), [], `${what}: text under WCAG AA contrast`);
  const buttons = await axButtons(page);
  const visible = await page.locator('button:visible:not([role])').count();
  t.diagnostic(`${what}: ${buttons.length} buttons: ${buttons.map((b) => JSON.stringify(b.name)).join(', ')}`);
  assert.ok(buttons.length >= atLeast, `${what}: only ${buttons.length} buttons in the accessibility tree`);
  assert.ok(buttons.length >= visible, `${what}: ${visible} visible <button>s, ${buttons.length} in the tree`);
  assert.deepEqual(buttons.filter((b) => !b.name).map((b) => b.html), [], `${what}: buttons without a name`);
}

test('phone sign-in: the demo code signs in; an expired code is refused, a new one works', { timeout: TEST_TIMEOUT }, async (t) => {
  t.diagnostic(`screenshots and logs: ${logDir}`);
  const pat = await open('acct-pat', '/');
  const { page } = pat;
  await page.waitForURL(/\/signin$/);
  await signIn(page, '+1 (555) 010-2030', 'Pat Doe');
  await page.waitForURL(/\/rooms$/);
  await page.getByRole('button', { name: 'Profile: Pat Doe' }).waitFor();
  const token = await page.evaluate(() => localStorage.getItem('zumzi.token'));
  const profile = (await rest('GET', '/api/v1/profile', token)).json;
  assert.equal(profile.phone, '+15550102030');
  assert.equal(profile.name, 'Pat Doe');
  await pat.screenshot('account-phone-signed-in');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/signin$/);

  // A real code this time, read where the server delivers it.
  const address = '+15550102030';
  const known = deliveredCodes(address).length;
  await page.getByLabel('E-mail or phone number').fill('+1 555 010 2030');
  const asked = page.waitForResponse((r) => r.url().endsWith('/api/v1/login') && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Send code' }).click();
  const { expires_at: expiresAt } = await (await asked).json();
  assert.ok(expiresAt > 0);
  const code = await waitFor('the code in the server log', () => deliveredCodes(address)[known] || null, 20000);
  await page.getByLabel('6-digit code').waitFor();
  await page.getByText('+15550102030').waitFor(); // where it went, normalised
  // Until the server's clock is past the code's end (code_ttl = 10 s).
  await waitFor('the code to expire', async () => (await rest('GET', '/api/v1/health')).json.time > expiresAt,
    60000, 500);
  await page.getByLabel('6-digit code').fill(code);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  const error = page.locator('#signin-error');
  await waitFor('the expired-code message', async () =>
    (await error.textContent()) === 'This code has expired or was already used. Ask for a new code.');
  assert.match(page.url(), /\/signin$/);
  assert.equal(await page.evaluate(() => localStorage.getItem('zumzi.token')), null);
  await pat.screenshot('account-phone-code-expired');

  // A new code, and it works (so the one before was refused for its age).
  await page.getByRole('button', { name: 'Send a new code' }).click();
  await page.getByText('We sent a new code.').waitFor();
  const fresh = await waitFor('a new code in the server log', () => deliveredCodes(address)[known + 1] || null, 20000);
  await page.getByLabel('6-digit code').fill(fresh);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(/\/rooms$/);
  await page.getByRole('button', { name: 'Profile: Pat Doe' }).waitFor();
  await closeBrowser('acct-pat');
});

test('rooms: the copy buttons of My rooms copy the PINs and invite links, and say so', { timeout: TEST_TIMEOUT }, async (t) => {
  const ann = await open('acct-ann', '/', { clipboard: true });
  const { page } = ann;
  await page.waitForURL(/\/signin$/);
  await signIn(page, 'ann@example.com', 'Ann');
  await page.waitForURL(/\/rooms$/);
  state.annToken = await page.evaluate(() => localStorage.getItem('zumzi.token'));
  state.annId = (await rest('GET', '/api/v1/profile', state.annToken)).json.id;
  state.room = await createRoom(server, state.annToken, 'Design review');
  state.doomed = await createRoom(server, state.annToken, 'Old standup', { preset: 'hd' });
  await page.reload();
  const card = page.locator(`article.room-card[data-room="${state.room.id}"]`);
  await card.waitFor();
  await page.locator(`article.room-card[data-room="${state.doomed.id}"]`).waitFor();
  await recordToasts(page);

  const room = state.room;
  const link = (pin) => `${server.url}/r/${room.id}?pin=${pin}`;
  const copies = [
    ['Copy Participant PIN', room.participant_pin],
    ['Copy Viewer PIN', room.viewer_pin],
    ['Copy participant invite link', link(room.participant_pin)],
    ['Copy viewer invite link', link(room.viewer_pin)],
  ];
  const toasts = [];
  for (const [name, expected] of copies) {
    const { toast } = await copyAndRead(page, card.getByRole('button', { name, exact: true }), expected);
    toasts.push(toast);
  }
  t.diagnostic(`toasts: ${toasts.join(' | ')}`);
  assert.deepEqual(toasts, ['Participant PIN copied', 'Viewer PIN copied', 'Participant invite link copied',
    'Viewer invite link copied']);
  await page.locator('.toast', { hasText: 'Viewer invite link copied' }).waitFor();
  await ann.screenshot('account-rooms-copied');
  await assertAccessible(t, page, 'rooms page', 12);
});

test('rooms: edit a room\'s name and preset, delete another; its invite link then finds no room', { timeout: TEST_TIMEOUT }, async () => {
  const ann = browsers['acct-ann'];
  const { page } = ann;
  const card = page.locator(`article.room-card[data-room="${state.room.id}"]`);
  await card.getByRole('button', { name: 'Edit Design review' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit “Design review”' });
  await dialog.getByLabel('Name', { exact: true }).fill('Design review (weekly)');
  await dialog.getByLabel('Video quality').selectOption('vga');
  await ann.screenshot('account-room-edit');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  await card.getByRole('heading', { name: 'Design review (weekly)' }).waitFor();
  await waitFor('the card to show the VGA preset', async () => /VGA 640×480/.test(await card.textContent()));
  const saved = (await rest('GET', `/api/v1/rooms/${state.room.id}`, state.annToken)).json;
  assert.equal(saved.name, 'Design review (weekly)');
  assert.equal(saved.preset, 'vga');
  state.room = { ...state.room, ...saved };

  const doomed = page.locator(`article.room-card[data-room="${state.doomed.id}"]`);
  await doomed.getByRole('button', { name: 'Delete Old standup' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete room?' });
  await confirm.getByText('“Old standup” and its member list will be deleted.', { exact: false }).waitFor();
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await doomed.waitFor({ state: 'detached' });
  assert.equal(await page.locator('article.room-card').count(), 1);
  await card.waitFor();
  const listed = (await rest('GET', '/api/v1/rooms', state.annToken)).json.rooms.map((r) => r.id);
  assert.deepEqual(listed, [state.room.id]);
  await ann.screenshot('account-room-deleted');

  // The deleted room's invite link, as someone would open it later.
  await page.goto(`${server.url}/r/${state.doomed.id}?pin=${state.doomed.participant_pin}`);
  await page.getByRole('heading', { name: 'Cannot join' }).waitFor();
  await page.getByRole('alert').filter({ hasText: 'There is no such room.' }).waitFor();
  await ann.screenshot('account-room-gone');
  await page.getByRole('button', { name: 'Close' }).click();
  await page.waitForURL(/\/rooms$/);
});

// Records in window.__joinBoxes each place and size the pre-join screen's
// Join button takes, frame by frame, from the moment it shows.
function trackJoinButton() {
  window.__joinBoxes = [];
  const tick = () => {
    const button = [...document.querySelectorAll('.prejoin-card button[type=submit]')]
      .find((b) => b.textContent === 'Join');
    if (button) {
      const r = button.getBoundingClientRect();
      const box = { x: Math.round(r.x), y: Math.round(r.y), w: Math.round(r.width), h: Math.round(r.height) };
      const last = window.__joinBoxes.at(-1);
      if (!last || last.x !== box.x || last.y !== box.y || last.w !== box.w || last.h !== box.h)
        window.__joinBoxes.push(box);
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

test('join by room ID + PIN: a wrong PIN is refused; the pre-join Join button stays put; the second camera is published', { timeout: TEST_TIMEOUT }, async (t) => {
  const bob = await open('acct-bob', '/', { devices: 2 });
  const { page } = bob;
  await bob.context.addInitScript(trackJoinButton);
  await bob.context.addInitScript(recordPeerConnections);
  await page.reload();
  await page.waitForURL(/\/signin$/);
  await signIn(page, 'bob@example.com', 'Bob');
  await page.waitForURL(/\/rooms$/);
  state.bobToken = await page.evaluate(() => localStorage.getItem('zumzi.token'));
  state.bobId = (await rest('GET', '/api/v1/profile', state.bobToken)).json.id;

  const room = state.room;
  const wrong = room.participant_pin.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
  const joinForm = page.getByRole('form', { name: 'Join a room' });
  await joinForm.getByLabel('Room ID').fill(room.id);
  await joinForm.getByLabel('PIN').fill(wrong);
  await joinForm.getByRole('button', { name: 'Join' }).click();
  await page.getByRole('heading', { name: 'Enter the room PIN' }).waitFor();
  await page.locator('#prejoin-pin-msg', { hasText: 'Wrong PIN for this room.' }).waitFor();
  await bob.screenshot('account-join-wrong-pin');
  assert.equal((await rest('GET', '/api/v1/rooms', state.bobToken)).json.rooms.length, 0);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.waitForURL(/\/rooms$/);

  await joinForm.getByLabel('Room ID').fill(room.id);
  await joinForm.getByLabel('PIN').fill(room.participant_pin);
  await joinForm.getByRole('button', { name: 'Join' }).click();
  await page.getByRole('heading', { name: room.name }).waitFor();
  assert.equal(new URL(page.url()).pathname, `/r/${room.id}`);

  // The devices open and their lists fill: the Join button does not move.
  const camera = page.getByLabel('Camera', { exact: true });
  const labels = await waitFor('both cameras listed', async () => {
    const l = await camera.locator('option').allTextContents();
    return l.length === 2 && l.every((x) => /fake_device/.test(x)) ? l : { ok: false, l };
  });
  const preview = page.locator('.preview video');
  const previewed = () => preview.evaluate((v) => {
    const track = v.srcObject?.getVideoTracks()[0];
    return { width: v.videoWidth, label: track?.label, deviceId: track?.getSettings().deviceId };
  });
  const first = await waitFor('the preview to play', async () => {
    const p = await previewed();
    return p.width > 0 ? p : { ok: false, p };
  });
  assert.equal(first.label, labels[0]);
  const mics = page.getByLabel('Microphone', { exact: true });
  await waitFor('the microphone list', async () => !(await mics.isDisabled()) && (await mics.locator('option').count()) > 0);
  await page.locator('.prejoin-status').filter({ hasText: 'Starting camera' }).waitFor({ state: 'detached' })
    .catch(() => {}); // may be gone already
  await waitFor('the status line to clear', async () =>
    (await page.locator('.prejoin-status').textContent()) === '');
  await bob.screenshot('account-prejoin-loaded');
  const boxes = await page.evaluate(() => window.__joinBoxes);
  t.diagnostic(`Join button boxes: ${JSON.stringify(boxes)}`);
  assert.equal(boxes.length, 1, `the Join button moved while the devices loaded: ${JSON.stringify(boxes)}`);
  await assertAccessible(t, page, 'pre-join page', 4);

  // The second camera: previewed, then published.
  const second = await camera.locator('option').nth(1).getAttribute('value');
  await camera.selectOption(second);
  const switched = await waitFor('the preview of the second camera', async () => {
    const p = await previewed();
    return p.label === labels[1] && p.width > 0 ? p : { ok: false, p };
  });
  assert.equal(switched.deviceId, second);
  await bob.screenshot('account-prejoin-second-camera');
  assert.deepEqual(await page.evaluate(() => window.__joinBoxes.length), 1);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.locator('.conference').waitFor();
  const published = await waitFor('the camera track to be published', () => page.evaluate(() => {
    for (const pc of window.__pcs) {
      if (pc.connectionState === 'closed') continue;
      for (const s of pc.getSenders()) {
        if (s.track?.kind === 'video' && s.track.readyState === 'live')
          return { label: s.track.label, deviceId: s.track.getSettings().deviceId };
      }
    }
    return null;
  }));
  assert.deepEqual(published, { label: labels[1], deviceId: second });
  // The call's own controls say camera and microphone are on.
  await page.getByRole('button', { name: /^Turn camera off/ }).waitFor();
  await page.getByRole('button', { name: /^Mute microphone/ }).waitFor();
  await bob.screenshot('account-call-second-camera');
});

test('in the call, the invite dialog\'s copy buttons copy the links', { timeout: TEST_TIMEOUT }, async (t) => {
  const ann = browsers['acct-ann'];
  const { page } = ann;
  const room = state.room;
  await page.getByRole('link', { name: `Enter ${room.name}` }).click();
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.locator('.conference').waitFor();
  // Bob is in the call too.
  await page.locator('.tile .tile-name-text', { hasText: 'Bob' }).waitFor();
  await recordToasts(page);
  await page.locator('.conference').getByRole('button', { name: 'Invite people' }).last().click();
  const dialog = page.getByRole('dialog', { name: 'Invite people' });
  await dialog.waitFor();
  const link = (pin) => `${server.url}/r/${room.id}?pin=${pin}`;
  assert.equal(await dialog.getByRole('textbox', { name: 'Participant link' }).inputValue(), link(room.participant_pin));
  assert.equal(await dialog.getByRole('textbox', { name: 'Viewer link' }).inputValue(), link(room.viewer_pin));
  const a = await copyAndRead(page, dialog.getByRole('button', { name: 'Copy the participant link' }),
    link(room.participant_pin));
  const b = await copyAndRead(page, dialog.getByRole('button', { name: 'Copy the viewer link' }), link(room.viewer_pin));
  assert.deepEqual([a.toast, b.toast], ['Participant link copied', 'Viewer link copied']);
  await page.locator('.toast', { hasText: 'Viewer link copied' }).waitFor();
  await ann.screenshot('account-call-invite-copied');
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'detached' });
  await assertAccessible(t, page, 'call page', 8);
  await ann.screenshot('account-call');

  await closeBrowser('acct-bob');
  await page.getByRole('button', { name: 'Leave the call' }).click();
  await page.getByRole('dialog', { name: 'Leave the call?' }).getByRole('button', { name: 'Leave' }).click();
  await page.waitForURL(/\/rooms$/);
});

test('messenger: scrolling up pages through a long history in order; an attachment downloads intact', { timeout: TEST_TIMEOUT }, async (t) => {
  const ann = browsers['acct-ann'];
  const { page } = ann;
  const dm = state.annId < state.bobId ? `dm:${state.annId}:${state.bobId}` : `dm:${state.bobId}:${state.annId}`;
  const total = 130; // more than two pages of 50
  const texts = Array.from({ length: total }, (_, i) => `History ${String(i + 1).padStart(3, '0')}`);
  // Bob and Ann's other device write by turns; Ann's device reads it all.
  await page.evaluate(async ({ bobToken, conversation, texts }) => {
    const { Zumzi, Chat } = await import('/zumzi.js');
    const bob = await Zumzi.connect({ token: bobToken });
    const annPhone = await Zumzi.connect({ token: localStorage.getItem('zumzi.token') });
    const chats = [new Chat(bob), new Chat(annPhone)];
    let last = null;
    for (let i = 0; i < texts.length; i++) last = await chats[i % 2].send({ conversation, text: texts[i] });
    await chats[1].markRead(conversation, last.id);
    for (const c of chats) c.close();
    bob.close();
    annPhone.close();
  }, { bobToken: state.bobToken, conversation: dm, texts });

  await page.goto(`${server.url}/messenger?c=${encodeURIComponent(dm)}`);
  await page.getByRole('heading', { name: 'Bob' }).waitFor();
  const shown = () => page.locator('li.msg[data-id]').evaluateAll((lis) => lis.map((li) => ({
    id: Number(li.dataset.id), text: li.querySelector('.msg-text')?.textContent })));
  await waitFor('the newest page', async () => (await shown()).some((m) => m.text === texts.at(-1)));
  const firstPage = await shown();
  t.diagnostic(`first page: ${firstPage.length} messages`);
  assert.ok(firstPage.length < total, 'the whole history came at once: no paging to test');
  await ann.screenshot('account-history-newest');

  // The mouse wheel up, until the beginning shows.
  const scroller = page.locator('.chat-scroll');
  await scroller.hover();
  await waitFor('the beginning of the conversation', async () => {
    if (await page.getByText('Beginning of the conversation').isVisible()) return true;
    await page.mouse.wheel(0, -1500);
    return false;
  }, 120000, 300);
  const all = await shown();
  assert.deepEqual(all.map((m) => m.text), texts);
  const ids = all.map((m) => m.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
  assert.equal(new Set(ids).size, ids.length);
  // On to the top, where the first message shows under the beginning line.
  const firstItem = page.locator('li.msg', { hasText: texts[0] });
  await waitFor('the first message on screen', async () => {
    const [item, view] = [await firstItem.boundingBox(), await scroller.boundingBox()];
    if (item && view && item.y >= view.y && item.y + item.height <= view.y + view.height) return true;
    await page.mouse.wheel(0, -1500);
    return false;
  }, 60000, 300);
  await ann.screenshot('account-history-beginning');

  // A file (not a picture: a download link), uploaded then downloaded.
  const bytes = crypto.randomBytes(200 * 1024);
  await page.locator('.chat-compose input[type=file]').setInputFiles({
    name: 'report.bin', mimeType: 'application/octet-stream', buffer: bytes,
  });
  const download = page.locator('li.msg.mine[data-id]').getByRole('button', { name: 'Download report.bin' });
  await download.waitFor();
  await ann.screenshot('account-attachment');
  const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
  assert.equal(file.suggestedFilename(), 'report.bin');
  const got = fs.readFileSync(await file.path());
  assert.equal(got.length, bytes.length);
  assert.ok(got.equals(bytes), 'the downloaded bytes differ from the uploaded ones');
  await assertAccessible(t, page, 'messenger page', 5);
});

// Presses Tab until `match(focused element)` holds (at most `max` times).
// Returns the elements focused on the way, the last one included, each
// with whether it shows a focus ring.
async function tabTo(page, what, match, max = 40) {
  const stops = [];
  const focused = () => page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const ring = el.matches(':focus-visible') &&
      ((style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none');
    return {
      tag: el.localName, id: el.id, label: el.getAttribute('aria-label') || el.labels?.[0]?.textContent ||
        el.textContent.trim().slice(0, 40), ring,
    };
  });
  let focus = await focused();
  for (let i = 0; !(focus && match(focus)); i++) {
    if (i === max) throw new Error(`${what}: not reached with ${max} Tab presses; stops: ${JSON.stringify(stops)}`);
    await page.keyboard.press('Tab');
    focus = await focused();
    if (focus) stops.push(focus);
  }
  if (!stops.length) stops.push(focus); // focused already: its ring counts too
  return stops;
}

test('keyboard only: sign in and join a room with Tab and Enter, focus always visible; buttons named, text readable', { timeout: TEST_TIMEOUT }, async (t) => {
  const kim = await open('acct-kim', '/');
  const { page } = kim;
  await page.waitForURL(/\/signin$/);
  await assertAccessible(t, page, 'sign-in page', 1);
  const stops = [];
  stops.push(...await tabTo(page, 'the address field', (f) => f.label === 'E-mail or phone number'));
  await page.keyboard.type('kim@example.com');
  stops.push(...await tabTo(page, 'the name field', (f) => f.label === 'Your name (for a new account)'));
  await page.keyboard.type('Kim');
  await page.keyboard.press('Enter');
  await page.getByLabel('6-digit code').waitFor();
  stops.push(...await tabTo(page, 'the code field', (f) => f.label === '6-digit code'));
  await assertAccessible(t, page, 'code page', 3);
  await page.keyboard.type('123456');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/rooms$/);
  await page.getByRole('heading', { name: 'My rooms' }).waitFor();

  stops.push(...await tabTo(page, 'the Room ID field', (f) => f.label === 'Room ID'));
  await page.keyboard.type(state.room.id);
  stops.push(...await tabTo(page, 'the PIN field', (f) => f.label === 'PIN'));
  await page.keyboard.type(state.room.participant_pin);
  await kim.screenshot('account-keyboard-rooms');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: state.room.name }).waitFor();
  await page.getByLabel('Camera', { exact: true }).locator('option', { hasText: 'fake_device' }).first().waitFor({ state: 'attached' });
  stops.push(...await tabTo(page, 'the Join button', (f) => f.tag === 'button' && f.label === 'Join'));
  await kim.screenshot('account-keyboard-prejoin');
  await page.keyboard.press('Enter');
  await page.locator('.conference').waitFor();
  t.diagnostic(`focus stops: ${stops.map((s) => `${s.tag}${s.id ? `#${s.id}` : ''} "${s.label}"`).join(', ')}`);
  assert.deepEqual(stops.filter((s) => !s.ring), [], 'focus stops without a visible focus ring');
  await page.getByRole('button', { name: 'Leave the call' }).waitFor();
  await kim.screenshot('account-keyboard-call');
});
