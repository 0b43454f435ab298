// The live console's one-line descriptions: what an event says, in a few words, for its
// collapsed line. Pure functions: the caller puts the result in the page as text, never as HTML.
// A type without a describer here is shown with its data as JSON (summarize, below), so a new
// event type of docs/asyncapi.yaml needs nothing here; give it a describer when JSON reads badly.
(function () {
  "use strict";

  // Longer than any line is wide: the page cuts the rest with an ellipsis.
  var MAX_SUMMARY_CHARS = 300;

  function username(user) {
    return user && typeof user.username === "string" ? user.username : "someone";
  }

  function names(conversation) {
    var people = Array.isArray(conversation.participants) ? conversation.participants : [];
    return people.map(username).join(", ");
  }

  function liveness(conversation) {
    if (!conversation.expiry) return "";
    return conversation.expiry.ended ? " (live, ended)" : " (live)";
  }

  function ids(data) {
    return ["posts", "networks"].filter(function (kind) { return Array.isArray(data[kind]); })
      .map(function (kind) { return kind + " " + data[kind].join(", "); });
  }

  // One describer per event type; `nameOf(id)` names a user the page knows, by id.
  var describers = {
    "message": function (data) { return username(data.by) + ": " + data.text; },
    "read": function (data, nameOf) {
      return nameOf(data.user) + " read up to message " + data.last_read;
    },
    "new-conversation": function (data) { return "with " + names(data) + liveness(data); },
    "ended-conversation": function (data) { return "ended; with " + names(data); },
    // Made regular, or its participants changed: the conversation as it is now.
    "changed-conversation": function (data) {
      return "changed; with " + names(data) + liveness(data);
    },
    "notification": function (data) {
      return [data.type, username(data.user)].concat(data.post ? ["post " + data.post] : [])
        .join(" · ");
    },
    "video-ready": function (data) { return "video " + data.id + ": " + data.status; },
    "views": function (data) { return data.views + (data.views === 1 ? " view" : " views"); },
    "comment": function (data) { return username(data.by) + ": " + data.text; },
    "post": function (data) { return username(data.by) + ": " + data.text; },
    "typing": function (data, nameOf) {
      return nameOf(data.user) + (data.typing ? " is typing" : " stopped typing");
    },
    "presence": function (data, nameOf) {
      return nameOf(data.user) + " " + data.form + " at " + clock(new Date(data.at));
    },
    "error": function (data) { return [data.reason].concat(ids(data)).join("; "); },
    "resync-required": function (data) {
      return "cannot resume: refetched, going on from seq " + data.since;
    },
    "(not JSON)": function (data) { return data; },
  };

  // What the collapsed line says after the type, location, seq and time: the message's text, the
  // view count, who read… and for a type the console does not know, its data as JSON.
  function summarize(event, nameOf) {
    var describe = describers[event.type];
    var data = event.data === undefined ? event : event.data;
    var text;
    try {
      text = describe ? describe(data, nameOf) : JSON.stringify(data);
    } catch (error) {
      text = JSON.stringify(data); // a malformed event is still shown, as its JSON
    }
    text = String(text).replace(/\s+/g, " ").trim();
    return text.length > MAX_SUMMARY_CHARS ? text.slice(0, MAX_SUMMARY_CHARS) + "…" : text;
  }

  // 24-hour local time, fixed width so that the lines' columns align.
  function clock(date) {
    if (isNaN(date.getTime())) return "?";
    return [date.getHours(), date.getMinutes(), date.getSeconds()]
      .map(function (part) { return (part < 10 ? "0" : "") + part; }).join(":");
  }

  window.GleepostConsole = window.GleepostConsole || {};
  window.GleepostConsole.summarize = summarize;
  window.GleepostConsole.clock = clock;
})();
