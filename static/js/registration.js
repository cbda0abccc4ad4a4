// The contestant's registration form, enhanced: industry → trade cascade with a search box,
// the group choice only where the trade has groups, the trade's conditions with the age the
// ID number gives, and a preview of the chosen photo. Without this script the form still
// works: one trade list grouped by industry, every group, the conditions after submitting.
(function () {
  "use strict";

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : whole;
    });
  }

  function byId(id) { return document.getElementById(id); }

  document.addEventListener("DOMContentLoaded", function () {
    var form = byId("entry-form");
    var data = byId("trade-data");
    if (!form || !data) { return; }
    var trades = JSON.parse(data.textContent);
    var tradesById = {};
    trades.forEach(function (t) { tradesById[String(t.id)] = t; });

    var tradeSelect = byId("f-trade_id");
    var industrySelect = byId("f-industry");
    var search = byId("f-trade-search");
    var count = byId("trade-count");
    var groupField = byId("group-field");
    var groupSelect = byId("f-group_name");
    var groupHint = byId("group-hint");
    var rulesBox = byId("trade-rules");
    var rulesTitle = byId("trade-rules-title");
    var rulesList = byId("trade-rules-list");
    var ageCheck = byId("age-check");
    var idInput = byId("f-id_number");
    var blankTrade = tradeSelect.options[0].cloneNode(true);

    byId("trade-tools").hidden = false;
    groupHint.hidden = true; // it explains the full group list of the script-less form

    function matches(trade, industry, words) {
      if (industry && String(trade.industry) !== industry) { return false; }
      var haystack = [trade.name, trade.zh, trade.code, trade.en, trade.industryName].join(" ").toLowerCase();
      return words.every(function (w) { return haystack.indexOf(w) !== -1; });
    }

    function showAge() {
      var trade = tradesById[tradeSelect.value];
      var number = idInput ? idInput.value.replace(/\s+/g, "").toUpperCase() : "";
      var parts = /^\d{6}(\d{4})(\d{2})(\d{2})\d{2}(\d)[\dX]$/.exec(number);
      if (!trade || !parts) { ageCheck.hidden = true; return; }
      var year = +parts[1], month = +parts[2], day = +parts[3];
      var cutoff = trade.cutoff.split("-").map(Number);
      var before = cutoff[1] < month || (cutoff[1] === month && cutoff[2] < day);
      ageCheck.textContent = fill(rulesBox.getAttribute("data-age"), {
        birth: parts[1] + "-" + parts[2] + "-" + parts[3],
        gender: rulesBox.getAttribute(+parts[4] % 2 ? "data-male" : "data-female"),
        age: cutoff[0] - year - (before ? 1 : 0),
        cutoff: trade.cutoff
      });
      ageCheck.hidden = false;
    }

    function tradeChanged() {
      var trade = tradesById[tradeSelect.value];
      var kept = groupSelect.value;
      groupSelect.textContent = "";
      groupSelect.appendChild(new Option(groupSelect.getAttribute("data-blank"), ""));
      if (trade && trade.groups.length) {
        trade.groups.forEach(function (g) { groupSelect.appendChild(new Option(g, g)); });
        groupSelect.value = trade.groups.indexOf(kept) !== -1 ? kept : "";
        groupField.hidden = false;
      } else {
        groupSelect.value = "";
        groupField.hidden = true;
      }
      if (trade) {
        rulesTitle.textContent = fill(rulesBox.getAttribute("data-title"), { trade: trade.name });
        rulesList.textContent = "";
        trade.rules.forEach(function (line) {
          var item = document.createElement("li");
          item.textContent = line;
          rulesList.appendChild(item);
        });
        rulesBox.hidden = false;
      } else {
        rulesBox.hidden = true;
      }
      showAge();
    }

    function filterTrades() {
      var industry = industrySelect.value;
      var words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var current = tradeSelect.value;
      var shown = trades.filter(function (t) { return matches(t, industry, words); });
      // Options are rebuilt rather than hidden: iOS Safari shows hidden options anyway.
      tradeSelect.textContent = "";
      tradeSelect.appendChild(blankTrade.cloneNode(true));
      var group = null;
      var lastIndustry = null;
      shown.forEach(function (t) {
        if (t.industry !== lastIndustry) {
          group = document.createElement("optgroup");
          group.label = t.industryName;
          tradeSelect.appendChild(group);
          lastIndustry = t.industry;
        }
        group.appendChild(new Option(t.name, t.id));
      });
      if (shown.length === 1 && words.length) {
        tradeSelect.value = String(shown[0].id);
      } else if (shown.some(function (t) { return String(t.id) === current; })) {
        tradeSelect.value = current;
      } else {
        tradeSelect.value = "";
      }
      count.textContent = shown.length
        ? fill(count.getAttribute("data-found"), { n: shown.length })
        : count.getAttribute("data-none");
      tradeChanged();
    }

    industrySelect.addEventListener("change", filterTrades);
    search.addEventListener("input", filterTrades);
    // Enter in the search box picks from the list; it must not send the half-filled form.
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); tradeSelect.focus(); }
    });
    tradeSelect.addEventListener("change", tradeChanged);
    if (idInput) { idInput.addEventListener("input", showAge); }
    tradeChanged();

    var photo = byId("f-photo");
    var preview = byId("photo-preview");
    var photoError = byId("photo-error");
    var kept = byId("kept-photo");
    photo.addEventListener("change", function () {
      var file = photo.files && photo.files[0];
      if (preview.src) { URL.revokeObjectURL(preview.src); }
      // A newly chosen photo replaces the one kept from the last submit (the server prefers
      // the new file too); choosing none shows the kept one again.
      if (kept) { kept.hidden = Boolean(file); }
      if (!file) { preview.hidden = true; return; }
      var tooLarge = file.size > Number(photo.getAttribute("data-max-bytes"));
      photoError.textContent = tooLarge ? photo.getAttribute("data-too-large") : "";
      photoError.hidden = !tooLarge;
      preview.src = URL.createObjectURL(file);
      preview.hidden = false;
    });
  });
})();
