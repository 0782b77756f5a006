// The browser tests' harness: the real zumzi-server binary on a free port of
// 127.0.0.1 with a temporary data directory and the demo login, Debian's
// Chromium through playwright-core with fake camera, microphone and screen,
// and small helpers (REST login, polling, screenshots).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const sourceRoot = path.resolve(here, '../..');

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  throw new Error(`playwright-core is missing (run tools/setup, which runs npm ci): ${e.message}`);
}

export const chromiumPath = process.env.ZUMZI_CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(chromiumPath))
  throw new Error(`no Chromium at ${chromiumPath} (run tools/setup, or set ZUMZI_CHROMIUM)`);

const buildRoot = process.env.ZUMZI_BUILD_DIR || path.join(sourceRoot, 'build');
export const serverBinary = process.env.ZUMZI_SERVER || path.join(buildRoot, 'server/zumzi-server');
export const botBinary = process.env.ZUMZI_BOT || path.join(buildRoot, 'tools/bot/zumzi-bot');

// Screenshots and browser logs go here; printed once so a reader finds them.
export const logDir =
  process.env.ZUMZI_TEST_LOG_DIR || path.join(buildRoot, 'meson-logs', 'browser');
fs.mkdirSync(logDir, { recursive: true });

// The suite: the test file's name (conference.test.mjs: conference); the
// server's and the bots' logs are named after it.
const suite = path.basename(process.argv[1] || 'browser').replace(/(\.test)?\.m?js$/, '');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `probe` (async; a truthy result ends the wait) until `timeoutMs`;
// on timeout throws with `what` and the last value seen.
export async function waitFor(what, probe, timeoutMs = 60000, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last && last.ok !== false) return last;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await sleep(everyMs);
  }
}

