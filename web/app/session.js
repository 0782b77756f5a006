// session.js: everything the web client keeps while a user is signed in:
// the token (in localStorage), the REST client, the one WebSocket
// connection (reconnected with backoff), the Chat on it, the inbox (recent
// conversations and unread counts), a cache of user names and of
// authenticated file downloads.
import { Api, ApiError, Chat, Zumzi } from '../zumzi.js';

const TOKEN_KEY = 'zumzi.token';
const USER_KEY = 'zumzi.user';

export function savedCredentials() {
  try {
    const token = localStorage.getItem(TOKEN_KEY);
    const user = JSON.parse(localStorage.getItem(USER_KEY) || 'null');
    return token ? { token, user } : null;
  } catch {
    return null;
  }
}

export function saveCredentials(token, user) {
  localStorage.setItem(TOKEN_KEY, token);
  localStorage.setItem(USER_KEY, JSON.stringify(user));
}

export function clearCredentials() {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(USER_KEY);
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

// Events: 'status' {status: 'connecting' | 'online' | 'offline', retryIn?},
// 'user' {user} (profile changed), 'expired' {} (the token stopped working).
export class Session extends EventTarget {
  constructor({ token, user }) {
    super();
    this.token = token;
    this.user = user;
    this.api = new Api({ token, onAuthFail: () => this._expire() });
    this.chat = new Chat(null, { user, storage: localStorage });
    this.inbox = new Inbox(this);
    this.names = new Map(); // user id -> display name
    if (user) this.names.set(user.id, user.name);
    this.status = 'connecting';
    this._client = null;
    this._stop = new AbortController();
    this._wake = null; // resolves the backoff wait early (network back)
    this._files = new Map(); // url -> Promise<object URL>
    this._lookups = new Map(); // user id -> Promise<name> (GET /users/{id})
    this._firstConnect = null;
  }

  // The current connection (a Zumzi client), or null while reconnecting.
  get client() {
    return this._client;
  }

  // Starts the connection loop; resolves after the first attempt.
  start() {
    this._firstConnect = new Promise((resolve) => {
      this._loop(resolve);
    });
    this._onOnline = () => this._wake?.();
    window.addEventListener('online', this._onOnline);
    document.addEventListener('visibilitychange', this._onOnline);
    return this._firstConnect;
  }

  // Resolves with a connected client (waits for a reconnection).
  async connected() {
    if (this._client) return this._client;
    return new Promise((resolve, reject) => {
      const onStatus = () => {
        if (this._client) {
          this.removeEventListener('status', onStatus);
          resolve(this._client);
        }
      };
      this.addEventListener('status', onStatus);
      this._stop.signal.addEventListener('abort', () => reject(new Error('signed out')), { once: true });
    });
  }

  async _loop(firstDone) {
    let delay = 1000;
    const signal = this._stop.signal;
    while (!signal.aborted) {
      this._setStatus('connecting');
      let client = null;
      try {
        client = await Zumzi.connect({ token: this.token });
      } catch {
        client = null;
      }
      if (signal.aborted) {
        client?.close();
        break;
      }
      if (client) {
        // Attached before any other await: no event of it is missed.
        this.chat.attach(client);
        this._client = client;
        if (client.user) this._setUser(client.user);
        delay = 1000;
        const closed = new Promise((resolve) => client.addEventListener('close', resolve, { once: true }));
        this._setStatus('online');
        this.inbox.refresh();
        firstDone?.();
        firstDone = null;
        await closed;
        this._client = null;
        if (signal.aborted) break;
      } else {
        firstDone?.();
        firstDone = null;
        // Refused before the upgrade: is the token still good?
        try {
          await this.api.getProfile();
        } catch (e) {
          if (e instanceof ApiError && e.code === 'AUTHFAIL') return; // _expire() ran
        }
      }
      const wait = Math.round(delay * (0.8 + Math.random() * 0.4));
      this._setStatus('offline', { retryIn: wait });
      await new Promise((resolve) => {
        this._wake = resolve;
        sleep(wait, signal).then(resolve);
      });
      this._wake = null;
      delay = Math.min(delay * 2, 30000);
    }
  }

  // The token stopped working (expired or revoked): once, 'expired'.
  _expire() {
    if (this._expired || this.signingOut || this._stop.signal.aborted) return;
    this._expired = true;
    this._setStatus('offline');
    this.dispatchEvent(new CustomEvent('expired', { detail: {} }));
  }

  // Reconnects now instead of waiting for the backoff.
  reconnectNow() {
    this._wake?.();
  }

  _setStatus(status, extra = {}) {
    this.status = status;
    this.dispatchEvent(new CustomEvent('status', { detail: { status, ...extra } }));
  }

  _setUser(user) {
    this.user = user;
    this.names.set(user.id, user.name);
    try {
      localStorage.setItem(USER_KEY, JSON.stringify(user));
    } catch {
      // storage refused: the session still works
    }
    this.dispatchEvent(new CustomEvent('user', { detail: { user } }));
  }

  async updateProfile(fields) {
    const user = await this.api.updateProfile(fields);
    this._setUser(user);
    return user;
  }

  // Ends the session here: stops reconnecting, closes the connection.
  stop() {
    this._stop.abort();
    this._wake?.();
    window.removeEventListener('online', this._onOnline);
    document.removeEventListener('visibilitychange', this._onOnline);
    this.chat.close();
    this._client?.close();
    this._client = null;
    for (const p of this._files.values()) p.then((url) => url && URL.revokeObjectURL(url)).catch(() => {});
    this._files.clear();
  }

  // --- names ---

  learnName(id, name) {
    if (id && name) this.names.set(id, name);
  }

  nameOf(id) {
    if (id === this.user?.id) return this.user.name;
    return this.names.get(id) || 'Someone';
  }

  // The name of someone not met yet (not a contact, no message seen):
  // asked of the server once; resolves with what nameOf() says then.
  async fetchName(id) {
    if (!id || id === this.user?.id || this.names.has(id)) return this.nameOf(id);
    if (!this._lookups.has(id)) {
      const p = this.api.getUser(id).then((u) => this.learnName(u.id, u.name));
      p.catch(() => this._lookups.delete(id)); // offline: asked again next time
      this._lookups.set(id, p);
    }
    await this._lookups.get(id).catch(() => {});
    return this.nameOf(id);
  }

  // --- authenticated downloads ---

  // An object URL for a file/thumbnail/photo URL of the API (they need the
  // token in a header, so <img src> cannot load them directly).
  objectUrl(url) {
    if (!url) return Promise.resolve(null);
    if (!url.startsWith('/api/')) return Promise.resolve(url); // an outside photo_url
    if (!this._files.has(url)) {
      const p = this.api.fetchFile(url).then((blob) => URL.createObjectURL(blob));
      p.catch(() => this._files.delete(url));
      this._files.set(url, p);
    }
    return this._files.get(url);
  }
}

// The user's recent conversations with unread counts, kept up to date from
// the chat events. Events: 'change' {}.
export class Inbox extends EventTarget {
  constructor(session) {
    super();
    this.session = session;
    this.conversations = new Map(); // id -> conversation (GET /conversations)
    this.loaded = false;
    this._refreshing = null;
    this._again = false;
    const chat = session.chat;
    chat.addEventListener('message', (e) => this._onMessage(e.detail.message));
    chat.addEventListener('sent', (e) => this._onMessage(e.detail.message));
    chat.addEventListener('receipt', (e) => this._onReceipt(e.detail));
    chat.addEventListener('deleted', (e) => this._onDeleted(e.detail));
    chat.addEventListener('presence', (e) => this._onPresence(e.detail));
    chat.addEventListener('groupupdated', () => this.refresh());
    chat.addEventListener('groupdeleted', () => this.refresh());
    // A call's room (and its chat) goes away with the call.
    chat.addEventListener('callended', (e) => {
      if (e.detail.room && this.conversations.has(`room:${e.detail.room}`)) this.refresh();
    });
  }

  get unreadTotal() {
    let n = 0;
    for (const c of this.conversations.values()) n += c.unread || 0;
    return n;
  }

  // Newest first.
  list() {
    return [...this.conversations.values()].sort(
      (a, b) => (b.last_message?.id || 0) - (a.last_message?.id || 0));
  }

  get(id) {
    return this.conversations.get(id);
  }

  // Reloads the list (coalesces calls made while one runs).
  refresh() {
    if (this._refreshing) {
      this._again = true;
      return this._refreshing;
    }
    this._refreshing = (async () => {
      try {
        do {
          this._again = false;
          const list = await this.session.api.listConversations({ limit: 200 });
          this.conversations = new Map(list.map((c) => [c.id, c]));
          for (const c of list) {
            if (c.kind === 'dm') this.session.learnName(c.user, c.name);
            this.session.chat.noteReceipts(c.id, c.receipts);
          }
          this.loaded = true;
          this._changed();
        } while (this._again);
      } catch {
        // offline: the next connection refreshes again
      } finally {
        this._refreshing = null;
      }
    })();
    return this._refreshing;
  }

  _changed() {
    this.dispatchEvent(new CustomEvent('change', { detail: {} }));
  }

  _onMessage(m) {
    const c = this.conversations.get(m.conversation);
    if (!c) {
      this.refresh(); // a conversation we do not know yet
      return;
    }
    if (c.last_message && c.last_message.id >= m.id) return; // heard already
    c.last_message = m;
    const me = this.session.user?.id;
    if (m.sender !== me && !m.deleted && m.id > (c.read_up_to || 0)) c.unread = (c.unread || 0) + 1;
    if (m.sender === me) {
      // Writing in a conversation reads it.
      c.unread = 0;
      c.read_up_to = Math.max(c.read_up_to || 0, m.id);
    }
    this._changed();
  }

  _onReceipt({ conversation, user, status, up_to: upTo }) {
    if (user !== this.session.user?.id || status !== 'read') return;
    this.noteRead(conversation, upTo);
  }

  // Our own read cursor moved (here or on another device).
  noteRead(conversation, upTo) {
    const c = this.conversations.get(conversation);
    if (!c || (c.read_up_to || 0) >= upTo) return;
    c.read_up_to = upTo;
    if (!c.last_message || upTo >= c.last_message.id) c.unread = 0;
    else this.refresh(); // only part of it read: the server counts
    this._changed();
  }

  _onDeleted({ conversation, message_id: id }) {
    const c = this.conversations.get(conversation);
    if (!c) return;
    if (c.last_message?.id === id) c.last_message = { ...c.last_message, deleted: true, text: '' };
    if (id > (c.read_up_to || 0) && c.unread) this.refresh();
    else this._changed();
  }

  _onPresence(p) {
    let changed = false;
    for (const c of this.conversations.values()) {
      if (c.kind === 'dm' && c.user === p.user) {
        c.presence = { user: p.user, online: p.online, last_seen: p.last_seen };
        changed = true;
      }
    }
    if (changed) this._changed();
  }
}
