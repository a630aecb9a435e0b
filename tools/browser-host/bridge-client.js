// Served as /bridge.js by the browser host and loaded before the renderer's module script.
// Defines window.rmm with the same shape as preload/index.ts, carried over the host's /bridge
// WebSocket: {id, channel, request} -> {id, result}; pushed {event, payload}. The host validates
// every frame against the IPC contract; this side only moves them.
(() => {
  'use strict';
  const url = new URL('/bridge', window.location.href);
  url.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';

  const pending = new Map();
  const listeners = new Map();
  let queue = [];
  let socket = null;
  let nextId = 1;
  let attempt = 0;

  function emitLocal(event, payload) {
    for (const listener of listeners.get(event) || []) {
      try {
        listener(payload);
      } catch (error) {
        console.error(error);
      }
    }
  }

  function connect() {
    const ws = new WebSocket(url.href);
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      for (const frame of queue) ws.send(frame);
      queue = [];
      // Catch up on the feed's state: events sent while this page was disconnected are lost.
      invoke('connection.get', {}).then((result) => {
        if (result && result.ok) emitLocal('connection.state', result.value);
      });
    };
    ws.onmessage = (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame && typeof frame.id === 'number' && pending.has(frame.id)) {
        const resolve = pending.get(frame.id);
        pending.delete(frame.id);
        resolve(frame.result);
      } else if (frame && typeof frame.event === 'string') {
        emitLocal(frame.event, frame.payload);
      }
    };
    ws.onclose = () => {
      socket = null;
      for (const resolve of pending.values()) {
        resolve({ ok: false, error: { code: 'server_unreachable', message: 'lost the connection to the console host' } });
      }
      pending.clear();
      emitLocal('connection.state', { state: 'offline', detail: 'lost the connection to the console host' });
      const delay = Math.min(10000, 500 * 2 ** attempt++);
      setTimeout(connect, delay);
    };
  }

  function invoke(channel, request) {
    return new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      const frame = JSON.stringify({ id, channel, request });
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(frame);
      else queue.push(frame);
    });
  }

  function on(event, listener) {
    let set = listeners.get(event);
    if (!set) {
      set = new Set();
      listeners.set(event, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  Object.defineProperty(window, 'rmm', {
    value: Object.freeze({ invoke, on }),
    writable: false,
    configurable: false,
    enumerable: false,
  });
  connect();
})();
