// The Live tab in the browser: the microphone, streamed to the app's live route, drives the viewer.
// The protocol is the README's "Live" section. Here:
//   press Start -> ask for the microphone (only then) -> an AudioWorklet cuts its PCM into ~20 ms
//   float32 chunks at the AudioContext's rate -> a worker's WebSocket on the page's own origin
//   (`live`, relative to the page, so it passes a Space's proxy) -> frames back -> the viewer.
// A frame's latency is the time from sending the chunk that holds its last needed sample
// (`until`) to receiving the frame; the status line shows the median over the last second.
// window.expressiveTalkerLive = {start(prompt), stop(), prompt(text), state()}; state() is a
// read-only log for tests: sent chunks (page-clock ms, samples so far, loudness), frames, readings,
// errors, the ready and end messages.

const CHUNK_S = 0.02;
const DEBOUNCE_MS = 300;
const END_WAIT_MS = 120_000; // generous: a loaded server may take a while to write the take
const BEHIND_MS = 1000; // a read-out above this says why the face lags
const LOG_LIMIT = 200_000; // about an hour of chunks: the session cap is far below it

// The worklet runs on the audio thread: it gathers the 128-sample blocks into chunks and posts
// each straight to the socket's worker (the port it is handed), never through the page.
const WORKLET = `
class Chunker extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = options.processorOptions.size;
    this.buffer = new Float32Array(this.size);
    this.filled = 0;
    this.out = null;
    this.port.onmessage = (e) => { this.out = e.data; };
  }
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel || !this.out) return true;
    let read = 0;
    while (read < channel.length) {
      const n = Math.min(channel.length - read, this.size - this.filled);
      this.buffer.set(channel.subarray(read, read + n), this.filled);
      this.filled += n;
      read += n;
      if (this.filled === this.size) {
        this.out.postMessage(this.buffer, [this.buffer.buffer]);
        this.buffer = new Float32Array(this.size);
        this.filled = 0;
      }
    }
    return true;
  }
}
registerProcessor('expressive-talker-chunker', Chunker);
`;

