// Outpost web console: the few things a server-rendered page cannot do alone.
// - the live log of a task page (tail first, earlier parts on demand, ANSI colours,
//   followed over Server-Sent Events);
// - confirmations of destructive forms (data-confirm);
// - browsing secret names inline on the target form.
// No dependencies, no build step; the hub serves this file as it is. The page's
// Content-Security-Policy forbids inline script, so everything starts from here.
"use strict";

(function () {
  // ---------------------------------------------------------------- ANSI SGR

  // Turns text with ANSI escape sequences into DOM nodes. Colour and style
  // (SGR, "ESC [ ... m") become spans; every other escape sequence (cursor
  // movement, erasing, OSC titles and links) is dropped so it never shows raw.
  // State (current colours, a half-received sequence, a pending carriage
  // return) carries over from one chunk to the next.
  function AnsiRenderer() {
    this.style = emptyStyle();
    this.carry = ""; // an escape sequence cut by the end of a chunk
  }

  function emptyStyle() {
    return { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, inverse: false };
  }

  // 16-colour palette index -> class; 256 and true colours use the style property
  // (CSSOM changes are allowed by the policy, inline style attributes are not).
  var PALETTE_256 = (function () {
    var out = [];
    var base = ["#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
      "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff"];
    for (var i = 0; i < 16; i++) out.push(base[i]);
    var steps = [0, 95, 135, 175, 215, 255];
    for (var r = 0; r < 6; r++) for (var g = 0; g < 6; g++) for (var b = 0; b < 6; b++) {
      out.push("rgb(" + steps[r] + "," + steps[g] + "," + steps[b] + ")");
    }
    for (var k = 0; k < 24; k++) { var v = 8 + k * 10; out.push("rgb(" + v + "," + v + "," + v + ")"); }
    return out;
  })();

  AnsiRenderer.prototype.applySGR = function (params) {
    var s = this.style;
    var codes = params === "" ? [0] : params.split(/[;:]/).map(function (p) { return p === "" ? 0 : parseInt(p, 10); });
    for (var i = 0; i < codes.length; i++) {
      var c = codes[i];
      if (c === 0) { this.style = s = emptyStyle(); }
      else if (c === 1) s.bold = true;
      else if (c === 2) s.dim = true;
      else if (c === 3) s.italic = true;
      else if (c === 4) s.underline = true;
      else if (c === 7) s.inverse = true;
      else if (c === 22) { s.bold = false; s.dim = false; }
      else if (c === 23) s.italic = false;
      else if (c === 24) s.underline = false;
      else if (c === 27) s.inverse = false;
      else if (c >= 30 && c <= 37) s.fg = { index: c - 30 };
      else if (c >= 90 && c <= 97) s.fg = { index: c - 90 + 8 };
      else if (c === 39) s.fg = null;
      else if (c >= 40 && c <= 47) s.bg = { index: c - 40 };
      else if (c >= 100 && c <= 107) s.bg = { index: c - 100 + 8 };
      else if (c === 49) s.bg = null;
      else if (c === 38 || c === 48) {
        var colour = null;
        if (codes[i + 1] === 5 && i + 2 < codes.length) {
          var n = codes[i + 2];
          colour = n < 16 ? { index: n } : { css: PALETTE_256[n] || null };
          i += 2;
        } else if (codes[i + 1] === 2 && i + 4 < codes.length) {
          colour = { css: "rgb(" + clamp(codes[i + 2]) + "," + clamp(codes[i + 3]) + "," + clamp(codes[i + 4]) + ")" };
          i += 4;
        }
        if (c === 38) s.fg = colour; else s.bg = colour;
      }
    }
  };

  function clamp(n) { return Math.max(0, Math.min(255, n | 0)); }

  function plainStyle(s) {
    return !s.fg && !s.bg && !s.bold && !s.dim && !s.italic && !s.underline && !s.inverse;
  }

  AnsiRenderer.prototype.span = function (text) {
    var s = this.style;
    if (plainStyle(s)) return document.createTextNode(text);
    var el = document.createElement("span");
    var fg = s.inverse ? s.bg : s.fg;
    var bg = s.inverse ? s.fg : s.bg;
    if (s.inverse && !fg) el.classList.add("ansi-inverse");
    if (fg) { if (fg.index !== undefined) el.classList.add("ansi-fg-" + fg.index); else if (fg.css) el.style.color = fg.css; }
    if (bg) { if (bg.index !== undefined) el.classList.add("ansi-bg-" + bg.index); else if (bg.css) el.style.backgroundColor = bg.css; }
    if (s.bold) el.classList.add("ansi-bold");
    if (s.dim) el.classList.add("ansi-dim");
    if (s.italic) el.classList.add("ansi-italic");
    if (s.underline) el.classList.add("ansi-underline");
    el.textContent = text;
    return el;
  };

  // Matches one escape sequence: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \),
  // or a two-character escape. Unterminated ones at the end are carried over.
  var ESCAPE = /\x1b(?:\[([0-9;:?<=>]*)([ -\/]*)([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;

  // Renders `text` into a DocumentFragment.
  AnsiRenderer.prototype.render = function (text) {
    text = this.carry + text;
    this.carry = "";
    var cut = text.lastIndexOf("\x1b");
    if (cut !== -1 && cut > text.length - 64) {
      // Keep an escape that may be incomplete for the next chunk.
      ESCAPE.lastIndex = cut;
      var m = ESCAPE.exec(text);
      if (!m || m.index !== cut) { this.carry = text.slice(cut); text = text.slice(0, cut); }
    }
    var out = document.createDocumentFragment();
    var last = 0;
    ESCAPE.lastIndex = 0;
    var match;
    while ((match = ESCAPE.exec(text)) !== null) {
      if (match.index > last) out.appendChild(this.span(clean(text.slice(last, match.index))));
      if (match[3] === "m" && match[2] === "") this.applySGR(match[1] || "");
      last = ESCAPE.lastIndex;
    }
    if (last < text.length) out.appendChild(this.span(clean(text.slice(last))));
    return out;
  };

  // Carriage returns that do not end a line (progress bars) and stray control
  // characters are dropped rather than shown as boxes.
  function clean(text) {
    return text.replace(/\r(?!\n)/g, "").replace(/[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/g, "");
  }

  // ---------------------------------------------------------------- log viewer

  // The page holds at most this many characters of log; older ones are dropped
  // from the top while following (the download link has everything).
  var MAX_CHARS = 4 * 1024 * 1024;

  function LogViewer(section) {
    this.section = section;
    this.taskID = section.dataset.task;
    this.tail = parseInt(section.dataset.tail, 10) || 262144;
    this.output = document.getElementById("log-output");
    this.state = document.getElementById("log-state");
    this.size = document.getElementById("log-size");
    this.earlierButton = document.getElementById("log-earlier");
    this.follow = document.getElementById("log-follow");
    this.renderer = new AnsiRenderer();
    this.decoder = new TextDecoder("utf-8");
    this.earliest = 0;      // first byte offset shown
    this.headBytes = null;  // bytes before the first whole character of the shown part
    this.chars = 0;
    this.queue = [];
    this.scheduled = false;
    this.source = null;
    this.trimmed = false;
  }

  LogViewer.prototype.setState = function (text) {
    this.state.textContent = text;
    this.section.dataset.state = text;
  };

  LogViewer.prototype.start = function () {
    var self = this;
    var total = parseInt(this.section.dataset.logBytes, 10) || 0;
    var from = Math.max(0, total - this.tail);
    this.earlierButton.addEventListener("click", function () { self.loadEarlier(); });
    this.output.addEventListener("scroll", function () {
      var atBottom = self.output.scrollHeight - self.output.scrollTop - self.output.clientHeight < 24;
      if (self.follow.checked !== atBottom && document.activeElement === self.output) self.follow.checked = atBottom;
    });
    this.fetchPart(from, total - from).then(function (part) {
      self.earliest = from;
      var bytes = part.bytes;
      if (from > 0) {
        // Start at a whole character; the cut bytes join the earlier part when it loads.
        var skip = 0;
        while (skip < bytes.length && skip < 3 && (bytes[skip] & 0xc0) === 0x80) skip++;
        self.headBytes = bytes.slice(0, skip);
        bytes = bytes.slice(skip);
        self.earlierButton.hidden = false;
        self.earlierButton.textContent = "Load earlier output (" + formatBytes(from) + " before this)";
      }
      self.append(self.decoder.decode(bytes, { stream: true }));
      self.followFrom(part.next);
    }).catch(function (error) {
      self.setState("error");
      self.output.textContent = "The log could not be loaded: " + error.message;
    });
  };

  LogViewer.prototype.fetchPart = function (offset, limit) {
    var url = "/tasks/" + encodeURIComponent(this.taskID) + "/log.txt?offset=" + offset;
    if (limit > 0) url += "&limit=" + limit; else url += "&limit=1";
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/plain" } }).then(function (response) {
      if (!response.ok) throw new Error("the hub answered " + response.status);
      var next = parseInt(response.headers.get("Outpost-Next-Offset"), 10);
      return response.arrayBuffer().then(function (buffer) {
        var bytes = new Uint8Array(buffer);
        if (limit <= 0) bytes = bytes.slice(0, 0);
        return { bytes: bytes, next: isNaN(next) ? offset + bytes.length : Math.min(next, offset + bytes.length) };
      });
    });
  };

  // Loads the part before what is shown and puts it on top.
  LogViewer.prototype.loadEarlier = function () {
    var self = this;
    if (this.earliest <= 0) return;
    var from = Math.max(0, this.earliest - this.tail);
    this.earlierButton.disabled = true;
    this.fetchPart(from, this.earliest - from).then(function (part) {
      var bytes = part.bytes;
      var skip = 0;
      if (from > 0) {
        while (skip < bytes.length && skip < 3 && (bytes[skip] & 0xc0) === 0x80) skip++;
      }
      var joined = new Uint8Array(bytes.length - skip + (self.headBytes ? self.headBytes.length : 0));
      joined.set(bytes.slice(skip), 0);
      if (self.headBytes) joined.set(self.headBytes, bytes.length - skip);
      self.headBytes = bytes.slice(0, skip);
      var text = new TextDecoder("utf-8").decode(joined);
      var renderer = new AnsiRenderer();
      var fragment = renderer.render(text);
      var height = self.output.scrollHeight;
      self.output.insertBefore(fragment, self.output.firstChild);
      self.output.scrollTop += self.output.scrollHeight - height;
      self.chars += text.length;
      self.earliest = from;
      self.earlierButton.disabled = false;
      if (from === 0) self.earlierButton.hidden = true;
      else self.earlierButton.textContent = "Load earlier output (" + formatBytes(from) + " before this)";
    }).catch(function (error) {
      self.earlierButton.disabled = false;
      self.earlierButton.textContent = "Load earlier output (failed: " + error.message + "; try again)";
    });
  };

  // Follows the log from `offset` over Server-Sent Events until the task ends.
  LogViewer.prototype.followFrom = function (offset) {
    var self = this;
    var url = "/tasks/" + encodeURIComponent(this.taskID) + "/log/events?offset=" + offset;
    var source = new EventSource(url);
    this.source = source;
    source.addEventListener("log", function (event) {
      self.append(JSON.parse(event.data));
    });
    source.addEventListener("status", function (event) {
      var summary = JSON.parse(event.data);
      self.showSummary(summary);
      if (!summary.terminal) self.setState("live");
    });
    source.addEventListener("end", function (event) {
      source.close();
      self.flush();
      self.showSummary(JSON.parse(event.data));
      self.setState("complete");
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) self.setState("disconnected; reload the page");
      else self.setState("reconnecting");
    });
  };

  // What the page shows of the task outside its log.
  LogViewer.prototype.showSummary = function (summary) {
    var status = document.getElementById("task-status");
    if (status && summary.status) {
      status.textContent = summary.status;
      status.className = "status status-" + summary.status;
    }
    setText("task-exit-code", summary.exit_code !== undefined ? String(summary.exit_code) : null);
    setText("task-agent", summary.agent);
    setText("task-error", summary.error);
    setTime("task-started", summary.started_at);
    setTime("task-finished", summary.finished_at);
    if (summary.log_bytes !== undefined && this.size) this.size.textContent = formatBytes(summary.log_bytes);
    if (summary.terminal) {
      var cancel = document.getElementById("cancel");
      if (cancel) cancel.remove();
    }
  };

  function setText(id, value) {
    var el = document.getElementById(id);
    if (!el || value === null || value === undefined) return;
    if (id === "task-agent" && el.querySelector("a")) return;
    if (id === "task-agent") {
      var link = document.createElement("a");
      link.href = "/agents/" + encodeURIComponent(value);
      link.textContent = value;
      el.replaceChildren(link);
      return;
    }
    el.textContent = value;
  }

  function setTime(id, value) {
    var el = document.getElementById(id);
    if (!el || !value) return;
    el.textContent = value;
  }

  // Queues text; the DOM is touched at most once per frame however fast it comes.
  LogViewer.prototype.append = function (text) {
    if (!text) return;
    this.queue.push(text);
    if (!this.scheduled) {
      this.scheduled = true;
      var self = this;
      requestAnimationFrame(function () { self.flush(); });
    }
  };

  LogViewer.prototype.flush = function () {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    var text = this.queue.join("");
    this.queue = [];
    this.output.appendChild(this.renderer.render(text));
    this.chars += text.length;
    this.trim();
    if (this.follow.checked) this.output.scrollTop = this.output.scrollHeight;
  };

  // Keeps the page light when a task prints without end: the oldest output goes.
  LogViewer.prototype.trim = function () {
    while (this.chars > MAX_CHARS && this.output.firstChild) {
      var node = this.output.firstChild;
      this.chars -= (node.textContent || "").length;
      this.output.removeChild(node);
      if (!this.trimmed) {
        this.trimmed = true;
        this.earlierButton.hidden = true;
        var note = document.getElementById("log-trimmed");
        if (note) note.hidden = false;
      }
    }
  };

  function formatBytes(n) {
    if (n < 1024) return n + " B";
    var units = ["KiB", "MiB", "GiB", "TiB"];
    var value = n / 1024, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
    return value.toFixed(1) + " " + units[unit];
  }

  // ---------------------------------------------------------------- forms

  // <form data-confirm="..."> asks before it posts.
  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  }

  // On the target form, secret names are listed inline; a click fills a reference row.
  function secretBrowser() {
    var form = document.getElementById("browse-secrets");
    var result = document.getElementById("browse-result");
    if (!form || !result || !document.getElementById("target-form")) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var query = new URLSearchParams(new FormData(form));
      query.set("fragment", "1");
      result.textContent = "Asking the agent…";
      fetch(form.action + "?" + query.toString(), { credentials: "same-origin" }).then(function (response) {
        return response.text().then(function (body) {
          if (!response.ok) {
            var page = new DOMParser().parseFromString(body, "text/html");
            var message = page.getElementById("flash-error");
            throw new Error(message ? message.textContent : "the hub answered " + response.status);
          }
          var parsed = new DOMParser().parseFromString(body, "text/html");
          var list = parsed.getElementById("secret-paths-list");
          result.replaceChildren(list ? document.importNode(list, true) : document.createTextNode("No answer."));
        });
      }).catch(function (error) {
        var p = document.createElement("p");
        p.className = "flash error";
        p.setAttribute("role", "alert");
        p.textContent = error.message;
        result.replaceChildren(p);
      });
    });
    result.addEventListener("click", function (event) {
      var item = event.target.closest("li[data-path]");
      if (!item) return;
      var rows = document.querySelectorAll(".secret-ref");
      for (var i = 0; i < rows.length; i++) {
        var provider = rows[i].querySelector("input[name=secret_provider]");
        var path = rows[i].querySelector("input[name=secret_path]");
        if (!provider.value && !path.value) {
          provider.value = item.dataset.provider;
          path.value = item.dataset.path;
          path.focus();
          return;
        }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    confirmations();
    secretBrowser();
    var log = document.getElementById("log");
    if (log) new LogViewer(log).start();
  });
})();
