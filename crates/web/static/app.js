// Progressive enhancement only: every page works without this file.
// 1. Suggestions while typing in the site search box (Chinese or pinyin), shown through a <datalist>.
// 2. A print button on guides.
(function () {
  "use strict";
  var input = document.getElementById("site-search");
  var list = document.getElementById("search-suggestions");
  if (input && list && window.fetch) {
    var timer = null;
    var last = "";
    input.addEventListener("input", function () {
      var q = input.value.trim();
      if (timer) { clearTimeout(timer); }
      if (q === last) { return; }
      timer = setTimeout(function () {
        last = q;
        if (!q) { list.textContent = ""; return; }
        fetch("/api/v1/items/suggest?q=" + encodeURIComponent(q), { headers: { "Accept": "application/json" } })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (items) {
            if (input.value.trim() !== q) { return; }
            list.textContent = "";
            items.forEach(function (item) {
              var option = document.createElement("option");
              option.value = item.name;
              option.label = item.department;
              list.appendChild(option);
            });
          })
          .catch(function () { list.textContent = ""; });
      }, 150);
    });
  }
  var buttons = document.querySelectorAll("[data-print]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
