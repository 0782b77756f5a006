// local-media.js: this browser's camera, microphone and screens for the
// conference (no DOM beyond the media APIs): device lists, opening and
// switching devices, the capture resolution, screen captures.

// What the resolution menu offers: the capture size asked of the camera
// (getUserMedia / applyConstraints, as `ideal`) and the bitrate cap set on
// the sender (RTCRtpSender.setParameters maxBitrate).
export const RESOLUTIONS = [
  { id: 'sd', label: 'SD (640×360)', width: 640, height: 360, maxBitrate: 900_000 },
  { id: 'hd', label: 'HD (1280×720)', width: 1280, height: 720, maxBitrate: 2_500_000 },
  { id: 'fhd', label: 'Full HD (1920×1080)', width: 1920, height: 1080, maxBitrate: 4_500_000 },
  { id: '4k', label: '4K (3840×2160)', width: 3840, height: 2160, maxBitrate: 15_000_000 },
];

// The menu entry closest to a room's preset height (360 for `default`).
export function resolutionForHeight(height) {
  let best = RESOLUTIONS[0];
  for (const r of RESOLUTIONS) if (Math.abs(r.height - height) < Math.abs(best.height - height)) best = r;
  return best.id;
}

export function resolutionById(id) {
  return RESOLUTIONS.find((r) => r.id === id) || RESOLUTIONS[0];
}

// The words a user understands for a getUserMedia failure.
export function mediaErrorText(e) {
  switch (e?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'permission was denied';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'no such device';
    case 'NotReadableError':
    case 'AbortError':
      return 'the device is busy or unavailable';
    default:
      return e?.message || String(e);
  }
}

export class LocalMedia {
  constructor({ resolution = 'sd' } = {}) {
    this.camera = null; // MediaStreamTrack
    this.mic = null;
    this.cameraId = ''; // chosen deviceIds ('' = the default device)
    this.micId = '';
    this.speakerId = '';
    this.resolution = resolution;
    this.onended = null; // (kind 'camera' | 'mic', track): see _watchEnd
  }

  static get canChooseSpeaker() {
    return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
  }

  // {cameras, mics, speakers}: MediaDeviceInfo lists (labels appear once a
  // permission was given).
  async devices() {
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      cameras: all.filter((d) => d.kind === 'videoinput' && d.deviceId),
      mics: all.filter((d) => d.kind === 'audioinput' && d.deviceId),
      speakers: all.filter((d) => d.kind === 'audiooutput' && d.deviceId),
    };
  }

  videoConstraints(deviceId = this.cameraId) {
    const r = resolutionById(this.resolution);
    return {
      ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
      width: { ideal: r.width },
      height: { ideal: r.height },
      frameRate: { ideal: 30 },
    };
  }

  audioConstraints(deviceId = this.micId) {
    return {
      ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
      echoCancellation: true,
      noiseSuppression: true,
      autoGainControl: true,
    };
  }

  // Opens camera and/or microphone with one prompt. Resolves with
  // {camera, mic, errors: {camera, mic}}: what could not be opened has an
  // error text and stays null (the call goes on without it).
  async open({ camera = true, mic = true } = {}) {
    const errors = {};
    if (camera && mic) {
      try {
        const s = await navigator.mediaDevices.getUserMedia({
          video: this.videoConstraints(), audio: this.audioConstraints(),
        });
        this._setCamera(s.getVideoTracks()[0] || null);
        this._setMic(s.getAudioTracks()[0] || null);
        return { camera: this.camera, mic: this.mic, errors };
      } catch {
        // Try each alone: one missing device must not cost the other.
      }
    }
    if (camera) {
      try {
        await this.openCamera();
      } catch (e) {
        errors.camera = mediaErrorText(e);
      }
    }
    if (mic) {
      try {
        await this.openMic();
      } catch (e) {
        errors.mic = mediaErrorText(e);
      }
    }
    return { camera: this.camera, mic: this.mic, errors };
  }

  // Opens the camera (the chosen one, or `deviceId`) at the chosen
  // resolution; the previous camera track is stopped once the new one runs.
  async openCamera(deviceId = this.cameraId) {
    const s = await navigator.mediaDevices.getUserMedia({ video: this.videoConstraints(deviceId) });
    this.cameraId = deviceId;
    this._setCamera(s.getVideoTracks()[0]);
    return this.camera;
  }

  async openMic(deviceId = this.micId) {
    const s = await navigator.mediaDevices.getUserMedia({ audio: this.audioConstraints(deviceId) });
    this.micId = deviceId;
    this._setMic(s.getAudioTracks()[0]);
    return this.mic;
  }

  stopCamera() {
    this.camera?.stop();
    this.camera = null;
  }

  stopMic() {
    this.mic?.stop();
    this.mic = null;
  }

  stopAll() {
    this.stopCamera();
    this.stopMic();
  }

  // The browser ended `track` (device unplugged, taken by the system, its
  // permission revoked): onended(kind, track) while it is still ours.
  // stop() here fires no 'ended'.
  _watchEnd(track, kind) {
    track.addEventListener('ended', () => {
      if (this[kind] === track) this.onended?.(kind, track);
    }, { once: true });
  }

  // Changes the capture size of the running camera. applyConstraints where
  // the device takes it; otherwise the camera is opened again. Resolves
  // with the camera track now running (a new one if reopened), or null.
  async setResolution(id) {
    this.resolution = resolutionById(id).id;
    if (!this.camera) return null;
    const r = resolutionById(this.resolution);
    try {
      await this.camera.applyConstraints({
        width: { ideal: r.width }, height: { ideal: r.height }, frameRate: { ideal: 30 },
      });
      return this.camera;
    } catch {
      return this.openCamera();
    }
  }

  _setCamera(track) {
    if (this.camera && this.camera !== track) this.camera.stop();
    this.camera = track;
    if (track) {
      this._watchEnd(track, 'camera');
      // Keep the device the browser picked, so a reopen (resolution) gets it.
      const id = track.getSettings().deviceId;
      if (id) this.cameraId = id;
      track.contentHint = 'motion';
    }
  }

  _setMic(track) {
    if (this.mic && this.mic !== track) this.mic.stop();
    this.mic = track;
    if (track) this._watchEnd(track, 'mic');
    const id = track?.getSettings().deviceId;
    if (id) this.micId = id;
  }
}

// A screen capture (the browser's picker). Resolves with its video track,
// or throws (the user cancelled: NotAllowedError).
export async function captureScreen() {
  const s = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
  const track = s.getVideoTracks()[0];
  track.contentHint = 'detail';
  return track;
}
