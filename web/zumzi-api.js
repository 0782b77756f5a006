// zumzi-api.js: a REST client for Zumzi's HTTP API (docs/api.md). An ES
// module with no DOM, usable from any page (or any runtime with fetch):
//
//   import { Api } from '/zumzi-api.js';
//   await Api.requestCode('ann@example.com');
//   const { token, user } = await Api.signIn('ann@example.com', '123456');
//   const api = new Api({ token });
//   const room = await api.createRoom({ name: 'Standup', preset: 'hd' });
//
// Every failure rejects with an ApiError carrying the server's stable `code`
// (BADCODE, CODEEXPIRED, RATELIMIT, BADPIN, ...); see docs/client.md.

const PREFIX = '/api/v1';

// An error answer of the server (or NETWORK when it could not be reached).
// `status` is the HTTP status (0 for NETWORK); `retryAfter` the seconds of a
// RATELIMIT's Retry-After header.
export class ApiError extends Error {
  constructor(code, message, { status = 0, retryAfter = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

// The default server is the page's own origin ('' makes relative URLs).
function defaultBase() {
  return globalThis.location ? globalThis.location.origin : '';
}

function enc(id) {
  return encodeURIComponent(id);
}

function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {}))
    if (value !== undefined && value !== null && value !== '') q.set(key, String(value));
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function call(base, method, path, { token, body, raw, contentType, onAuthFail } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (raw !== undefined) {
    payload = raw;
    if (contentType) headers['Content-Type'] = contentType;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(`${base}${PREFIX}${path}`, { method, headers, body: payload, cache: 'no-store' });
  } catch (e) {
    throw new ApiError('NETWORK', `the server could not be reached (${e.message})`);
  }
  if (res.status === 204) return null; // No Content: done, nothing to say
  let json = null;
  try {
    json = await res.json();
  } catch {
    // not JSON: a proxy's error page, or a cut connection
  }
  if (!res.ok) {
    const err = json && json.error;
    const retry = res.headers.get('Retry-After');
    const error = new ApiError(err?.code || 'HTTP', err?.message || `HTTP ${res.status}`, {
      status: res.status,
      retryAfter: retry !== null && /^\d+$/.test(retry) ? Number(retry) : null,
    });
    if (error.code === 'AUTHFAIL' && token) onAuthFail?.(error);
    throw error;
  }
  if (json === null) throw new ApiError('BADRESPONSE', `HTTP ${res.status} without a JSON body`, { status: res.status });
  return json;
}

// {email} for anything with an '@', else {phone}: the login and contact
// endpoints name the kind of address.
export function addressFields(address) {
  const a = String(address || '').trim();
  return a.includes('@') ? { email: a } : { phone: a };
}

export class Api {
  // token: a user's access token; base: the server's origin (default: this
  // page's origin); onAuthFail(error): called whenever the server answers
  // AUTHFAIL (the token expired or was revoked: time to sign in again).
  constructor({ token, base = defaultBase(), onAuthFail = null } = {}) {
    if (!token) throw new Error('zumzi-api: a token is required');
    this.token = token;
    this.base = base.replace(/\/$/, '');
    this.onAuthFail = onAuthFail;
  }

  _call(method, path, options) {
    return call(this.base, method, path, { token: this.token, onAuthFail: this.onAuthFail, ...options });
  }

  // --- login (no token) ---

  // Step 1: the server makes a one-time code and delivers it.
  // Resolves {sent, address (normalised), resent, expires_at}.
  static requestCode(address, { name, app, base = defaultBase() } = {}) {
    return call(base, 'POST', '/login', { body: { ...addressFields(address), ...(name ? { name } : {}), ...(app ? { app } : {}) } });
  }

  // Step 2: trades the code for an access token.
  // Resolves {token, token_id, expires_at, app_id, user}.
  static signIn(address, code, { name, app, base = defaultBase() } = {}) {
    return call(base, 'POST', '/login', {
      body: { ...addressFields(address), code: String(code).trim(), ...(name ? { name } : {}), ...(app ? { app } : {}) },
    });
  }

  static presets({ base = defaultBase() } = {}) {
    return call(base, 'GET', '/presets').then((r) => r.presets);
  }

  static health({ base = defaultBase() } = {}) {
    return call(base, 'GET', '/health');
  }

  // Any endpoint: request('GET', '/rooms') resolves with the JSON answer.
  request(method, path, body) {
    return this._call(method, path, { body });
  }

  // --- session and profile ---

  logout() {
    return this.request('POST', '/logout');
  }

  getProfile() {
    return this.request('GET', '/profile');
  }

  // fields: {name?, status?, photo_url?}
  updateProfile(fields) {
    return this.request('PUT', '/profile', fields);
  }

  // A picture (Blob/File); its thumbnail becomes photo_url.
  uploadProfilePhoto(blob, name = blob.name || 'photo') {
    return this._call('POST', `/profile/photo${query({ name })}`, { raw: blob });
  }

  presets() {
    return Api.presets({ base: this.base });
  }

  // --- rooms ---

