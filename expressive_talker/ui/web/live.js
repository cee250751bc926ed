// The Live tab in the browser: the microphone, streamed to the app's live route, drives the viewer.
// The protocol is the README's "Live" section. Here:
//   press Start -> ask for the microphone (only then) -> an AudioWorklet cuts its PCM into ~20 ms
//   float32 chunks at the AudioContext's rate -> a WebSocket on the page's own origin
//   (`live`, relative to the page, so it passes a Space's proxy) -> frames back -> the viewer.
// Each sent chunk's wall time is kept, so a frame's latency is the time from sending the chunk
// that holds its last needed sample (`until`) to receiving the frame.
// window.expressiveTalkerLive = {start(prompt), stop(), prompt(text), state()}; state() is a
// read-only log for tests: sent chunks (wall time, samples, loudness), frames, latencies, status.

const CHUNK_S = 0.02;
const DEBOUNCE_MS = 300;
const END_WAIT_MS = 120_000; // generous: a loaded server may take a while to write the take
const LOG_LIMIT = 200_000; // about an hour of chunks: the session cap is far below it

// The worklet runs on the audio thread: it gathers the 128-sample blocks into chunks and posts each.
const WORKLET = `
class Chunker extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = options.processorOptions.size;
    this.buffer = new Float32Array(this.size);
    this.filled = 0;
  }
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    let read = 0;
    while (read < channel.length) {
      const n = Math.min(channel.length - read, this.size - this.filled);
      this.buffer.set(channel.subarray(read, read + n), this.filled);
      this.filled += n;
      read += n;
      if (this.filled === this.size) {
        this.port.postMessage(this.buffer, [this.buffer.buffer]);
        this.buffer = new Float32Array(this.size);
        this.filled = 0;
      }
    }
    return true;
  }
}
registerProcessor('expressive-talker-chunker', Chunker);
`;

// getUserMedia's refusals, each as one line the visitor can act on.
function microphoneProblem(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'The browser refused the microphone: allow it for this page and press Start again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No microphone was found: connect one and press Start again.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The microphone could not be opened (another program may be using it): free it and press Start again.';
    default:
      return `The microphone could not start: ${(err && err.message) || err}.`;
  }
}

const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

class Live {
  constructor({ status, take, viewerId, startButton, stopButton }) {
    this.statusEl = status;
    this.takeEl = take;
    this.viewerId = viewerId;
    this.startButton = startButton;
    this.stopButton = stopButton;
    this.session = null;
    this.log = null;
    this.promptText = 'calm';
    this.show('Press Start microphone and speak: the face follows your voice.');
    this.buttons(false);
  }

  viewer() { return (window.expressiveTalkerViewers || {})[this.viewerId] || null; }

  show(message) {
    this.message = message;
    this.render();
  }

  // The status line: the latency read-out (median of the last second of frames) and the message.
  render() {
    const ms = this.latencyNow();
    const parts = [];
    if (this.session && this.session.live && ms !== null) parts.push(`Latency ${Math.round(ms)} ms`);
    if (this.message) parts.push(this.message);
    this.statusEl.textContent = parts.join(' · ');
  }

  latencyNow() {
    if (!this.log) return null;
    const now = performance.now();
    const recent = [];
    for (let i = this.log.frames.length - 1; i >= 0; i--) {
      const f = this.log.frames[i];
      if (now - f.at > 1000) break;
      if (f.latency !== null) recent.push(f.latency);
    }
    return recent.length ? median(recent) : null;
  }

  buttons(running) {
    // Gradio's buttons are plain <button>s: toggled here, not through a round trip to the server.
    const start = document.getElementById(this.startButton);
    const stop = document.getElementById(this.stopButton);
    if (start) start.disabled = running;
    if (stop) stop.disabled = !running;
  }

  prompt(text) {
    this.promptText = text;
    const s = this.session;
    if (!s || !s.socket) return;
    clearTimeout(s.debounce);
    // Blank text is not sent: the reading under the box already says the prompt is empty.
    s.debounce = setTimeout(() => {
      if (text.trim() && s.socket.readyState === WebSocket.OPEN && !s.stopping) s.socket.send(JSON.stringify({ type: 'prompt', text }));
    }, DEBOUNCE_MS);
  }

