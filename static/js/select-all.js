// Review lists: the box in the header ticks or clears every entry on the page.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var all = document.getElementById("pick-all");
    if (!all) { return; }
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=entry]").forEach(function (box) { box.checked = all.checked; });
    });
  });
})();