  // "My rooms": owned or joined, newest first (PINs only in owned rooms).
  listRooms() {
    return this.request('GET', '/rooms').then((r) => r.rooms);
  }

  // {name, preset?, last_n?}
  createRoom(fields) {
    return this.request('POST', '/rooms', fields);
  }

  getRoom(id) {
    return this.request('GET', `/rooms/${enc(id)}`);
  }

  // {name?, preset?, locked?, last_n?}
  updateRoom(id, fields) {
    return this.request('PATCH', `/rooms/${enc(id)}`, fields);
  }

  deleteRoom(id) {
    return this.request('DELETE', `/rooms/${enc(id)}`);
  }

  // Becomes a member with the participant or viewer PIN (none needed for
  // the owner or an existing member); resolves with the room.
  joinRoom(id, pin) {
    return this.request('POST', `/rooms/${enc(id)}/join`, pin ? { pin } : {});
  }

  listMembers(roomId) {
    return this.request('GET', `/rooms/${enc(roomId)}/members`).then((r) => r.members);
  }

  setMemberPermissions(roomId, userId, permissions) {
    return this.request('PATCH', `/rooms/${enc(roomId)}/members/${enc(userId)}`, { permissions });
  }

  removeMember(roomId, userId) {
    return this.request('DELETE', `/rooms/${enc(roomId)}/members/${enc(userId)}`);
  }

  // Leaves a room one is a member of (not the owner).
  leaveRoom(roomId, myUserId) {
    return this.removeMember(roomId, myUserId);
  }

  // Mutes a member's live tracks (moderators): kind 'audio' (the
  // server's default), 'video' or 'all'. Resolves {ok, muted: [track ids]}.
  muteMember(roomId, userId, kind) {
    return this.request('POST', `/rooms/${enc(roomId)}/members/${enc(userId)}/mute`, kind ? { kind } : {});
  }

  listBans(roomId) {
    return this.request('GET', `/rooms/${enc(roomId)}/bans`).then((r) => r.bans);
  }

  // Lifts a ban: the user may join again with a PIN.
  readmit(roomId, userId) {
    return this.request('DELETE', `/rooms/${enc(roomId)}/bans/${enc(userId)}`);
  }

  // --- live output: HLS, RTMP and recording of the room's composite ---

  // {layout, outputs: [{kind, state, url?, target?, recording_id?,
  // started_at?, error?, retry_in_ms?}]} (any member).
  getLive(roomId) {
    return this.request('GET', `/rooms/${enc(roomId)}/live`);
  }

  // kind 'hls' | 'rtmp' | 'record'; `url` (rtmp:// or rtmps://) for rtmp.
  // Resolves with the output (state 'starting'). hls and rtmp need
  // `moderate`, record needs `record` (or `moderate`).
  startLive(roomId, kind, { url } = {}) {
    return this.request('POST', `/rooms/${enc(roomId)}/live`, { kind, ...(url ? { url } : {}) }).then((r) => r.output);
  }

  // Resolves with the output, state 'stopped' (a recording once its file
  // is finalised).
  stopLive(roomId, kind) {
    return this.request('DELETE', `/rooms/${enc(roomId)}/live/${enc(kind)}`).then((r) => r.output);
  }

  // layout 'grid' | 'speaker' | 'pip' (moderate); resolves like getLive().
  setLiveLayout(roomId, layout) {
    return this.request('PATCH', `/rooms/${enc(roomId)}/live`, { layout });
  }

  // [{id, started_at, duration_ms, size, state: 'recording'|'done', url}]
  // (needs `record`).
  listRecordings(roomId) {
    return this.request('GET', `/rooms/${enc(roomId)}/recordings`).then((r) => r.recordings);
  }

  deleteRecording(roomId, recordingId) {
    return this.request('DELETE', `/rooms/${enc(roomId)}/recordings/${enc(recordingId)}`);
  }

  // A download URL of a recording (object of listRecordings() or its id)
  // with the token in its query, for an <a href download>: links cannot
  // send the token as a header.
  recordingUrl(roomId, recording) {
    const path = recording?.url || `${PREFIX}/rooms/${enc(roomId)}/recordings/${enc(recording?.id || recording)}/file`;
    return `${this.base}${path}${path.includes('?') ? '&' : '?'}token=${enc(this.token)}`;
  }

  // The room's HLS playlist with this user's token (see Api.liveUrl).
  liveUrl(roomId) {
    return Api.liveUrl(roomId, { token: this.token, base: this.base });
  }

  // The room's HLS playlist, /live/{room}/index.m3u8, for a player:
  // `pin` (the viewer or participant PIN) or `token` (a member's access
  // token) goes in its query (the server carries it on to the segments).
  static liveUrl(roomId, { pin, token, base = defaultBase() } = {}) {
    return `${base.replace(/\/$/, '')}/live/${enc(roomId)}/index.m3u8${query(pin ? { pin } : { token })}`;
  }

  // --- conversations and messages ---

  // Recent conversations, newest first: {id, kind, name, last_message,
  // unread, delivered_up_to, read_up_to (yours), receipts (the others':
  // [{user, delivered_up_to, read_up_to}]), presence?}.
  listConversations({ limit } = {}) {
    return this.request('GET', `/conversations${query({ limit })}`).then((r) => r.conversations);
  }

