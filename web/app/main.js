// main.js: the web client's shell. A router on location.pathname
//   /signin  /rooms  /messenger  /r/{room}[?pin=...]  /watch/{room}[?pin=...]
//   (/ goes to /rooms or /signin)
// the signed-in `session` (session.js: {token, user, api, client, chat,
// inbox...}), the header with its navigation, the app-wide call handling
// (calls.js) and the reconnection status.
import { Api, ApiError } from '../zumzi.js';
import { CallManager } from './calls.js';
import { renderMessenger } from './messenger.js';
import { renderRooms } from './rooms.js';
import { Session, clearCredentials, savedCredentials, saveCredentials } from './session.js';
import { renderSignin } from './signin.js';
import { renderWatch } from './watch.js';
import { formDialog } from './forms.js';
import { confirmDialog, h, initials, setChildren, toast } from './ui.js';

const app = {
  session: null,
  calls: null,
  route: null, // {controller, cleanup}
  header: null,
  main: null,
};

// --- navigation ---

export function navigate(path, { replace = false, state = null } = {}) {
  if (replace) history.replaceState(state, '', path);
  else history.pushState(state, '', path);
  render();
}

// A same-origin link to one of our pages navigates without a reload.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !isAppPath(url.pathname)) return;
  e.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
});
window.addEventListener('popstate', () => render());

// Another tab signed out (or in): follow it.
window.addEventListener('storage', (e) => {
  if (e.key !== 'zumzi.token' && e.key !== null) return;
  const saved = savedCredentials();
  if (app.session && (!saved || saved.token !== app.session.token)) {
    endSession({ remote: false, keepStorage: true });
    if (saved) location.reload();
    else navigate('/signin', { replace: true });
  } else if (!app.session && saved) {
    location.reload();
  }
});

function isAppPath(p) {
  return /^\/(signin|rooms|messenger)?\/?$/.test(p) || /^\/(r|watch)\/[^/]+\/?$/.test(p);
}

// A `next` parameter may only lead to one of our own pages.
function safeNext(next) {
  if (!next || !next.startsWith('/') || next.startsWith('//')) return null;
  try {
    const url = new URL(next, location.origin);
    return url.origin === location.origin && isAppPath(url.pathname) && !url.pathname.startsWith('/signin')
      ? url.pathname + url.search
      : null;
  } catch {
    return null;
  }
}

// --- the session ---