  async start(prompt) {
    if (this.session) return;
    if (typeof prompt === 'string') this.promptText = prompt;
    const s = (this.session = { live: false, stopping: false, chunks: 0 });
    this.buttons(true);
    this.takeEl.replaceChildren();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return this.fail('This page cannot use a microphone here: browsers allow it only over HTTPS or on localhost.');
    }
    if (typeof AudioWorkletNode === 'undefined') return this.fail('This browser cannot stream audio (it lacks AudioWorklet): try a current Chrome, Firefox or Safari.');
    this.show('Asking for the microphone…');
    try {
      s.stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1 } });
    } catch (err) {
      return this.fail(microphoneProblem(err));
    }
    if (this.session !== s) return this.release(s); // stopped while the browser asked
    try {
      s.context = new AudioContext();
      const url = URL.createObjectURL(new Blob([WORKLET], { type: 'text/javascript' }));
      await s.context.audioWorklet.addModule(url);
      URL.revokeObjectURL(url);
      if (this.session !== s) return this.release(s);
      s.rate = s.context.sampleRate;
      s.source = s.context.createMediaStreamSource(s.stream);
      s.chunker = new AudioWorkletNode(s.context, 'expressive-talker-chunker', { processorOptions: { size: Math.round(s.rate * CHUNK_S) } });
      await s.context.resume();
    } catch (err) {
      return this.fail(`The browser could not capture audio: ${err.message || err}.`);
    }
    this.log = { rate: s.rate, chunks: [], frames: [], readings: [], errors: [], ready: null, end: null };
    this.show('Connecting…');
    const url = new URL('live', document.baseURI);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = (s.socket = new WebSocket(url.href));
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'start', rate: s.rate, format: 'f32', prompt: this.promptText, still: false }));
      // Chunks go out from here on: the first one sent is the server's audio time 0.
      s.chunker.port.onmessage = (e) => this.send(s, e.data);
      s.source.connect(s.chunker);
      s.chunker.connect(s.context.destination); // pulled by the graph; its output is silence
    };
    socket.onmessage = (e) => this.receive(s, e.data);
    socket.onclose = (e) => this.closed(s, e);
    s.ticker = setInterval(() => this.render(), 250);
  }

  send(s, chunk) {
    if (s.stopping || s.socket.readyState !== WebSocket.OPEN) return;
    s.socket.send(chunk.buffer);
    let sum = 0;
    for (let i = 0; i < chunk.length; i++) sum += chunk[i] * chunk[i];
    const samples = (this.log.chunks.length ? this.log.chunks[this.log.chunks.length - 1].end : 0) + chunk.length;
    if (this.log.chunks.length < LOG_LIMIT) this.log.chunks.push({ at: performance.now(), end: samples, rms: Math.sqrt(sum / chunk.length) });
  }

  // The wall time at which the chunk holding audio time `until` (s) was sent, or null.
  sentAt(until) {
    const chunks = this.log.chunks;
    const sample = Math.max(0, Math.ceil(until * this.log.rate) - 1);
    let lo = 0, hi = chunks.length - 1;
    if (hi < 0 || chunks[hi].end <= sample) return null;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (chunks[mid].end > sample) hi = mid;
      else lo = mid + 1;
    }
    return chunks[lo].at;
  }

  receive(s, data) {
    if (this.session !== s || typeof data !== 'string') return;
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    const viewer = this.viewer();
    if (msg.type === 'ready') {
      this.log.ready = msg;
      s.live = true;
      if (viewer) viewer.live.start(msg.names, msg.fps);
      this.show('Live: speak, and change the prompt whenever you like.');
    } else if (msg.type === 'frames') {
      const now = performance.now();
      for (const f of msg.frames) {
        const sent = this.sentAt(f.until);
        if (this.log.frames.length < LOG_LIMIT) this.log.frames.push({ t: f.t, until: f.until, at: now, latency: sent === null ? null : now - sent, jawOpen: this.jaw(f) });
      }
      if (viewer) viewer.live.push(msg.frames);
    } else if (msg.type === 'reading') {
      this.log.readings.push(msg);
    } else if (msg.type === 'error') {
      this.log.errors.push(msg.message);
      this.show(msg.message);
    } else if (msg.type === 'end') {
      this.log.end = msg;
      this.offerTake(msg);
      this.finish(s, `Stopped: ${msg.seconds.toFixed(1)} s, ${msg.frames} frames. Your take is below.`);
    }
  }

  jaw(frame) {
    const i = this.log.ready ? this.log.ready.names.indexOf('jawOpen') : -1;
    return i < 0 ? null : frame.w[i];
  }

  closed(s, e) {
    if (this.session !== s) return;
    // An error message already said why; otherwise say the connection went.
    const said = this.log.errors.length ? this.log.errors[this.log.errors.length - 1] : '';
    const why = s.live ? `The connection to the live face closed${e.code && e.code !== 1000 ? ` (code ${e.code})` : ''}` : 'The live face could not be reached on this server';
    this.finish(s, said || `${why}: press Start to try again.`);
  }

  stop() {
    const s = this.session;
    if (!s || s.stopping) return;
    s.stopping = true;
    this.release(s);
    if (!s.socket || s.socket.readyState !== WebSocket.OPEN) return this.finish(s, 'Stopped.');
    s.socket.send(JSON.stringify({ type: 'stop' }));
    this.show('Finishing the take…');
    s.endTimer = setTimeout(() => this.finish(s, 'The server did not finish the take in time: press Start to try again.'), END_WAIT_MS);
  }

  // The microphone and audio graph go; the socket may still be finishing.
  release(s) {
    if (s.source) s.source.disconnect();
    if (s.chunker) s.chunker.port.onmessage = null;
    if (s.stream) for (const track of s.stream.getTracks()) track.stop();
    if (s.context && s.context.state !== 'closed') s.context.close();
  }

  fail(message) {
    const s = this.session;
    if (s) this.finish(s, message);
    else this.show(message);
  }

  finish(s, message) {
    if (this.session !== s) return;
    this.session = null;
    s.stopping = true;
    this.release(s);
    clearInterval(s.ticker);
    clearTimeout(s.endTimer);
    clearTimeout(s.debounce);
    if (s.socket && s.socket.readyState <= WebSocket.OPEN) s.socket.close();
    const viewer = this.viewer();
    if (viewer && s.live) viewer.live.stop();
    this.buttons(false);
    this.show(message);
  }

  // Download links for the take, and the take itself in the viewer, ready to play again.
  offerTake(msg) {
    const take = msg.take || {};
    const kinds = [['wav', 'Audio (WAV)'], ['json', 'Curves (JSON)'], ['csv', 'Curves (CSV)'], ['livelink', 'Live Link Face CSV (Unreal)'], ['talkinghead', 'TalkingHead JSON'], ['glb', 'Animated .glb']];
    const links = kinds.filter(([key]) => take[key]).map(([key, label]) => {
      const a = document.createElement('a');
      a.href = new URL(take[key], document.baseURI).href;
      a.download = take[key].split('/').pop();
      a.textContent = label;
      a.dataset.kind = key;
      return a;
    });
    if (!links.length) return;
    const title = document.createElement('span');
    title.textContent = 'Your take: ';
    this.takeEl.replaceChildren(title, ...links);
    const viewer = this.viewer();
    if (viewer && take.json && take.wav) {
      fetch(new URL(take.json, document.baseURI))
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(r.statusText))))
        .then((curves) => viewer.receive({ audio: new URL(take.wav, document.baseURI).href, panels: [{ ...curves, label: '' }], autoplay: false }))
        .catch(() => {}); // the links still work; the viewer keeps the last live pose
    }
  }

  state() {
    return {
      running: !!this.session,
      live: !!(this.session && this.session.live),
      status: this.statusEl.textContent,
      latencyMs: this.latencyNow(),
      log: this.log,
    };
  }
}

export function mountLive(options) {
  const live = new Live(options);
  window.expressiveTalkerLive = {
    start: (prompt) => live.start(prompt),
    stop: () => live.stop(),
    prompt: (text) => live.prompt(text),
    state: () => JSON.parse(JSON.stringify(live.state())),
  };
  return live;
}
