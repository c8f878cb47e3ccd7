// Progressive touches; every page reads fine without them.
// 1. The event's time in the reader's own zone, next to the time in the event's zone.
// 2. Countdowns that keep counting while the page is open.
// 3. A copy button for feed addresses.
(function () {
  "use strict";
  var fmt;
  try {
    fmt = new Intl.DateTimeFormat(undefined, {
      weekday: "short", day: "numeric", month: "short", year: "numeric",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    });
  } catch (e) { return; }
  document.querySelectorAll(".reader-time[data-utc]").forEach(function (el) {
    var when = new Date(el.getAttribute("data-utc"));
    if (isNaN(when)) { return; }
    el.textContent = "In your time zone: " + fmt.format(when);
    el.hidden = false;
  });
  function left(ms) {
    if (ms < 0) { return ms > -172800000 ? "passed" : Math.floor(-ms / 86400000) + " days ago"; }
    var days = Math.floor(ms / 86400000), hours = Math.floor(ms / 3600000), minutes = Math.floor(ms / 60000);
    if (days >= 2) { return "in " + days + " days"; }
    if (hours >= 1) { return "in " + hours + " hours " + (minutes % 60) + " min"; }
    return "in " + minutes + " min";
  }
  function tick() {
    document.querySelectorAll(".countdown[data-utc]").forEach(function (el) {
      var when = new Date(el.getAttribute("data-utc"));
      if (!isNaN(when)) { el.textContent = left(when - Date.now()); }
    });
  }
  tick();
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
