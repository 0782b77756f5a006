// call-stats.js: what the statistics popover of the call shows, from
// getStats(): per published track the size, frame rate and bitrate
// actually sent (and the camera's capture size), the upload estimate and
// round trip, and per received video its size, frame rate and bitrate.
import { h } from './ui.js';

const kbps = (bits) => (bits >= 1e6 ? `${(bits / 1e6).toFixed(2)} Mbit/s` : `${Math.round(bits / 1e3)} kbit/s`);
const screenNumber = (label) => Number(/^screen-(\d+)$/.exec(label || '')?.[1] || 1);

function trackName(label) {
  if (label === 'mic') return 'Microphone';
  if (label === 'camera') return 'Camera';
  if (/^screen(-\d+)?$/.test(label)) return `Screen${screenNumber(label) > 1 ? ` ${screenNumber(label)}` : ''}`;
  return label;
}

function row(labelText, value, data = {}) {
  return h('div', { class: 'stat-row', ...data }, h('span', { class: 'dim' }, labelText), h('span', {}, value));
}

export class CallStats {
  // room: the zumzi.js Room; describe(info): who a remote track is from.
  constructor(room, describe) {
    this.room = room;
    this.describe = describe;
    this.prev = new Map(); // stats id -> {bytes, ts}, for bitrates
  }

  _rate(key, bytes, ts) {
    const prev = this.prev.get(key);
    this.prev.set(key, { bytes, ts });
    if (!prev || ts <= prev.ts) return null;
    return ((bytes - prev.bytes) * 8 * 1000) / (ts - prev.ts);
  }

  // The popover's rows (elements); sent video rows carry data-label,
  // data-width and data-height.
  async rows() {
    const rows = [];
    const room = this.room;
    const pub = room.publishConnection;
    if (pub) {
      // Each sender's own stats say which track an outbound-rtp is.
      for (const t of room.localTracks) {
        const sender = room.sender(t.label);
        if (!sender) continue;
        (await sender.getStats()).forEach((s) => {
          if (s.type !== 'outbound-rtp') return;
          const bits = this._rate(`out:${s.id}`, s.bytesSent || 0, s.timestamp);
          const name = trackName(t.label);
          if (s.kind === 'video') {
            const size = s.frameWidth ? `${s.frameWidth}×${s.frameHeight}` : 'nothing';
            const fps = s.framesPerSecond ? ` @ ${Math.round(s.framesPerSecond)} fps` : '';
            rows.push(row(`${name} sent`, `${size}${fps}${bits !== null ? `, ${kbps(bits)}` : ''}`,
              { 'data-label': t.label, 'data-width': s.frameWidth || 0, 'data-height': s.frameHeight || 0 }));
            const settings = t.track?.getSettings();
            if (settings?.width) {
              rows.push(row(`${name} captured`,
                `${settings.width}×${settings.height}${settings.frameRate ? ` @ ${Math.round(settings.frameRate)} fps` : ''}`));
            }
            if (s.qualityLimitationReason && s.qualityLimitationReason !== 'none')
              rows.push(row(`${name} limited by`, s.qualityLimitationReason));
          } else if (bits !== null) {
            rows.push(row(`${name} sent`, kbps(bits), { 'data-label': t.label }));
          }
        });
      }
      const stats = await pub.getStats();
      let pairId = null;
      stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      });
      stats.forEach((s) => {
        if (s.type !== 'candidate-pair' || !(pairId ? s.id === pairId : s.nominated && s.state === 'succeeded')) return;
        if (s.availableOutgoingBitrate) rows.push(row('Upload estimate', kbps(s.availableOutgoingBitrate)));
        if (s.currentRoundTripTime !== undefined) rows.push(row('Round trip', `${Math.round(s.currentRoundTripTime * 1000)} ms`));
      });
    }
    const sub = room.subscribeConnection;
    if (sub) {
      const byTrack = new Map();
      for (const [id, r] of room.remote) byTrack.set(r.track.id, room.tracks.get(id));
      let total = 0;
      let videos = 0;
      const lines = [];
      (await sub.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        const bits = this._rate(`in:${s.id}`, s.bytesReceived || 0, s.timestamp) || 0;
        total += bits;
        if (s.kind !== 'video' || bits <= 0) return;
        videos++;
        const info = byTrack.get(s.trackIdentifier);
        const fps = s.framesPerSecond ? ` @ ${Math.round(s.framesPerSecond)} fps` : '';
        lines.push(row(`${info ? this.describe(info) : 'Video'} received`,
          `${s.frameWidth || 0}×${s.frameHeight || 0}${fps}, ${kbps(bits)}`, info ? { 'data-track': info.id } : {}));
      });
      rows.push(row('Receiving', `${videos} video stream${videos === 1 ? '' : 's'}, ${kbps(total)}`), ...lines);
    }
    if (!rows.length) rows.push(h('p', { class: 'dim' }, 'Nothing sent or received yet.'));
    return rows;
  }
}
