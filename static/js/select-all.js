// Lists with ticks: the box in the header ticks or clears every box of the page named by its
// data-pick attribute ("entry" on the review lists).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var all = document.getElementById("pick-all");
    if (!all) { return; }
    var name = all.getAttribute("data-pick") || "entry";
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=" + name + "]").forEach(function (box) { box.checked = all.checked; });
    });
  });
})();