// The socket lives in a worker, so audio goes out and frames come in while the page is busy
// drawing (on a slow machine a WebGL frame can hold the page for 50 ms or more). The worker times
// each chunk it sends and each message it receives; times are absolute ms (timeOrigin + now),
// which the page turns into its own clock.
const WORKER = `
let socket = null, stopped = false, total = 0, rate = 0;
let sent = [];      // [at, end sample] of recent chunks, for latencies
let fresh = [];     // chunks sent since the page last heard of them: {at, end, rms}
const now = () => performance.timeOrigin + performance.now();
const sentAt = (until) => {
  const sample = Math.max(0, Math.ceil(until * rate) - 1);
  for (let i = sent.length - 1; i >= 0; i--) {
    if (sent[i][1] <= sample) return i + 1 < sent.length ? sent[i + 1][0] : null;
  }
  return sent.length ? sent[0][0] : null;
};
const tell = (message) => {
  message.chunks = fresh;
  fresh = [];
  postMessage(message);
};
function chunk(pcm) {
  if (stopped || !socket || socket.readyState !== 1) return;
  socket.send(pcm.buffer);
  total += pcm.length;
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i] * pcm[i];
  const at = now();
  sent.push([at, total]);
  if (sent.length > 3000) sent = sent.slice(-1500);  // a minute back is plenty
  fresh.push({at, end: total, rms: Math.sqrt(sum / pcm.length)});
}
onmessage = (e) => {
  const m = e.data;
  if (m.type === 'open') {
    rate = m.rate;
    socket = new WebSocket(m.url);
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => socket.send(m.start);
    socket.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      const at = now();
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === 'frames') for (const f of msg.frames) {
        const from = sentAt(f.until);
        f.latency = from === null ? null : at - from;
      }
      tell({type: 'message', msg, at});
    };
    socket.onclose = (ev) => tell({type: 'close', code: ev.code});
  } else if (m.type === 'audio') {
    m.port.onmessage = (ev) => chunk(ev.data);
  } else if (m.type === 'send') {
    if (socket && socket.readyState === 1 && !stopped) socket.send(m.text);
    if (m.last) stopped = true;  // nothing goes out after stop
  } else if (m.type === 'close') {
    stopped = true;
    if (socket) socket.close();
  }
};
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

const blobUrl = (code) => URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));

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
    // The face at rest before anything plays, so the visitor sees what they will drive (the
    // viewer mounts on its own, maybe after this).
    let tries = 0; // none comes when three.js is missing: the viewer then says so itself
    const waiting = setInterval(() => {
      const viewer = this.viewer();
      if (!viewer && ++tries < 300) return;
      clearInterval(waiting);
      if (!viewer) return;
      if (!this.session) viewer.receive({});
    }, 200);
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
    if (this.session && this.session.live && ms !== null) parts.push(`Latency ${Math.round(ms)} ms${ms > BEHIND_MS ? ' (the server is falling behind)' : ''}`);
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
    if (!s || !s.worker) return;
    clearTimeout(s.debounce);
    // Blank text is not sent: the reading under the box already says the prompt is empty.
    s.debounce = setTimeout(() => {
      if (text.trim() && !s.stopping) s.worker.postMessage({ type: 'send', text: JSON.stringify({ type: 'prompt', text }) });
    }, DEBOUNCE_MS);
  }

  async start(prompt) {
    if (this.session) return;
    if (typeof prompt === 'string') this.promptText = prompt;
    const s = (this.session = { live: false, stopping: false });
    this.buttons(true);
    this.takeEl.replaceChildren();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return this.fail('This page cannot use a microphone here: browsers allow it only over HTTPS or on localhost.');
    }
    if (typeof AudioWorkletNode === 'undefined') return this.fail('This browser cannot stream audio (it lacks AudioWorklet): try a current Chrome, Firefox or Safari.');
    this.show('Asking for the microphone…');
    try {
      // The voice as the microphone hears it: the model wants speech, not a call's processing
      // (gain riding, noise gating and echo cancelling change its loudness and onsets; nothing plays here).
      const raw = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };
      s.stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, ...raw } });
    } catch (err) {
      return this.fail(microphoneProblem(err));
    }
    if (this.session !== s) return this.release(s); // stopped while the browser asked
    try {
      s.context = new AudioContext();
      await s.context.audioWorklet.addModule(blobUrl(WORKLET));
      if (this.session !== s) return this.release(s);
      s.rate = s.context.sampleRate;
      s.source = s.context.createMediaStreamSource(s.stream);
      s.chunker = new AudioWorkletNode(s.context, 'expressive-talker-chunker', { processorOptions: { size: Math.round(s.rate * CHUNK_S) } });
      s.source.connect(s.chunker);
      s.chunker.connect(s.context.destination); // pulled by the graph; its output is silence
      await s.context.resume();
      s.worker = new Worker(blobUrl(WORKER));
    } catch (err) {
      return this.fail(`The browser could not capture audio: ${err.message || err}.`);
    }
    this.log = { rate: s.rate, chunks: [], frames: [], readings: [], errors: [], ready: null, end: null };
    this.show('Connecting…');
    const url = new URL('live', document.baseURI);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    s.worker.onmessage = (e) => this.heard(s, e.data);
    const start = JSON.stringify({ type: 'start', rate: s.rate, format: 'f32', prompt: this.promptText, still: false });
    s.worker.postMessage({ type: 'open', url: url.href, rate: s.rate, start });
    s.ticker = setInterval(() => this.render(), 250);
  }

  // The worker's news: chunks it sent (logged on the page's clock), then what happened.
  heard(s, news) {
    if (this.session !== s) return;
    const shift = performance.timeOrigin;
    for (const c of news.chunks) if (this.log.chunks.length < LOG_LIMIT) this.log.chunks.push({ at: c.at - shift, end: c.end, rms: c.rms });
    if (news.type === 'message') {
      this.receive(s, news.msg, news.at - shift);
    } else if (news.type === 'close') {
      this.closed(s, news.code);
    }
  }

  receive(s, msg, at) {
    const viewer = this.viewer();
    if (msg.type === 'ready') {
      // Audio goes out from here on (the first chunk is the server's audio time 0): sent while
      // the server still loads its model, it would only pile up and delay every frame after.
      const channel = new MessageChannel();
      s.worker.postMessage({ type: 'audio', port: channel.port1 }, [channel.port1]);
      s.chunker.port.postMessage(channel.port2, [channel.port2]);
      this.log.ready = { ...msg, at };
      s.live = true;
      if (viewer) viewer.live.start(msg.names, msg.fps, msg.hop_ms / 1000);
      this.show('Live: speak, and change the prompt whenever you like.');
    } else if (msg.type === 'frames') {
      for (const f of msg.frames) {
        if (this.log.frames.length < LOG_LIMIT) this.log.frames.push({ t: f.t, until: f.until, at, latency: f.latency, jawOpen: this.jaw(f) });
      }
      if (viewer) viewer.live.push(msg.frames);
    } else if (msg.type === 'reading') {
      this.log.readings.push(msg);
    } else if (msg.type === 'error') {
      this.log.errors.push(msg.message);
      this.show(msg.message);
    } else if (msg.type === 'end') {
      this.log.end = msg;
      const offered = this.offerTake(msg);
      this.finish(s, `Stopped: ${msg.seconds.toFixed(1)} s, ${msg.frames} frames.${offered ? ' Your take is below.' : ''}`);
    }
  }

  jaw(frame) {
    const i = this.log.ready ? this.log.ready.names.indexOf('jawOpen') : -1;
    return i < 0 ? null : frame.w[i];
  }

  closed(s, code) {
    // An error message already said why; otherwise say the connection went.
    const said = this.log.errors.length ? this.log.errors[this.log.errors.length - 1] : '';
    const why = s.live ? `The connection to the live face closed${code && code !== 1000 ? ` (code ${code})` : ''}` : 'The live face could not be reached on this server';
    this.finish(s, said || `${why}: press Start to try again.`);
  }

  stop() {
    const s = this.session;
    if (!s || s.stopping) return;
    s.stopping = true;
    this.release(s);
    if (!s.worker || !s.live) return this.finish(s, 'Stopped.');
    s.worker.postMessage({ type: 'send', text: JSON.stringify({ type: 'stop' }), last: true });
    this.show('Finishing the take…');
    s.endTimer = setTimeout(() => this.finish(s, 'The server did not finish the take in time: press Start to try again.'), END_WAIT_MS);
  }

  // The microphone and audio graph go; the socket may still be finishing.
  release(s) {
    if (s.source) s.source.disconnect();
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
    if (s.worker) {
      s.worker.postMessage({ type: 'close' });
      setTimeout(() => s.worker.terminate(), 1000); // after the socket's close goes out
    }
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
    if (!links.length) return false;
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
    return true;
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
