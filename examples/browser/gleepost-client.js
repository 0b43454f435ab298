// A Gleepost websocket client for the browser, without dependencies.
//
// It logs in over the REST API (POST /api/v1/login) for a token, holds the websocket open with
// it, and follows docs/websocket-protocol.md, "Reconnecting without loss": it remembers the last
// stream position (seq, epoch), reconnects after any unexpected close with exponential backoff
// and full jitter, and resumes with ?since=&epoch=, so that every stream event is delivered to
// the application exactly once and in order. Subscriptions belong to a connection: it sends them
// again on each new one.
//
// When the websocket cannot connect at all (FALLBACK_AFTER attempts in a row never opened: a
// proxy that strips Upgrade, say), it switches to Server-Sent Events (GET /api/v1/events), from
// the same position: the switch loses and repeats nothing. EventSource reconnects on its own
// with Last-Event-ID; when it gives up (any answer but 200), the client starts a new one with
// ?since=&epoch=, unless the token was refused.
//
//   const client = new GleepostClient({ onEvent: (event) => console.log(event) });
//   // options also: onState(state, detail), onResync(event), baseUrl, maxBackoffMs (30000),
//   // transport: "auto" (the websocket, SSE when it cannot connect), "websocket" or "sse"
//   await client.login("alice@example.com", "password");
//   client.subscribe({ posts: [12] });
(function (global) {
  "use strict";

  var BACKOFF_BASE_MS = 500;
  // A connection open at least this long was healthy: the next drop starts the backoff again.
  var STABLE_AFTER_MS = 60000;
  // Websocket attempts in a row that never opened before "auto" switches to SSE.
  var FALLBACK_AFTER = 2;
  // Every event type an SSE stream may carry (its "event:" line), docs/asyncapi.yaml.
  var EVENT_TYPES = [
    "message", "read", "new-conversation", "ended-conversation", "changed-conversation",
    "notification", "video-ready", "views", "comment", "post", "typing", "presence", "error",
    "resync-required",
  ];

  function GleepostClient(options) {
    options = options || {};
    // The API's origin; the page's own by default (the server serves this example itself).
    this.baseUrl = (options.baseUrl || global.location.origin).replace(/\/$/, "");
    this.onEvent = options.onEvent || function () {};
    this.onState = options.onState || function () {};
    // Called when the stream cannot be resumed: refetch what the app shows over REST.
    this.onResync = options.onResync || function () {};
    // The longest wait between two attempts to reconnect.
    this.maxBackoffMs = options.maxBackoffMs || 30000;
    this.credentials = null;
    this.position = { seq: null, epoch: null };
    this.subscriptions = { posts: new Set(), networks: new Set() };
    this.transport = options.transport === "sse" ? "sse" : "websocket";
    this.fallback = (options.transport || "auto") === "auto";
    this.failedOpens = 0;
    this.refused = false;
    this.socket = null;
    this.source = null;
    this.connections = 0;
    this.attempt = 0;
    this.openedAt = 0;
    this.timer = null;
    this.stopped = false;
  }

  // POST login with email and password; connects the websocket with the token it returns.
  GleepostClient.prototype.login = function (email, password) {
    var self = this;
    return fetch(this.baseUrl + "/api/v1/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ email: email, pass: password }),
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          throw new Error("login refused (HTTP " + response.status + "): " + body.error);
        }
        self.credentials = { id: body.id, token: body.value };
        self.stopped = false;
        self.refused = false;
        self.connect();
        return body.id;
      });
    });
  };

  GleepostClient.prototype.socketUrl = function () {
    var url = this.baseUrl.replace(/^http/, "ws") + "/api/v1/ws?id=" + this.credentials.id +
      "&token=" + encodeURIComponent(this.credentials.token);
    if (this.position.seq !== null) {
      url += "&since=" + this.position.seq + "&epoch=" + encodeURIComponent(this.position.epoch);
    }
    return url;
  };

  GleepostClient.prototype.connect = function () {
    var self = this;
    clearTimeout(this.timer);
    this.openedAt = 0;
    var resuming = this.position.seq !== null;
    this.onState("connecting", resuming ? "resuming after seq " + this.position.seq : "");
    if (this.transport === "sse") {
      this.openStream(resuming);
      return;
    }
    var ws = new WebSocket(this.socketUrl());
    this.socket = ws;
    ws.onopen = function () {
      self.failedOpens = 0;
      self.opened(resuming, "");
      self.sendSubscriptions();
    };
    ws.onmessage = function (message) { self.receive(JSON.parse(message.data)); };
    ws.onclose = function (closeEvent) {
      if (self.socket === ws) {
        self.socket = null;
        if (self.openedAt === 0) self.failedOpens += 1;
        self.closed(closeEvent.code);
      }
    };
  };

  GleepostClient.prototype.opened = function (resuming, how) {
    this.openedAt = Date.now();
    this.connections += 1;
    this.onState("open", (resuming ? "resumed after seq " + this.position.seq : "live") + how);
    if (!resuming) this.onResync(null); // no position yet: the app loads its state over REST
  };

  // Server-Sent Events: the subscriptions and the position go in the URL.
  GleepostClient.prototype.streamUrl = function () {
    var url = this.baseUrl + "/api/v1/events?id=" + this.credentials.id +
      "&token=" + encodeURIComponent(this.credentials.token);
    var self = this;
    ["posts", "networks"].forEach(function (kind) {
      if (self.subscriptions[kind].size) url += "&" + kind + "=" + Array.from(self.subscriptions[kind]).join(",");
    });
    if (this.position.seq !== null) {
      url += "&since=" + this.position.seq + "&epoch=" + encodeURIComponent(this.position.epoch);
    }
    return url;
  };

  GleepostClient.prototype.openStream = function (resuming) {
    var self = this;
    var source = new EventSource(this.streamUrl());
    this.source = source;
    source.onopen = function () {
      if (self.source !== source) return;
      if (self.openedAt === 0) {
        self.opened(resuming, " (Server-Sent Events)");
      } else {
        self.onState("open", "resumed by EventSource after seq " + self.position.seq);
      }
    };
    EVENT_TYPES.forEach(function (type) {
      source.addEventListener(type, function (event) {
        // EventSource's own "error" (its connection failed) is a plain Event, not a message.
        if (event instanceof MessageEvent && self.source === source) self.receive(JSON.parse(event.data));
      });
    });
    source.addEventListener("error", function (event) {
      if (event instanceof MessageEvent || self.source !== source) return;
      if (source.readyState !== EventSource.CLOSED) {
        // It reconnects by itself, sending Last-Event-ID: the server resumes from there.
        self.onState("connecting", "Server-Sent Events: EventSource is reconnecting");
        return;
      }
      // EventSource gave up (an answer other than 200): start a new one, unless the token
      // was refused (the stream said so, or the REST API does).
      self.source = null;
      if (self.refused) {
        self.closed(4001);
        return;
      }
      fetch(self.baseUrl + "/api/v1/user/" + self.credentials.id, {
        headers: { "X-GP-Auth": self.credentials.id + "-" + self.credentials.token },
      }).then(function (response) {
        self.closed(response.status === 401 ? 4001 : 1006);
      }, function () { self.closed(1006); });
    });
  };

  GleepostClient.prototype.receive = function (event) {
    if (typeof event.seq === "number") {
      if (this.position.epoch !== null && event.epoch !== this.position.epoch) {
        this.onResync(event); // the history was lost; the REST state includes this event
      } else if (this.position.seq !== null && event.seq <= this.position.seq) {
        return; // delivered already
      } else {
        this.onEvent(event);
      }
      // Stored after the application has the event: a crash re-delivers rather than skips.
      this.position = { seq: event.seq, epoch: event.epoch };
    } else if (event.type === "resync-required") {
      this.onResync(event);
      this.position = { seq: event.data.since, epoch: event.data.epoch };
    } else {
      // {"error": "Invalid credentials"} comes before a close (websocket) or the stream's end.
      if (event.error === "Invalid credentials") this.refused = true;
      this.onEvent(event); // live-only events, errors, and {"error": ...} before its close
    }
  };

  GleepostClient.prototype.closed = function (code) {
    if (this.stopped || code === 1000) {
      this.onState("closed", "code " + code);
      return;
    }
    if (code === 4001) {
      this.onState("closed", "code " + code + ": the token is no longer valid; log in again");
      return;
    }
    var healthy = this.openedAt !== 0 && Date.now() - this.openedAt >= STABLE_AFTER_MS;
    this.attempt = healthy ? 0 : this.attempt + 1;
    if (code === 1001) {
      // The server process is going away; another answers. A random delay under a second
      // spreads that process's clients out.
      this.attempt = 0;
    }
    var delay = Math.random() * Math.min(this.maxBackoffMs, BACKOFF_BASE_MS * Math.pow(2, this.attempt));
    if (code === 4009) {
      // It fell behind and the server closed it; the server has the events: resume at once.
      delay = 0;
    }
    if (this.fallback && this.transport === "websocket" && this.failedOpens >= FALLBACK_AFTER) {
      // The websocket never opens. If plain HTTP reaches the server (it is not simply down),
      // something between strips the upgrade: Server-Sent Events, from the same position.
      var self = this;
      fetch(this.baseUrl + "/healthz").then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        self.transport = "sse";
        self.attempt = 0;
        self.onState("closed", "the websocket cannot connect; switching to Server-Sent Events");
        self.connect();
      }).catch(function () {
        self.onState("closed", "code " + code + "; reconnecting in " + (delay / 1000).toFixed(1) + " s");
        self.timer = setTimeout(self.connect.bind(self), delay);
      });
      return;
    }
    this.onState("closed", "code " + code + "; reconnecting in " + (delay / 1000).toFixed(1) + " s");
    this.timer = setTimeout(this.connect.bind(this), delay);
  };

  // Subscribe to posts and/or networks: { posts: [ids], networks: [ids] }.
  GleepostClient.prototype.subscribe = function (ids) {
    var self = this;
    ["posts", "networks"].forEach(function (kind) {
      (ids[kind] || []).forEach(function (id) { self.subscriptions[kind].add(id); });
    });
    this.sendSubscriptions();
  };

  GleepostClient.prototype.sendSubscriptions = function () {
    if (this.transport === "sse") {
      // A stream's subscriptions are in its URL: a new stream, resumed from the position.
      if (this.source !== null) {
        this.source.close();
        this.source = null;
        this.connect();
      }
      return;
    }
    if (this.socket === null || this.socket.readyState !== WebSocket.OPEN) return; // sent on open
    var frame = { action: "SUBSCRIBE" };
    if (this.subscriptions.posts.size) frame.posts = Array.from(this.subscriptions.posts);
    if (this.subscriptions.networks.size) frame.networks = Array.from(this.subscriptions.networks);
    if (frame.posts || frame.networks) this.socket.send(JSON.stringify(frame));
  };

  // Close for good (no reconnect).
  GleepostClient.prototype.close = function () {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket !== null) this.socket.close(1000);
    if (this.source !== null) {
      this.source.close();
      this.source = null;
      this.onState("closed", "closed");
    }
  };

  global.GleepostClient = GleepostClient;
})(window);
