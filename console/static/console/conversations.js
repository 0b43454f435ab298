// The live console's conversation list: loaded over REST (GET conversations, most recently active
// first), then kept in that order by the events: a `message` moves its conversation to the top and
// becomes its last message; `new-conversation`, `changed-conversation` and `ended-conversation`
// carry the conversation itself. GET conversations has no last message (rest-api.md, Shapes), so
// each conversation's is fetched once (GET conversations/{id}/messages?count=1) and then taken
// from the message events.
(function () {
  "use strict";

  var clock = window.GleepostConsole.clock;
  var LOCATION = /^\/conversations\/([0-9]+)$/;
  var CONVERSATION_EVENTS = ["new-conversation", "changed-conversation", "ended-conversation"];

  // options: list and status (elements), request(method, path, body) and describe(result)
  // (console.js's REST helpers). Returns load(), receive(event) and nameOf(userId).
  function conversationList(options) {
    var list = options.list;
    var byId = new Map();
    var users = new Map();
    var fetching = new Set();

    function nameOf(userId) {
      return users.has(userId) ? users.get(userId) : "user " + userId;
    }

    function noteUser(user) {
      if (user && typeof user.id === "number") users.set(user.id, user.username);
    }

    // The API writes every time in one fixed-width UTC form, so times order as strings.
    function precedes(a, b) {
      if (a.data.lastActivity !== b.data.lastActivity) return a.data.lastActivity > b.data.lastActivity;
      return a.data.id > b.data.id;
    }

    // Moves the entry to its place in the order, moving no other; what was focused in it (the
    // message being typed) stays focused, which a move alone would lose.
    function place(entry) {
      var focused = entry.item.contains(document.activeElement) ? document.activeElement : null;
      var before = null;
      for (var i = 0; i < list.children.length; i += 1) {
        var child = list.children[i];
        if (child === entry.item) continue;
        if (precedes(entry, byId.get(Number(child.dataset.conversation)))) {
          before = child;
          break;
        }
      }
      if (entry.item.parentNode !== list || entry.item.nextSibling !== before) {
        list.insertBefore(entry.item, before);
      }
      if (focused && document.activeElement !== focused) focused.focus();
    }

    function when(time) {
      var date = new Date(time);
      var today = new Date().toDateString() === date.toDateString();
      return (today ? "" : date.toLocaleDateString() + " ") + clock(date);
    }

    function render(entry) {
      var data = entry.data;
      var live = data.expiry ? (data.expiry.ended ? " (live, ended)" : " (live)") : "";
      var people = data.participants.map(function (user) { return user.username; }).join(", ");
      entry.title.textContent = "#" + data.id + " · " + people + live;
      entry.when.textContent = when(data.lastActivity);
      entry.when.dateTime = data.lastActivity;
      var last = entry.last;
      entry.lastLine.classList.toggle("none", !last);
      entry.lastLine.textContent = last
        ? last.by.username + ": " + last.text.replace(/\s+/g, " ")
        : last === false ? "no messages yet" : entry.lastError || "…";
    }

    // Adds the conversation or updates it from a newer copy of its shape.
    function upsert(data) {
      data.participants.forEach(noteUser);
      var entry = byId.get(data.id);
      if (entry === undefined) {
        entry = newEntry(data);
        byId.set(data.id, entry);
      } else {
        // A copy fetched before a message arrived may be older than what the page knows.
        var lastActivity = entry.data.lastActivity > data.lastActivity
          ? entry.data.lastActivity : data.lastActivity;
        entry.data = Object.assign({}, data, { lastActivity: lastActivity });
      }
      render(entry);
      place(entry);
      showStatus();
      return entry;
    }

    // A message fetched over REST and one from an event may arrive in either order: the newer wins.
    function offerLast(entry, message) {
      noteUser(message.by);
      if (!entry.last || message.id >= entry.last.id) entry.last = message;
      if (message.timestamp > entry.data.lastActivity) entry.data.lastActivity = message.timestamp;
      render(entry);
      place(entry);
    }

    function fetchLast(entry) {
      var id = entry.data.id;
      options.request("GET", "conversations/" + id + "/messages?count=1").then(function (result) {
        if (byId.get(id) !== entry) return; // left the list meanwhile
        if (result.status === 200 && result.body.length) {
          offerLast(entry, result.body[0]);
        } else if (entry.last === null) {
          if (result.status === 200) entry.last = false;
          else entry.lastError = "last message: " + options.describe(result);
          render(entry);
        }
      }, function (error) {
        if (entry.last === null) {
          entry.lastError = "last message: " + error;
          render(entry);
        }
      });
    }

    // A message in a conversation the list does not hold (older than its first page, or joined
    // while the page was loading): fetch the conversation, its newest messages included.
    function fetchConversation(id) {
      if (fetching.has(id)) return;
      fetching.add(id);
      options.request("GET", "conversations/" + id).then(function (result) {
        fetching.delete(id);
        if (result.status !== 200) return;
        var messages = result.body.messages;
        var entry = upsert(shapeOf(result.body));
        if (messages.length) offerLast(entry, messages[0]);
        else if (entry.last === null) { entry.last = false; render(entry); }
      }, function () { fetching.delete(id); });
    }

    // The conversation shape out of GET conversations/{id}, which adds read, messages and unread.
    function shapeOf(detail) {
      var data = {};
      ["id", "lastActivity", "participants", "expiry", "group"].forEach(function (key) {
        if (key in detail) data[key] = detail[key];
      });
      return data;
    }

    function load() {
      options.status.textContent = "Loading…";
      options.request("GET", "conversations").then(function (result) {
        if (result.status !== 200) {
          options.status.textContent = "Could not load them: " + options.describe(result);
          return;
        }
        var kept = new Set(result.body.map(function (data) { return data.id; }));
        byId.forEach(function (entry, id) {
          if (!kept.has(id)) {
            byId.delete(id);
            entry.item.remove();
          }
        });
        result.body.forEach(function (data) { fetchLast(upsert(data)); });
        showStatus();
      }, function (error) {
        options.status.textContent = "Could not load them: " + error;
      });
    }

    function receive(event) {
      var match = LOCATION.exec(event.location || "");
      if (match === null || !event.data) return;
      var id = Number(match[1]);
      var entry = byId.get(id);
      if (event.type === "message") {
        if (entry) offerLast(entry, event.data);
        else fetchConversation(id);
      } else if (CONVERSATION_EVENTS.indexOf(event.type) >= 0) {
        // Added to a conversation that already has messages: its last one is fetched.
        var known = upsert(event.data);
        if (known.last === null) fetchLast(known);
      }
    }

    function showStatus() {
      options.status.textContent = byId.size ? "Most recently active first:" : "None yet.";
    }

    function newEntry(data) {
      var entry = { data: data, last: null, lastError: "" };
      entry.item = document.createElement("li");
      entry.item.dataset.conversation = String(data.id);
      var head = document.createElement("div");
      head.className = "conversation-head";
      entry.title = document.createElement("span");
      entry.title.className = "title";
      entry.when = document.createElement("time");
      entry.when.className = "when";
      head.appendChild(entry.title);
      head.appendChild(entry.when);
      entry.lastLine = document.createElement("p");
      entry.lastLine.className = "last";
      entry.item.appendChild(head);
      entry.item.appendChild(entry.lastLine);
      entry.item.appendChild(sendForm(data.id));
      return entry;
    }

    function sendForm(id) {
      var form = document.createElement("form");
      var input = document.createElement("input");
      input.name = "text";
      input.value = "test message";
      input.setAttribute("aria-label", "Message to conversation " + id);
      var button = document.createElement("button");
      button.type = "submit";
      button.textContent = "Send";
      var result = document.createElement("span");
      result.className = "result";
      form.appendChild(input);
      form.appendChild(button);
      form.appendChild(result);
      form.addEventListener("submit", function (submit) {
        submit.preventDefault();
        result.textContent = "sending…";
        options.request("POST", "conversations/" + id + "/messages", { text: input.value })
          .then(function (answered) {
            result.textContent = answered.status === 201
              ? "sent: message " + answered.body.id : options.describe(answered);
          }, function (error) { result.textContent = "failed: " + error; });
      });
      return form;
    }

    return { load: load, receive: receive, nameOf: nameOf };
  }

  window.GleepostConsole.conversationList = conversationList;
})();
