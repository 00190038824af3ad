// The hall board's live updates (progressive enhancement: without this file the page reloads itself).
// Listens to the board's Server-Sent Events and redraws the calls and the waiting counts; a newly
// called ticket is announced on screen and, where the browser can speak, aloud.
(function () {
  "use strict";
  var main = document.querySelector("[data-events]");
  if (!main || !window.EventSource) { return; }
  var texts = document.getElementById("board-texts");
  var minutes = texts ? texts.getAttribute("data-minutes") : "{n}";
  var announceText = texts ? texts.getAttribute("data-announce") : "{number} → {window}";
  var calls = document.getElementById("board-calls");
  var callsEmpty = document.getElementById("board-calls-empty");
  var queues = document.getElementById("board-queues");
  var banner = document.getElementById("board-announce");
  var hideTimer = null;

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function draw(board) {
    calls.textContent = "";
    board.calling.forEach(function (c) {
      var row = document.createElement("tr");
      cell(row, c.number, "board-number");
      cell(row, c.window);
      calls.appendChild(row);
    });
    callsEmpty.hidden = board.calling.length > 0;
    queues.textContent = "";
    board.queues.forEach(function (q) {
      var row = document.createElement("tr");
      cell(row, q.name);
      cell(row, String(q.waiting), "board-count");
      cell(row, fill(minutes, { n: q.wait }));
      queues.appendChild(row);
    });
    main.setAttribute("data-version", String(board.version));
  }

  function announce(call) {
    var text = fill(announceText, { number: call.number, window: call.window });
    banner.textContent = text;
    banner.hidden = false;
    if (hideTimer) { clearTimeout(hideTimer); }
    hideTimer = setTimeout(function () { banner.hidden = true; }, 8000);
    try {
      if (window.speechSynthesis && window.SpeechSynthesisUtterance) {
        var speech = new window.SpeechSynthesisUtterance(text);
        speech.lang = document.documentElement.lang || "zh-CN";
        window.speechSynthesis.speak(speech);
      }
    } catch (e) { /* speaking is a bonus */ }
  }

  var source = new EventSource(main.getAttribute("data-events"));
  source.addEventListener("board", function (event) {
    var board;
    try { board = JSON.parse(event.data); } catch (e) { return; }
    draw(board);
    if (board.announce) { announce(board.announce); }
  });
})();