  // One page of history, newest first: {messages, more, next_before,
  // receipts}; pass next_before as `before` for the page before it. With
  // `after` (a message id) the page goes forwards instead: the messages
  // after it, oldest first, {messages, more, next_after, receipts}.
  history(conversation, { limit, before, after } = {}) {
    return this.request('GET', `/conversations/${enc(conversation)}/messages${query({ limit, before, after })}`);
  }

  getMessage(id) {
    return this.request('GET', `/messages/${enc(id)}`);
  }

  deleteMessage(id) {
    return this.request('DELETE', `/messages/${enc(id)}`);
  }

  // --- groups ---

  listGroups() {
    return this.request('GET', '/groups').then((r) => r.groups);
  }

  // {name, members?: [user ids], photo_url?}
  createGroup(fields) {
    return this.request('POST', '/groups', fields);
  }

  getGroup(id) {
    return this.request('GET', `/groups/${enc(id)}`);
  }

  updateGroup(id, fields) {
    return this.request('PATCH', `/groups/${enc(id)}`, fields);
  }

  uploadGroupPhoto(id, blob, name = blob.name || 'photo') {
    return this._call('POST', `/groups/${enc(id)}/photo${query({ name })}`, { raw: blob });
  }

  deleteGroup(id) {
    return this.request('DELETE', `/groups/${enc(id)}`);
  }

  addGroupMember(id, userId, role) {
    return this.request('POST', `/groups/${enc(id)}/members`, { user_id: userId, ...(role ? { role } : {}) });
  }

  setGroupMemberRole(id, userId, role) {
    return this.request('PATCH', `/groups/${enc(id)}/members/${enc(userId)}`, { role });
  }

  // Removes a member (admins), or leaves (your own id).
  removeGroupMember(id, userId) {
    return this.request('DELETE', `/groups/${enc(id)}/members/${enc(userId)}`);
  }

  // --- contacts and blocks ---

  // Which of these addresses are users of the app:
  // Another user's public profile (same app): {id, name, status, photo_url}.
  getUser(id) {
    return this.request('GET', `/users/${enc(id)}`);
  }

  // {matches: [{address, user}], invalid: [...]}.
  syncContacts({ emails = [], phones = [] } = {}) {
    return this.request('POST', '/contacts/sync', { emails, phones });
  }

  // The user with this e-mail or phone, or null.
  async findUser(address) {
    const a = addressFields(address);
    const r = await this.syncContacts(a.email ? { emails: [a.email] } : { phones: [a.phone] });
    if (r.invalid.length) throw new ApiError('BADREQUEST', `not an e-mail address or phone number: ${address}`, { status: 400 });
    return r.matches[0]?.user || null;
  }

  listContacts() {
    return this.request('GET', '/contacts').then((r) => r.contacts);
  }

  addContact(userId) {
    return this.request('POST', '/contacts', { user_id: userId });
  }

  removeContact(userId) {
    return this.request('DELETE', `/contacts/${enc(userId)}`);
  }

  listBlocks() {
    return this.request('GET', '/blocks').then((r) => r.blocked);
  }

  block(userId) {
    return this.request('POST', '/blocks', { user_id: userId });
  }

  unblock(userId) {
    return this.request('DELETE', `/blocks/${enc(userId)}`);
  }

  // --- files ---

  // Uploads a Blob/File; resolves with the file object ({id, name,
  // content_type, size, url, thumbnail_url, width, height}) to send with
  // Chat.send({file: id}).
  uploadFile(blob, name = blob.name || 'file') {
    return this._call('POST', `/files${query({ name })}`, { raw: blob });
  }

  fileInfo(id) {
    return this.request('GET', `/files/${enc(id)}/info`);
  }

  // Absolute URLs of a file object's bytes and thumbnail. Downloads need the
  // token as a header, so pages fetch them with fetchFile().
  fileUrl(file) {
    return `${this.base}${file.url || `${PREFIX}/files/${enc(file.id || file)}`}`;
  }

  thumbnailUrl(file) {
    return file.thumbnail_url ? `${this.base}${file.thumbnail_url}` : null;
  }

  // The bytes at `url` (a file, thumbnail or photo URL of this server, as
  // the API gives them) as a Blob.
  async fetchFile(url) {
    const absolute = /^https?:/.test(url) ? url : `${this.base}${url}`;
    let res;
    try {
      res = await fetch(absolute, { headers: { Authorization: `Bearer ${this.token}` } });
    } catch (e) {
      throw new ApiError('NETWORK', `the server could not be reached (${e.message})`);
    }
    if (!res.ok) {
      let err = null;
      try {
        err = (await res.json()).error;
      } catch {
        // no JSON body
      }
      const error = new ApiError(err?.code || 'HTTP', err?.message || `HTTP ${res.status}`, { status: res.status });
      if (error.code === 'AUTHFAIL') this.onAuthFail?.(error);
      throw error;
    }
    return res.blob();
  }
}
