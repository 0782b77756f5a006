// zumzi.js: a small client for Zumzi's WebSocket protocol (docs/protocol.md).
// An ES module with no DOM: it connects with an access token, joins rooms,
// publishes local tracks on the publish session (the client offers) and
// answers the server's subscribe offers, trickling ICE both ways. What it
// receives it reports as events (EventTarget, details in event.detail).
//
//   import { Zumzi } from '/zumzi.js';
//   const z = await Zumzi.connect({ token });
//   const room = await z.join('k7m2q9x4ab', '48151623');
//   room.addEventListener('track', (e) => show(e.detail.track, e.detail.info));
//   await room.publish(cameraTrack, 'camera');
//
// See docs/client.md.

// The REST client and the chat/calls layer ride along, so one import gives
// all of it.
export * from './zumzi-api.js';
export * from './zumzi-chat.js';

const WS_PATH = '/api/v1/ws';

// An error reply of the server, with its stable code.
export class ZumziError extends Error {
  constructor(code, message, extra = {}) {
    super(message);
    this.name = 'ZumziError';
    this.code = code;
    Object.assign(this, extra);
  }
}

// A live output that still runs (not stopped, failed or done).
function isRunning(output) {
  return ['starting', 'live', 'retrying'].includes(output?.state);
}

function emit(target, type, detail) {
  target.dispatchEvent(new CustomEvent(type, { detail }));
}