function startSession(token, user) {
  const session = new Session({ token, user });
  app.session = session;
  session.addEventListener('expired', () => {
    endSession({ remote: false });
    toast('Your session has expired. Please sign in again.', 'error', 8000);
    navigate(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  });
  session.addEventListener('status', () => renderHeader());
  session.addEventListener('user', () => renderHeader());
  session.inbox.addEventListener('change', () => renderHeader());
  app.calls = new CallManager(session, { navigate, currentPath: () => location.pathname + location.search });
  session.start();
  renderHeader();
  return session;
}

// Signs in with a fresh token (from the sign-in page).
export function signedIn(token, user, next) {
  saveCredentials(token, user);
  startSession(token, user);
  navigate(safeNext(next) || '/rooms', { replace: true });
}

// keepStorage: another tab ended it; what is stored belongs to that tab now.
function endSession({ remote = true, keepStorage = false } = {}) {
  const session = app.session;
  if (!session) return;
  app.session = null;
  app.calls?.destroy();
  app.calls = null;
  if (!keepStorage) session.chat.clearStorage();
  session.stop();
  if (remote) session.api.logout().catch(() => {}); // revoke the token
  if (!keepStorage) clearCredentials();
  renderHeader();
}

export async function signOut() {
  const session = app.session;
  if (!session) return;
  const unsent = session.chat.pending().length;
  if (unsent && !(await confirmDialog('Sign out?',
    `${unsent} message${unsent > 1 ? 's have' : ' has'} not reached the server yet and will be lost.`, 'Sign out')))
    return;
  // Revoke first, while the token still works.
  session.signingOut = true;
  try {
    await session.api.logout();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e; // a revoked token is signed out already
  }
  endSession({ remote: false });
  navigate('/signin', { replace: true });
  toast('Signed out');
}

// --- the header ---

// The page's title, with the unread count in front ("(2) Rooms · Zumzi").
function setTitle(title) {
  app.title = title;
  const unread = app.session?.inbox.unreadTotal || 0;
  document.title = unread ? `(${unread > 99 ? '99+' : unread}) ${title}` : title;
}

function renderHeader() {
  const header = app.header;
  const session = app.session;
  const path = location.pathname;
  document.body.classList.toggle('in-room', /^\/r\//.test(path));
  if (!session) {
    setChildren(header, h('a', { class: 'brand', href: '/' }, 'Zumzi'));
    return;
  }
  const link = (href, label, extra) =>
    h('a', { href, class: 'nav-link', 'aria-current': path.startsWith(href) ? 'page' : false }, label, extra);
  const unread = session.inbox.unreadTotal;
  const status = session.status;
  if (app.title) setTitle(app.title);
  setChildren(header,
    h('a', { class: 'brand', href: '/rooms' }, 'Zumzi'),
    h('nav', { 'aria-label': 'Main' },
      link('/rooms', 'Rooms'),
      link('/messenger', 'Messenger', unread
        ? h('span', { class: 'badge', 'aria-label': `${unread} unread` }, unread > 99 ? '99+' : String(unread))
        : null)),
    h('div', { class: 'topbar-right' },
      status !== 'online'
        ? h('button', {
          class: 'conn-status', type: 'button', onclick: () => session.reconnectNow(),
          title: 'Reconnect now',
        }, status === 'connecting' ? 'Connecting…' : 'Offline — reconnect')
        : null,
      h('button', {
        class: 'user-button', type: 'button', onclick: () => profileDialog(session),
        'aria-label': `Profile: ${session.user?.name || ''}`,
      }, h('span', { class: 'avatar avatar-sm', 'aria-hidden': 'true' }, initials(session.user?.name)),
      h('span', { class: 'user-name' }, session.user?.name || '')),
      h('button', { type: 'button', onclick: () => signOut() }, 'Sign out')));
}

async function profileDialog(session) {
  const name = h('input', { id: 'profile-name', value: session.user?.name || '', maxlength: 128, required: true });
  const status = h('input', { id: 'profile-status', value: session.user?.status || '', maxlength: 256 });
  const err = h('p', { class: 'error-text', role: 'alert' });
  const who = session.user?.email || session.user?.phone || '';
  const form = h('form', { class: 'profile-form' },
    h('p', { class: 'dim' }, `Signed in as ${who}`),
    h('div', { class: 'field' }, h('label', { for: 'profile-name' }, 'Name'), name),
    h('div', { class: 'field' }, h('label', { for: 'profile-status' }, 'Status'), status),
    err);
  const answer = await formDialog('Your profile', form, 'Save', async () => {
    try {
      await session.updateProfile({ name: name.value, status: status.value });
      return true;
    } catch (e) {
      err.textContent = e.message;
      return false;
    }
  });
  if (answer) toast('Profile saved');
}

// --- routes ---

function requireSession() {
  if (app.session) return app.session;
  navigate(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  return null;
}

async function render() {
  // Tear down the page shown so far.
  if (app.route) {
    app.route.controller.abort();
    try {
      app.route.cleanup?.();
    } catch (e) {
      console.error(e);
    }
  }
  const controller = new AbortController();
  const route = { controller, cleanup: null };
  app.route = route;
  const path = location.pathname;
  const params = new URLSearchParams(location.search);
  const main = app.main;
  main.className = '';
  setChildren(main);
  renderHeader();
  const ctx = { session: app.session, params, signal: controller.signal, navigate };

  let m;
  if (/^\/?$/.test(path)) {
    navigate(app.session ? '/rooms' : '/signin', { replace: true });
    return;
  } else if (/^\/signin\/?$/.test(path)) {
    if (app.session) {
      navigate(safeNext(params.get('next')) || '/rooms', { replace: true });
      return;
    }
    setTitle('Sign in · Zumzi');
    route.cleanup = renderSignin(main, { ...ctx, onSignedIn: (token, user) => signedIn(token, user, params.get('next')) });
  } else if (/^\/rooms\/?$/.test(path)) {
    if (!requireSession()) return;
    setTitle('Rooms · Zumzi');
    route.cleanup = renderRooms(main, ctx);
  } else if (/^\/messenger\/?$/.test(path)) {
    if (!requireSession()) return;
    setTitle('Messenger · Zumzi');
    route.cleanup = renderMessenger(main, { ...ctx, calls: app.calls });
  } else if ((m = /^\/r\/([^/]+)\/?$/.exec(path))) {
    if (!requireSession()) return;
    const roomId = decodeURIComponent(m[1]);
    app.title = null; // the conference names the page itself
    document.title = 'Room · Zumzi';
    await renderRoom(main, roomId, params.get('pin') || undefined, ctx);
  } else if ((m = /^\/watch\/([^/]+)\/?$/.exec(path))) {
    if (!requireSession()) return;
    setTitle('Live · Zumzi');
    route.cleanup = renderWatch(main, {
      ...ctx, roomId: decodeURIComponent(m[1]), pin: params.get('pin') || undefined, setTitle,
    });
  } else {
    setTitle('Not found · Zumzi');
    setChildren(main, h('section', { class: 'page narrow' },
      h('h1', { tabindex: '-1' }, 'Page not found'),
      h('p', {}, 'There is nothing at this address. ', h('a', { href: '/' }, 'Go to the start page'))));
  }
  if (app.route === route) focusPage(main);
}

function focusPage(main) {
  // Move focus to the new page's heading (screen readers announce it), but
  // not away from a field the page focused itself.
  if (main.contains(document.activeElement) && document.activeElement !== main) return;
  const heading = main.querySelector('h1');
  if (heading) {
    if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

// /r/{room}: the conference (conference.js, loaded on demand). A call's
// room hangs the call up when left; the call ending elsewhere leaves it.
async function renderRoom(main, roomId, pin, ctx) {
  const call = app.calls?.callForRoom(roomId) || null;
  const back = call ? app.calls.returnPath(call) : '/rooms';
  main.className = 'room-main';
  const leave = () => {
    if (call) app.calls?.hangup(call.id);
    if (!ctx.signal.aborted) navigate(back, { replace: true });
  };
  // Going elsewhere (the back button, a link) leaves a call too.
  if (call) ctx.signal.addEventListener('abort', () => {
    if (app.calls?.active?.call.id === call.id) app.calls.hangup(call.id);
  });
  let openRoom;
  try {
    ({ openRoom } = await import('./conference.js'));
  } catch (e) {
    if (ctx.signal.aborted) return;
    console.error(e);
    setChildren(main, h('section', { class: 'page narrow' },
      h('h1', { tabindex: '-1' }, call ? 'Call' : `Room ${roomId}`),
      h('p', {}, 'The conference view is not available in this version of the web client.'),
      h('div', { class: 'row' },
        h('button', { type: 'button', class: call ? 'danger' : '', onclick: leave }, call ? 'Hang up' : 'Back to rooms'))));
    return;
  }
  if (ctx.signal.aborted) return;
  // A box of its own: whatever openRoom does to its container after we
  // moved on (it clears it when it returns) leaves the next page alone.
  const holder = h('div', { class: 'room-holder' });
  main.append(holder);
  try {
    await openRoom(holder, { session: app.session, roomId, pin, call, signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    setChildren(main, h('section', { class: 'page narrow' },
      h('h1', { tabindex: '-1' }, 'Could not open the room'),
      h('p', { class: 'error-text', role: 'alert' }, e.message || String(e)),
      h('button', { type: 'button', onclick: leave }, 'Back')));
    return;
  }
  if (!ctx.signal.aborted) leave();
}

// --- start ---

async function boot() {
  document.body.replaceChildren();
  app.header = h('header', { class: 'topbar' });
  app.main = h('main', { id: 'main', tabindex: '-1' });
  document.body.append(
    h('a', { class: 'skip-link', href: '#main', onclick: (e) => { e.preventDefault(); app.main.focus(); } },
      'Skip to content'),
    app.header, app.main);
  const saved = savedCredentials();
  if (saved) {
    // A stale token means signing in again; an unreachable server does not.
    try {
      const user = await new Api({ token: saved.token }).getProfile();
      saveCredentials(saved.token, user);
      startSession(saved.token, user);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'AUTHFAIL') {
        clearCredentials();
        localStorage.removeItem(`zumzi.chat.${saved.user?.id}`);
      } else if (saved.user) {
        startSession(saved.token, saved.user);
      } else {
        clearCredentials();
      }
    }
  }
  render();
}

boot();
