// Progressive touches; every page reads fine without them.
// 1. A time in the reader's own zone, next to the time in the event's zone (only when they differ).
// 2. Countdowns that keep counting while the page is open (worded as the server words them).
// 3. A copy button for feed addresses.
(function () {
  "use strict";
  var full, short, mine;
  try {
    full = new Intl.DateTimeFormat(undefined, {
      weekday: "short", day: "numeric", month: "short", year: "numeric",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    });
    short = new Intl.DateTimeFormat(undefined, {
      day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    });
    mine = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) { return; }
  document.querySelectorAll(".reader-time[data-utc]").forEach(function (el) {
    var when = new Date(el.getAttribute("data-utc"));
    if (isNaN(when)) { return; }
    var zone = el.getAttribute("data-zone");
    if (zone === null) {
      el.textContent = "In your time zone: " + full.format(when);
    } else if (zone !== mine) {
      el.textContent = "= " + short.format(when) + " your time";
    } else { return; }
    el.hidden = false;
  });
  function plural(n, unit) { return n + " " + unit + (n === 1 ? "" : "s"); }
  function left(ms) {
    var size = Math.abs(ms), amount;
    if (size >= 172800000) { amount = plural(Math.floor(size / 86400000), "day"); }
    else if (size >= 3600000) { amount = plural(Math.floor(size / 3600000), "hour"); }
    else if (size >= 60000) { amount = plural(Math.floor(size / 60000), "minute"); }
    else { return "now"; }
    return ms >= 0 ? "in " + amount : amount + " ago";
  }
  function tick() {
    document.querySelectorAll(".countdown[data-utc]").forEach(function (el) {
      var when = new Date(el.getAttribute("data-utc"));
      if (!isNaN(when)) { el.textContent = left(when - Date.now()); }
    });
  }
  // Only once the page has been open a while: the server's wording (from its clock) stands until then.
  setInterval(tick, 30000);
  if (navigator.clipboard) {
    document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
          button.textContent = "Copied";
        });
      });
    });
  }
}());