// The default server is the page's own origin.
function defaultUrl() {
  const loc = globalThis.location;
  if (!loc) throw new Error('zumzi: pass `url` outside a browser page');
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}`;
}

// Events: 'close' ({code, reason}), 'message' (every server message, raw).
export class Zumzi extends EventTarget {
  // Resolves once the server's `welcome` arrived; rejects if the connection
  // fails (a bad token is refused before the upgrade).
  // `candidateFilter(candidate)` (optional): local ICE candidates (the
  // "candidate:..." string) for which it returns false are not sent.
  static connect({ token, url = defaultUrl(), iceServers = [], candidateFilter = null } = {}) {
    if (!token) return Promise.reject(new Error('zumzi: a token is required'));
    const base = url.replace(/^http/, 'ws').replace(/\/$/, '');
    const ws = new WebSocket(`${base}${WS_PATH}?token=${encodeURIComponent(token)}`);
    const client = new Zumzi(ws, iceServers);
    client.candidateFilter = candidateFilter;
    return new Promise((resolve, reject) => {
      client._welcome = { resolve, reject };
    });
  }

  constructor(ws, iceServers) {
    super();
    this.ws = ws;
    this.iceServers = iceServers;
    this.user = null;
    this.sessionId = null;
    this.rooms = new Map(); // room id -> Room
    this._nextId = 1;
    this._pending = new Map(); // request id -> {resolve, reject}
    ws.onmessage = (e) => this._onMessage(e.data);
    ws.onclose = (e) => this._onClose(e);
    ws.onerror = () => {}; // onclose follows with the details
  }

  // Sends a request and resolves with the reply carrying its id (rejects
  // with ZumziError on an `error` reply).
  request(message) {
    const id = this._nextId++;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject });
      this.send({ ...message, id });
    });
  }

  send(message) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  async ping() {
    return this.request({ type: 'ping' });
  }

  // Joins a room (PIN unless you own it or are a member already) and
  // returns its Room. Media starts at once: the server sends the first
  // subscribe offer right after `joined`. `options.media` false joins
  // without media (the roster, room events and room chat only: a page
  // that plays the room's live stream).
  async join(roomId, pin, { media = true } = {}) {
    const room = new Room(this, roomId);
    room.media = media !== false;
    this.rooms.set(roomId, room); // offers may follow the reply at once
    try {
      const joined = await this.request({
        type: 'join', room: roomId, ...(pin ? { pin } : {}), ...(media === false ? { media: false } : {}),
      });
      room._joined(joined);
      return room;
    } catch (e) {
      this.rooms.delete(roomId);
      room._close();
      throw e;
    }
  }

  close() {
    for (const room of this.rooms.values()) room._close();
    this.rooms.clear();
    this.ws.close(1000);
  }

  _onMessage(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    emit(this, 'message', m);
    if (m.type === 'welcome') {
      this.user = m.user;
      this.sessionId = m.session_id;
      this._welcome?.resolve(this);
      this._welcome = null;
      return;
    }
    if (m.id !== undefined && this._pending.has(m.id)) {
      const { resolve, reject } = this._pending.get(m.id);
      this._pending.delete(m.id);
      if (m.type === 'error') {
        const { code, message, ...extra } = m.error || {};
        reject(new ZumziError(code, message, extra));
      } else {
        resolve(m);
      }
      return;
    }
    // `room` is the room id, or (room_updated) the room object.
    const roomId = typeof m.room === 'string' ? m.room : m.room?.id;
    const room = roomId && this.rooms.get(roomId);
    if (room) room._onMessage(m);
  }

  _onClose(e) {
    const error = new ZumziError('CLOSED', `connection closed (${e.code})`);
    if (this._welcome) {
      this._welcome.reject(error);
      this._welcome = null;
    }
    for (const { reject } of this._pending.values()) reject(error);
    this._pending.clear();
    for (const room of this.rooms.values()) room._close();
    this.rooms.clear();
    emit(this, 'close', { code: e.code, reason: e.reason });
  }
}

// One joined room. Events (event.detail):
//   participantjoined {participant}       participantleft {participant_id, user_id, reason}
//   participantupdated {participant, self}  role or permissions changed (self: it is us)
//   roomupdated {room}                     the room changed (locked...)
//   trackpublished {info, local}           trackunpublished {info, local}
//   trackmuted {track_id, participant_id, muted, by, info, local, forced}
//   track {track, stream, info}           a remote MediaStreamTrack is playing
//   trackremoved {track, stream, info}    it is gone (unpublished or left)
//   speaking {participant_id, speaking}
//   connectionstate {session, state, side}  side: 'server' or 'client'
//   livestatus {output, live}             a live output (hls, rtmp, record) changed
//                                          state (output null: the layout), room.live follows
//   removed {reason}                       a moderator took us out (then `left`)
//   left {reason}                          the room is over for us
//   error {error}                          a media error the server reported
export class Room extends EventTarget {
  constructor(client, id) {
    super();
    this.client = client;
    this.id = id;
    this.info = null; // the room object of `joined`
    this.participantId = null;
    this.participants = new Map(); // participant id -> participant
    this.tracks = new Map(); // track id -> track info (track_published)
    this.remote = new Map(); // track id -> {track, stream}
    this._announced = new Set(); // track ids whose 'track' event went out
    this._pub = null; // publish RTCPeerConnection, made on first publish
    this._sub = null; // subscribe RTCPeerConnection, made on first offer
    // Our own tracks, by label: {label, track (null while paused), transceiver,
    // msidTrack (the track id in our offer's msid), info (the server's track
    // object, once announced), muted (what we want)}.
    this._published = new Map();
    this.unsubscribed = new Set(); // track ids we chose not to receive
    this.audioOnly = false;
    this.media = true; // false: joined with media:false
    // The room's live output: {layout, outputs} with the running outputs
    // (starting, live, retrying), one per kind.
    this.live = { layout: 'grid', outputs: [] };
    this._pubQueue = Promise.resolve(); // publish negotiations run one at a time
    this._subQueue = Promise.resolve();
    this._early = { publish: [], subscribe: [] }; // candidates before the remote SDP
    this.closed = false;
  }

  get role() {
    return this.info?.role;
  }

  get permissions() {
    return this.info?.permissions || [];
  }

  // Publishes `track` (a MediaStreamTrack) labelled `label` ('camera',
  // 'mic', 'screen', 'screen-2'...). Resolves once the server answered.
  // `options.codecs`: RTCRtpCodecCapability[] to prefer (setCodecPreferences).
  // `options.muted`: publish it muted (track.enabled false, and mute_track
  // as soon as the server announces it).
  publish(track, label, options = {}) {
    if (!label) return Promise.reject(new Error('zumzi: a label is required'));
    if (this._entry(track)) return Promise.reject(new Error('zumzi: already published'));
    if (this._published.has(label)) return Promise.reject(new Error(`zumzi: '${label}' is already published`));
    const entry = { label, track, transceiver: null, msidTrack: track.id, info: null, muted: !!options.muted };
    if (entry.muted) track.enabled = false;
    this._published.set(label, entry);
    return this._negotiate(() => {
      const pc = this._publishPc();
      entry.transceiver = pc.addTransceiver(track, { direction: 'sendonly', ...(options.init || {}) });
      if (options.codecs) entry.transceiver.setCodecPreferences(options.codecs);
    }).catch((e) => {
      if (this._published.get(label) === entry) this._published.delete(label);
      throw e;
    });
  }

  // Stops sending a published track (the MediaStreamTrack or its label):
  // its m-line goes inactive and the server unpublishes it. The track itself
  // is left running (stop it yourself).
  unpublish(trackOrLabel) {
    const entry = this._entry(trackOrLabel);
    if (!entry) return Promise.reject(new Error('zumzi: not published'));
    this._published.delete(entry.label);
    return this._negotiate(() => {
      if (!entry.transceiver) return; // its publish failed
      entry.transceiver.direction = 'inactive';
      entry.transceiver.sender.replaceTrack(null);
    });
  }

  // Our published tracks: [{label, track, id, muted}] (`id` is the server's
  // track id, null until the server announced the track).
  get localTracks() {
    return [...this._published.values()].map((e) => ({
      label: e.label, track: e.track, id: e.info?.id ?? null, muted: e.muted,
    }));
  }

  // The RTCRtpSender of a published track (MediaStreamTrack or label).
  sender(trackOrLabel) {
    return this._entry(trackOrLabel)?.transceiver?.sender ?? null;
  }

  // Sends `newTrack` instead of a published track (a camera or microphone
  // switch) without renegotiating: RTCRtpSender.replaceTrack. The server
  // keeps the same track (id, label, muted state). `newTrack` null pauses
  // sending (nothing goes out until the next replaceTrack). A muted track
  // stays muted: the new track gets enabled = false.
  async replaceTrack(trackOrLabel, newTrack) {
    const entry = this._entry(trackOrLabel);
    if (!entry) throw new Error('zumzi: not published');
    // The transceiver exists once publish() ran its change; wait for it.
    await this._pubQueue;
    if (!entry.transceiver) throw new Error('zumzi: not published');
    const kind = entry.transceiver.receiver.track.kind; // the m-line's kind
    if (newTrack && newTrack.kind !== kind)
      throw new Error(`zumzi: cannot send ${newTrack.kind} on a ${kind} track`);
    if (newTrack && entry.muted) newTrack.enabled = false;
    await entry.transceiver.sender.replaceTrack(newTrack);
    entry.track = newTrack;
  }

  // Changes the first encoding of a published track's sender (see
  // RTCRtpSender.setParameters): `maxBitrate` (bit/s), `maxFramerate`,
  // `scaleResolutionDownBy`, `active`; `degradationPreference`
  // ('maintain-resolution', 'maintain-framerate', 'balanced') applies to
  // the whole sender. A value of null removes that limit. Resolves with
  // the parameters now in force.
  async setSendParameters(trackOrLabel, { degradationPreference, ...encoding } = {}) {
    const entry = this._entry(trackOrLabel);
    if (!entry) throw new Error('zumzi: not published');
    await this._pubQueue; // the encodings exist once negotiated
    if (!entry.transceiver) throw new Error('zumzi: not published');
    const sender = entry.transceiver.sender;
    const params = sender.getParameters();
    if (!params.encodings || !params.encodings.length) params.encodings = [{}];
    for (const [key, value] of Object.entries(encoding)) {
      if (value === null || value === undefined) delete params.encodings[0][key];
      else params.encodings[0][key] = value;
    }
    if (degradationPreference) params.degradationPreference = degradationPreference;
    await sender.setParameters(params);
    return sender.getParameters();
  }

  // Mutes one of our published tracks (MediaStreamTrack or label) for
  // everyone: track.enabled = false here, and `mute_track` so the server
  // forwards nothing and tells the room (`trackmuted`). Before the server
  // has announced the track the request waits for that announcement.
  muteTrack(trackOrLabel) {
    return this._setMuted(trackOrLabel, true);
  }

  unmuteTrack(trackOrLabel) {
    return this._setMuted(trackOrLabel, false);
  }

  // Receive someone else's track again / stop receiving it (track id).
  // The choice lasts as long as the track; see `unsubscribed`.
  async subscribeTrack(trackId) {
    await this.client.request({ type: 'subscribe_track', room: this.id, track: trackId });
    this.unsubscribed.delete(trackId);
  }

  async unsubscribeTrack(trackId) {
    await this.client.request({ type: 'unsubscribe_track', room: this.id, track: trackId });
    this.unsubscribed.add(trackId);
  }

  // No video at all from anyone (true), or video again (false).
  async setAudioOnly(enabled) {
    await this.client.request({ type: 'audio_only', room: this.id, enabled: !!enabled });
    this.audioOnly = !!enabled;
  }

  // --- moderation (needs the `moderate` permission; the server answers
  // PERMISSION otherwise). Each resolves with the server's ack.

  // Mutes someone's tracks: kind 'audio' (default), 'video' (cameras and
  // screens) or 'all'. They may unmute them themselves.
  muteParticipant(participantId, kind = 'audio') {
    return this.client.request({ type: 'mute_participant', room: this.id, participant_id: participantId, kind });
  }

  // Takes a member out of the room (their connections get `left` with
  // reason `removed`).
  removeParticipant(userId) {
    return this.client.request({ type: 'remove_participant', room: this.id, user_id: userId });
  }

  // Replaces a member's permissions (letting a viewer publish: add 'publish').
  setPermissions(userId, permissions) {
    return this.client.request({ type: 'set_permissions', room: this.id, user_id: userId, permissions });
  }

  lockRoom(locked) {
    return this.client.request({ type: 'lock_room', room: this.id, locked: !!locked });
  }

  // Lets a removed member in again.
  readmit(userId) {
    return this.client.request({ type: 'readmit', room: this.id, user_id: userId });
  }

  // --- live output (hls and rtmp need `moderate`, record needs `record`
  // or `moderate`). Each resolves with the output of the server's ack
  // (the layout for setLiveLayout); `room.live` follows.

  // kind 'hls' | 'rtmp' | 'record'; `url` (rtmp:// or rtmps://) for rtmp.
  async startLive(kind, { url } = {}) {
    const ack = await this.client.request({ type: 'live_start', room: this.id, kind, ...(url ? { url } : {}) });
    // Its live_status may have come first (state live): that one is newer.
    if (ack.output && !this.liveOutput(kind)) this._liveStatus(ack.output);
    return ack.output;
  }

  async stopLive(kind) {
    const ack = await this.client.request({ type: 'live_stop', room: this.id, kind });
    if (ack.output && this.liveOutput(kind)) this._liveStatus(ack.output);
    return ack.output;
  }

  // layout 'grid' | 'speaker' | 'pip'.
  async setLiveLayout(layout) {
    const ack = await this.client.request({ type: 'live_layout', room: this.id, layout });
    if (ack.layout) this.live = { ...this.live, layout: ack.layout };
    emit(this, 'livestatus', { output: null, live: this.live });
    return ack.layout;
  }

  // The running output of a kind ({kind, state, ...}), or null.
  liveOutput(kind) {
    return this.live.outputs.find((o) => o.kind === kind) || null;
  }

  // The RTCPeerConnections, for getStats() and the like (null until used).
  get publishConnection() {
    return this._pub;
  }

  get subscribeConnection() {
    return this._sub;
  }

  async leave() {
    if (this.closed) return;
    try {
      await this.client.request({ type: 'leave', room: this.id });
    } finally {
      this.client.rooms.delete(this.id);
      this._close('left');
    }
  }

  // --- internals ---

  // An output's news: a running one replaces that kind's entry, a stopped
  // or failed one leaves the list.
  _liveStatus(output) {
    const others = this.live.outputs.filter((o) => o.kind !== output.kind);
    this.live = { ...this.live, outputs: isRunning(output) ? [...others, output] : others };
    emit(this, 'livestatus', { output, live: this.live });
  }

  // The entry of a published track, by MediaStreamTrack or label.
  _entry(trackOrLabel) {
    if (typeof trackOrLabel === 'string') return this._published.get(trackOrLabel) || null;
    for (const entry of this._published.values()) if (entry.track === trackOrLabel) return entry;
    return null;
  }

  async _setMuted(trackOrLabel, muted) {
    const entry = this._entry(trackOrLabel);
    if (!entry) throw new Error('zumzi: not published');
    entry.muted = muted;
    if (entry.track) entry.track.enabled = !muted;
    // Not announced yet: _ownTrackPublished applies it.
    if (!entry.info || entry.info.muted === muted) return;
    await this.client.request({ type: muted ? 'mute_track' : 'unmute_track', room: this.id, track: entry.info.id });
  }

  _joined(m) {
    this.info = m.room;
    if (m.live) this.live = { layout: m.live.layout || 'grid', outputs: (m.live.outputs || []).filter(isRunning) };
    this.participantId = m.participant_id;
    for (const p of m.participants || []) this.participants.set(p.participant_id, p);
    for (const t of m.tracks || []) this._trackPublished(t);
  }

  // The server announced one of our own tracks: remember its id, and send
  // a mute wanted before it existed.
  _ownTrackPublished(info) {
    const msidTrack = (info.msid || '').split(' ')[1];
    const entry = [...this._published.values()].find((e) =>
      e.label === info.label && !e.info && (!msidTrack || msidTrack === e.msidTrack)) ||
      [...this._published.values()].find((e) => e.label === info.label && !e.info);
    if (!entry) return;
    entry.info = info;
    emit(this, 'trackpublished', { info, local: true });
    if (entry.muted !== !!info.muted)
      this.client
        .request({ type: entry.muted ? 'mute_track' : 'unmute_track', room: this.id, track: info.id })
        .catch((error) => emit(this, 'error', { error }));
  }

  _trackMuted(m) {
    const local = m.participant_id === this.participantId;
    let info = null;
    let forced = false;
    if (local) {
      const entry = [...this._published.values()].find((e) => e.info?.id === m.track_id);
      if (entry) {
        info = entry.info;
        info.muted = m.muted;
        // Someone else (a moderator) muted us: stop sending too.
        if (m.muted && !entry.muted) {
          forced = true;
          entry.muted = true;
          if (entry.track) entry.track.enabled = false;
        }
      }
    } else {
      info = this.tracks.get(m.track_id) || null;
      if (info) info.muted = m.muted;
    }
    emit(this, 'trackmuted', {
      track_id: m.track_id, participant_id: m.participant_id, muted: m.muted,
      by: m.by ?? null, info: info || m.track || null, local, forced,
    });
  }

  _onMessage(m) {
    switch (m.type) {
      case 'participant_joined':
        this.participants.set(m.participant.participant_id, m.participant);
        emit(this, 'participantjoined', { participant: m.participant });
        break;
      case 'participant_left':
        this.participants.delete(m.participant_id);
        emit(this, 'participantleft', { participant_id: m.participant_id, user_id: m.user_id, reason: m.reason ?? null });
        break;
      case 'participant_updated': {
        const p = m.participant;
        if (!p?.participant_id) break;
        const self = p.participant_id === this.participantId;
        const merged = { ...(this.participants.get(p.participant_id) || {}), ...p };
        if (this.participants.has(p.participant_id) || !self) this.participants.set(p.participant_id, merged);
        if (self && this.info) {
          if (p.role) this.info.role = p.role;
          if (p.permissions) this.info.permissions = p.permissions;
        }
        emit(this, 'participantupdated', { participant: merged, self });
        break;
      }
      case 'room_updated':
        // The room as we see it (our role and permissions included).
        this.info = { ...(this.info || {}), ...(m.room || {}) };
        emit(this, 'roomupdated', { room: this.info });
        break;
      case 'track_muted':
        this._trackMuted(m);
        break;
      case 'live_status':
        // Every live_status carries the layout; one without an output says
        // a moderator changed the layout.
        if (m.layout) this.live = { ...this.live, layout: m.layout };
        if (m.output) this._liveStatus(m.output);
        else emit(this, 'livestatus', { output: null, live: this.live });
        break;
      case 'speaking': {
        const p = this.participants.get(m.participant_id);
        if (p) p.speaking = m.speaking;
        emit(this, 'speaking', { participant_id: m.participant_id, speaking: m.speaking });
        break;
      }
      case 'track_published':
        this._trackPublished(m.track);
        break;
      case 'track_unpublished':
        this._trackUnpublished(m.track.id);
        break;
      case 'subscribe_offer':
        this._subQueue = this._subQueue.then(() => this._answer(m.sdp)).catch((error) =>
          emit(this, 'error', { error }));
        break;
      case 'ice':
        this._remoteCandidate(m.session, m.mline, m.candidate);
        break;
      case 'connection_state':
        emit(this, 'connectionstate', { session: m.session, state: m.state, side: 'server' });
        break;
      case 'left':
        this.client.rooms.delete(this.id);
        if (m.reason === 'removed') emit(this, 'removed', { reason: m.reason });
        this._close(m.reason || 'left');
        break;
      case 'error':
        emit(this, 'error', { error: new ZumziError(m.error?.code, m.error?.message) });
        break;
    }
  }

  _trackPublished(info) {
    if (info.participant_id === this.participantId) {
      this._ownTrackPublished(info);
      return;
    }
    this.tracks.set(info.id, info);
    emit(this, 'trackpublished', { info, local: false });
    this._maybeAnnounce(info.id);
  }

  _trackUnpublished(id) {
    const own = [...this._published.values()].find((e) => e.info?.id === id);
    if (own) {
      // The server ended it (we unpublished it, or it stopped on its side).
      emit(this, 'trackunpublished', { info: own.info, local: true });
      own.info = null;
      return;
    }
    this.unsubscribed.delete(id);
    const info = this.tracks.get(id);
    if (!info) return;
    this.tracks.delete(id);
    const remote = this.remote.get(id);
    this.remote.delete(id);
    if (this._announced.delete(id)) emit(this, 'trackremoved', { ...remote, info });
    emit(this, 'trackunpublished', { info, local: false });
  }

  // A track is announced once both its info (track events) and its
  // MediaStreamTrack (ontrack, stream id = track id) are here.
  _maybeAnnounce(id) {
    const info = this.tracks.get(id);
    const remote = this.remote.get(id);
    if (!info || !remote || this._announced.has(id)) return;
    this._announced.add(id);
    emit(this, 'track', { ...remote, info });
  }

  _newPc(session) {
    const pc = new RTCPeerConnection({
      iceServers: this.client.iceServers,
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
    });
    pc.onicecandidate = (e) => {
      const filter = this.client.candidateFilter;
      if (e.candidate && filter && !filter(e.candidate.candidate)) return;
      this.client.send({
        type: 'ice',
        room: this.id,
        session,
        mline: e.candidate ? e.candidate.sdpMLineIndex ?? 0 : 0,
        candidate: e.candidate ? e.candidate.candidate : '',
      });
    };
    pc.onconnectionstatechange = () =>
      emit(this, 'connectionstate', { session, state: pc.connectionState, side: 'client' });
    return pc;
  }

  _publishPc() {
    if (!this._pub) this._pub = this._newPc('publish');
    return this._pub;
  }

  // Runs `change` then one offer/answer round on the publish session; rounds
  // never overlap.
  _negotiate(change) {
    const run = async () => {
      if (this.closed) throw new Error('zumzi: the room is closed');
      change();
      const pc = this._pub;
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const reply = await this.client.request({
        type: 'publish',
        room: this.id,
        sdp: this._labelled(pc.localDescription.sdp),
      });
      await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
      this._flushCandidates('publish');
    };
    const result = this._pubQueue.then(run);
    this._pubQueue = result.catch(() => {});
    return result;
  }

  // The offer as sent: each m-line's msid stream id becomes its label, which
  // is how the server names tracks ('camera', 'screen'...). Only the copy
  // sent is rewritten; the browser keeps its own.
  _labelled(sdp) {
    const labels = new Map();
    for (const { transceiver, label } of this._published.values())
      if (transceiver && transceiver.mid !== null) labels.set(transceiver.mid, label);
    const sections = sdp.split(/\r\n(?=m=)/);
    return sections
      .map((section) => {
        const mid = /\r\na=mid:(\S+)/.exec(section)?.[1];
        const label = labels.get(mid);
        if (!label) return section;
        return section
          .replace(/^a=msid:\S+ (\S+)$/gm, `a=msid:${label} $1`)
          .replace(/^(a=ssrc:\d+ msid:)\S+ (\S+)$/gm, `$1${label} $2`);
      })
      .join('\r\n');
  }

  async _answer(sdp) {
    if (this.closed) return;
    if (!this._sub) {
      this._sub = this._newPc('subscribe');
      this._sub.ontrack = (e) => this._onRemoteTrack(e);
    }
    const pc = this._sub;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    this._flushCandidates('subscribe');
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    await this.client.request({ type: 'subscribe_answer', room: this.id, sdp: pc.localDescription.sdp });
  }

  _onRemoteTrack(e) {
    // The server's track id is the msid stream id. webrtcbin writes it only
    // on a=ssrc lines, which Chromium reads; other browsers may give no
    // stream, so read it from the m-line of the remote SDP then.
    let stream = e.streams[0];
    if (!stream) {
      const id = this._msidOfMid(e.transceiver?.mid);
      if (!id) return;
      stream = new MediaStream([e.track]);
      Object.defineProperty(stream, 'id', { value: id });
    }
    const id = stream.id;
    this.remote.set(id, { track: e.track, stream });
    // An m-line the server stops sending takes its track out of the stream.
    stream.addEventListener('removetrack', () => {
      if (this.remote.get(id)?.track !== e.track) return;
      const info = this.tracks.get(id);
      this.remote.delete(id);
      if (this._announced.delete(id)) emit(this, 'trackremoved', { track: e.track, stream, info });
    });
    this._maybeAnnounce(id);
  }

  _msidOfMid(mid) {
    const sdp = this._sub?.remoteDescription?.sdp || '';
    for (const section of sdp.split(/\r\n(?=m=)/)) {
      if (/\r\na=mid:(\S+)/.exec(section)?.[1] !== mid) continue;
      return /^a=(?:ssrc:\d+ )?msid:(\S+)/m.exec(section)?.[1] || null;
    }
    return null;
  }

  _remoteCandidate(session, mline, candidate) {
    const pc = session === 'publish' ? this._pub : this._sub;
    if (!pc || !pc.remoteDescription) {
      this._early[session]?.push({ mline, candidate });
      return;
    }
    this._addCandidate(pc, mline, candidate);
  }

  _flushCandidates(session) {
    const pc = session === 'publish' ? this._pub : this._sub;
    const early = this._early[session];
    this._early[session] = [];
    for (const { mline, candidate } of early) this._addCandidate(pc, mline, candidate);
  }

  _addCandidate(pc, mline, candidate) {
    if (!candidate) return; // end of candidates: nothing to do with max-bundle
    pc.addIceCandidate({ candidate, sdpMLineIndex: mline }).catch((error) =>
      emit(this, 'error', { error }));
  }

  _close(reason = 'closed') {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this._announced]) {
      const remote = this.remote.get(id);
      emit(this, 'trackremoved', { ...remote, info: this.tracks.get(id) });
    }
    this._announced.clear();
    this.remote.clear();
    this._pub?.close();
    this._sub?.close();
    emit(this, 'left', { reason });
  }
}