// zumzi-server on port 0 (it prints the port it got), ICE on 127.0.0.1.
// `kill()` stops it and `restart()` starts it again on the same port with
// the same data (clients see the server go away and come back). Its log is
// <logDir>/zumzi-server-<suite>.log, the suite named after the test file
// (conference.test.mjs: zumzi-server-conference.log), so that suites run
// one after the other keep their own logs.
export async function startServer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zumzi-browser-'));
  const config = path.join(dir, 'zumzi.ini');
  // The web client of this source tree and its npm packages (a worktree's,
  // when tests run there against another tree's server binary).
  fs.writeFileSync(
    config,
    `[server]\nweb_dir = ${path.join(sourceRoot, 'web')}\nvendor_dir = ${path.join(sourceRoot, 'node_modules')}\n` +
      '[media]\nhost_addresses = 127.0.0.1\n',
  );
  const logPath = path.join(logDir, `zumzi-server-${suite}.log`);
  const logFile = fs.createWriteStream(logPath);
  let child = null;
  let port = '0';
  async function launch() {
    child = spawn(
      serverBinary,
      ['--demo', '--port', port, '--listen', '127.0.0.1', '--data-dir', path.join(dir, 'data'), '--config', config],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, G_MESSAGES_DEBUG: '' } },
    );
    child.stderr.pipe(logFile, { end: false });
    let out = '';
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`zumzi-server did not start: ${out}`)), 30000);
      child.on('exit', (code) => reject(new Error(`zumzi-server exited (${code}): ${out}`)));
      child.stdout.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))\//.exec(out);
        if (m) {
          clearTimeout(timer);
          port = m[2];
          resolve(m[1]);
        }
      });
    });
    child.stdout.on('data', (d) => logFile.write(d));
    return url;
  }
  async function kill() {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }
  const url = await launch();
  return {
    url,
    dir,
    logPath,
    kill,
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function api(server, method, route, body, token) {
  const res = await fetch(server.url + route, {
    method,
    headers: {
      'Content-Type': 'application/json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// Demo login (code 123456): a user's access token.
export async function login(server, email, name) {
  await api(server, 'POST', '/api/v1/login', { email, name });
  const r = await api(server, 'POST', '/api/v1/login', { email, code: '123456' });
  return r.token;
}

// `fields`: more of the room's fields (`preset`...).
export async function createRoom(server, token, name, fields = {}) {
  return api(server, 'POST', '/api/v1/rooms', { name, ...fields }, token);
}

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Fake camera (a moving test pattern), microphone (a beep) and screen,
  // granted without prompts; candidates on 127.0.0.1.
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
];

// One Chromium with its own profile at `pathname` of the server (the web
// client's pages), its console saved to <logDir>/<name>.console.log.
// `viewport`: {width, height}; `devices`: how many fake cameras (and
// microphones) it has, 1 by default. Chromium's fake cameras differ:
// fake_device_0 gives I420, fake_device_1 Y16 (a depth camera: a <video>
// shows it, an RTCRtpSender encodes none of its frames), fake_device_2
// MJPEG. `init`: a function run in the page before its own scripts (on
// every load), for hooks such as recording the sounds it plays.
export async function openBrowser(server, name, pathname = '/', { viewport = { width: 1000, height: 480 }, devices = 1, init = null } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), `zumzi-chromium-${name}-`));
  const fake = '--use-fake-device-for-media-stream';
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: devices > 1 ? chromiumArgs.map((a) => (a === fake ? `${fake}=device-count=${devices}` : a)) : chromiumArgs,
    viewport,
    timeout: 120000,
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(120000);
  const consoleLog = fs.createWriteStream(path.join(logDir, `${name}.console.log`));
  page.on('console', (m) => consoleLog.write(`${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => consoleLog.write(`pageerror: ${e.message}\n`));
  if (init) await page.addInitScript(init);
  await page.goto(`${server.url}${pathname}`);
  return {
    name,
    page,
    context,
    async screenshot(label) {
      const file = path.join(logDir, `${label}.png`);
      await page.screenshot({ path: file });
      return file;
    },
    async close() {
      await context.close().catch(() => {});
      consoleLog.end();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// One Chromium on the test page web/test/call.html (window.call).
export async function openPeer(server, name) {
  const browser = await openBrowser(server, name, '/test/call.html');
  const { page } = browser;
  await page.waitForFunction(() => window.call !== undefined);
  return {
    ...browser,
    call: (method, arg) => page.evaluate(([m, a]) => window.call[m](a), [method, arg]),
  };
}

// A remote video track of `peer` playing: decoded frames and a sized
// <video>. `match(track)` picks the track.
export async function waitForVideo(peer, what, match, timeoutMs = 90000) {
  return waitFor(`${peer.name} to play ${what}`, async () => {
    const r = await peer.call('remote');
    const track = r.tracks.find((t) => t.kind === 'video' && match(t) && t.videoWidth > 0);
    if (!track) return { ok: false, r };
    // Stream ids are not in inbound-rtp; the one with the most frames of
    // the track's codec stands for it when several play.
    const inbound = r.inbound.filter((s) => s.kind === 'video' && s.framesDecoded > 0);
    if (!inbound.length) return { ok: false, r };
    return { ok: true, track, inbound, all: r };
  }, timeoutMs);
}

export async function waitForAudio(peer, timeoutMs = 90000) {
  return waitFor(`${peer.name} to receive audio`, async () => {
    const r = await peer.call('remote');
    const track = r.tracks.find((t) => t.kind === 'audio');
    const inbound = r.inbound.find((s) => s.kind === 'audio' && s.packetsReceived > 20 && s.totalSamplesReceived > 0 &&
      s.totalAudioEnergy > 0); // the fake microphone beeps: not silence
    if (!track || !inbound) return { ok: false, r };
    return { ok: true, track, inbound };
  }, timeoutMs);
}

// Run in a page before its scripts (addInitScript, evaluateOnNewDocument):
// records each RTCPeerConnection the page makes in window.__pcs, for
// getStats; the page's own code is untouched.
export function recordPeerConnections() {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
    }
  };
}

// Runs the zumzi-bot CLI; resolves with its JSON report. Each run's
// output is appended to <logDir>/zumzi-bot-<suite>.log. The promise's
// `stop()` ends the bots before their --duration (SIGINT: they report and
// leave).
export function runBot(args) {
  let child;
  const done = new Promise((resolve, reject) => {
    child = spawn(botBinary, [...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      fs.appendFileSync(path.join(logDir, `zumzi-bot-${suite}.log`),
        `== zumzi-bot ${args.join(' ')}: exit ${code}\n${out}\n${err}\n`);
      try {
        resolve({ code, report: JSON.parse(out), stderr: err });
      } catch {
        reject(new Error(`zumzi-bot exited ${code} without a JSON report: ${out} ${err}`));
      }
    });
  });
  done.stop = () => {
    if (child.exitCode === null) child.kill('SIGINT');
    return done;
  };
  return done;
}
