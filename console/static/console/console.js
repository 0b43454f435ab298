// The live console: holds the logged-in user's websocket open (authenticated by the session
// cookie at the handshake), reconnects with backoff and resumes from the last position it saw
// (docs/websocket-protocol.md, "Reconnecting without loss"), lists the events one line each, and
// talks to the REST API with the session and the CSRF token. The lines' words are summary.js's,
// the conversation list is conversations.js's. No dependencies, no build step.
(function () {
  "use strict";

  var BACKOFF_BASE_MS = 500;
  // The longest wait between two attempts to reconnect: 8 s, or /console/?max_backoff=<secs>.
  var requestedCap = Number(new URLSearchParams(location.search).get("max_backoff"));
  var BACKOFF_CAP_MS = requestedCap > 0 ? requestedCap * 1000 : 8000;
  // A connection that stayed open this long was healthy: the next drop starts the backoff again.
  var STABLE_AFTER_MS = 30000;
  // The newest events kept on the page; older ones leave it, so it stays quick however long it
  // runs (appending 500 events takes well under a second: tests/console/test_browser.py).
  var MAX_EVENTS_SHOWN = 500;
  var MAX_ANSWERS_SHOWN = 50;
  // Positive integers below 2^53, as the protocol takes them.
  var MAX_ID = 9007199254740991;

  var root = document.getElementById("console");
  var api = root.dataset.api;
  // The close codes of realtime/close_codes.py by name, as the page was rendered with them:
  // CLOSE.INVALID_CREDENTIALS and so on (docs/websocket-protocol.md, "Close codes").
  var CLOSE = JSON.parse(root.dataset.closeCodes);
  var csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  var el = function (id) { return document.getElementById(id); };

  var position = { seq: null, epoch: null };
  var subscribed = { posts: new Set(), networks: new Set() };
  // Posts whose SUBSCRIBE is not yet answered: their first `views` event is the answer.
  var awaitingViews = new Set();
  var socket = null;
  var attempt = 0;
  var openedAt = 0;
  var connections = 0;
  var reconnectTimer = null;
  var eventCount = 0;
  var summarize = window.GleepostConsole.summarize;
  var clock = window.GleepostConsole.clock;
  var conversations = window.GleepostConsole.conversationList({
    list: el("conversations"),
    status: el("conversations-status"),
    request: request,
    describe: describe,
  });

  // ---- connection -------------------------------------------------------------------------

  function socketUrl() {
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    var url = scheme + "//" + location.host + root.dataset.wsPath;
    if (position.seq !== null) {
      url += "?since=" + position.seq + "&epoch=" + encodeURIComponent(position.epoch);
    }
    return url;
  }

  function setState(state, detail) {
    var badge = el("state");
    badge.dataset.state = state;
    badge.textContent = state;
    el("state-detail").textContent = detail || "";
    el("reconnect").hidden = state !== "closed";
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    openedAt = 0;
    setState("connecting", position.seq === null ? "" : "resuming after seq " + position.seq);
    var ws = new WebSocket(socketUrl());
    socket = ws;
    ws.onopen = function () {
      openedAt = Date.now();
      connections += 1;
      el("connections").textContent = String(connections);
      setState("open", position.seq === null ? "live events" : "resumed after seq " + position.seq);
      resubscribe();
    };
    ws.onmessage = function (message) { receive(message.data); };
    ws.onclose = function (closeEvent) {
      if (socket === ws) {
        socket = null;
        closed(closeEvent.code);
      }
    };
  }

  function closed(code) {
    if (code === CLOSE.INVALID_CREDENTIALS) {
      setState("closed", "code " + code + ": the session is no longer valid; log in again");
      return;
    }
    if (code === CLOSE.NORMAL) {
      setState("closed", "code " + code + ": closed as asked (UNSUBSCRIBE of every post)");
      return;
    }
    var healthy = openedAt !== 0 && Date.now() - openedAt > STABLE_AFTER_MS;
    attempt = healthy ? 0 : attempt + 1;
    if (code === CLOSE.GOING_AWAY) {
      // The server process is going away; another answers: a random delay under a second.
      attempt = 0;
    }
    // Full jitter: clients dropped together by a restart do not come back together.
    var delay = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * Math.pow(2, attempt));
    if (code === CLOSE.TOO_SLOW) {
      // It fell behind and the server closed it; the server has the events: resume at once.
      delay = 0;
    }
    setState("closed", "code " + code + "; reconnecting in " + (delay / 1000).toFixed(1) + " s");
    reconnectTimer = setTimeout(connect, delay);
  }

  function send(frame, note) {
    if (socket === null || socket.readyState !== WebSocket.OPEN) {
      answer("not connected: the subscriptions shown take effect on the next connection", "error");
      return;
    }
    socket.send(JSON.stringify(frame));
    answer("→ " + (note ? note + " " : "") + JSON.stringify(frame), "sent");
  }

  // ---- events -----------------------------------------------------------------------------

  function receive(text) {
    var event;
    try {
      event = JSON.parse(text);
    } catch (error) {
      addEvent({ type: "(not JSON)", data: String(text) });
      return;
    }
    if (typeof event.seq === "number") {
      if (position.epoch !== null && event.epoch !== position.epoch) {
        // The stream's history was lost: what is on screen is refetched over REST.
        answer("new stream epoch " + event.epoch + ": conversations refetched", "error");
        conversations.load();
      } else if (position.seq !== null && event.seq <= position.seq) {
        return; // shown already (a replay overlapping what arrived live)
      }
      position.seq = event.seq;
      position.epoch = event.epoch;
      showPosition();
    } else if (event.type === "resync-required") {
      conversations.load();
      position.seq = event.data.since;
      position.epoch = event.data.epoch;
      showPosition();
    }
    noteAnswer(event);
    conversations.receive(event);
    addEvent(event);
  }

  function showPosition() {
    el("position").textContent = "seq " + position.seq + " of epoch " + position.epoch;
  }

  // One line per event (type, location, seq, time, what it says); a click, or Enter on the
  // focused line, opens its JSON. Everything from the server goes in as text, never as HTML.
  function addEvent(event) {
    var type = typeof event.type === "string" ? event.type : "(no type)";
    var item = document.createElement("li");
    item.dataset.type = type;
    if (typeof event.seq === "number") item.dataset.seq = String(event.seq);
    var details = document.createElement("details");
    var line = document.createElement("summary");
    line.appendChild(part("span", "type", type));
    line.appendChild(part("span", "where", typeof event.location === "string" ? event.location : ""));
    line.appendChild(part("span", "seq", typeof event.seq === "number" ? "seq " + event.seq : ""));
    line.appendChild(part("time", "at", clock(new Date())));
    line.appendChild(part("span", "summary", summarize(event, conversations.nameOf)));
    var body = document.createElement("pre");
    body.textContent = JSON.stringify(event, null, 2);
    details.appendChild(line);
    details.appendChild(body);
    item.appendChild(details);
    var list = el("events");
    list.insertBefore(item, list.firstChild);
    while (list.children.length > MAX_EVENTS_SHOWN) list.removeChild(list.lastChild);
    addFilterOption(type);
    applyFilter(item);
    eventCount += 1;
    el("event-count").textContent = eventCount > MAX_EVENTS_SHOWN
      ? eventCount + " (the newest " + MAX_EVENTS_SHOWN + " shown)" : String(eventCount);
  }

  function part(tag, className, text) {
    var node = document.createElement(tag);
    node.className = className;
    node.textContent = text;
    return node;
  }

  function addFilterOption(type) {
    var filter = el("event-filter");
    for (var i = 0; i < filter.options.length; i += 1) {
      if (filter.options[i].value === type) return;
    }
    var option = document.createElement("option");
    option.value = type;
    option.textContent = type;
    filter.appendChild(option);
  }

  function applyFilter(item) {
    var wanted = el("event-filter").value;
    item.hidden = wanted !== "" && item.dataset.type !== wanted;
  }

  // ---- subscriptions ----------------------------------------------------------------------

  function parseIds(text) {
    var parts = text.split(/[\s,]+/).filter(Boolean);
    if (parts.length === 0) return null;
    var ids = [];
    for (var i = 0; i < parts.length; i += 1) {
      if (!/^[0-9]{1,16}$/.test(parts[i])) return null;
      var id = Number(parts[i]);
      if (id < 1 || id > MAX_ID) return null;
      ids.push(id);
    }
    return ids;
  }

  function onSubscribe(submit) {
    submit.preventDefault();
    var action = submit.submitter ? submit.submitter.value : "SUBSCRIBE";
    var kind = el("subscribe-kind").value;
    var ids = parseIds(el("subscribe-ids").value);
    if (ids === null) {
      // An empty list would mean "unsubscribe from everything and close": never by accident.
      answer("ids: one or more positive integers, separated by commas", "error");
      return;
    }
    ids.forEach(function (id) {
      if (action === "SUBSCRIBE") {
        subscribed[kind].add(id);
        if (kind === "posts") awaitingViews.add(id);
      } else {
        subscribed[kind].delete(id);
      }
    });
    showSubscriptions();
    var frame = { action: action };
    frame[kind] = ids;
    send(frame);
  }

  function resubscribe() {
    var frame = { action: "SUBSCRIBE" };
    if (subscribed.posts.size) frame.posts = Array.from(subscribed.posts);
    if (subscribed.networks.size) frame.networks = Array.from(subscribed.networks);
    if (frame.posts || frame.networks) {
      (frame.posts || []).forEach(function (id) { awaitingViews.add(id); });
      send(frame, "(again, on the new connection)");
    }
  }

  function noteAnswer(event) {
    if (event.type === "views") {
      var id = Number(String(event.location).split("/").pop());
      if (awaitingViews.delete(id)) {
        answer("← subscribed to post " + id + ": " + event.data.views + " views", "ok");
      }
    } else if (event.type === "error" || (event.error && !event.type)) {
      var data = event.data || {};
      ["posts", "networks"].forEach(function (kind) {
        (data[kind] || []).forEach(function (id) {
          subscribed[kind].delete(id);
          awaitingViews.delete(id);
        });
      });
      showSubscriptions();
      answer("← " + JSON.stringify(event), "error");
    }
  }

  function showSubscriptions() {
    ["posts", "networks"].forEach(function (kind) {
      var ids = Array.from(subscribed[kind]).sort(function (a, b) { return a - b; });
      el("subscribed-" + kind).textContent = ids.length ? ids.join(", ") : "none";
    });
  }

  function answer(text, kind) {
    var item = document.createElement("li");
    item.className = kind;
    item.textContent = text;
    var list = el("answers");
    list.insertBefore(item, list.firstChild);
    while (list.children.length > MAX_ANSWERS_SHOWN) list.removeChild(list.lastChild);
  }

  // ---- conversations, over REST with the session ------------------------------------------

  function request(method, path, body) {
    var options = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      // SessionAuthentication checks CSRF on every write; the token is the page's own.
      options.headers["X-CSRFToken"] = csrfToken;
      options.body = JSON.stringify(body);
    }
    return fetch(api + path, options).then(function (response) {
      return response.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (error) { parsed = { error: text }; }
        return { status: response.status, body: parsed };
      });
    });
  }

  function describe(result) {
    var reason = result.body && result.body.error ? result.body.error : "";
    return "HTTP " + result.status + (reason ? ": " + reason : "");
  }

  // ---- wiring -----------------------------------------------------------------------------

  el("subscribe-form").addEventListener("submit", onSubscribe);
  el("event-filter").addEventListener("change", function () {
    Array.prototype.forEach.call(el("events").children, applyFilter);
  });
  el("refresh-conversations").addEventListener("click", conversations.load);
  el("reconnect").addEventListener("click", function () {
    attempt = 0;
    connect();
  });
  conversations.load();
  connect();
})();
