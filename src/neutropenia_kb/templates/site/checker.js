/* The "Check your result" page: one question at a time, danger signs first, a check of the
   answers, then the outcome. Every decision comes from window.neutropeniaKb (the rules'
   script); this file only asks and words. Answers live in this page only: nothing is stored or
   sent. Authored text is set with textContent, never as HTML. */
(function () {
  "use strict";
  var kb = window.neutropeniaKb, text = window.neutropeniaKbText;
  var form = document.getElementById("nkb-form");
  if (!kb || !text || !form) return;
  var outcome = document.getElementById("nkb-outcome");
  var steps = Array.prototype.slice.call(form.querySelectorAll(".nkb-step"));
  var current = 0, earlyExit = false;
  document.getElementById("nkb-static").hidden = true;
  form.hidden = false;

  function el(tag, cls, words) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (words !== undefined) e.textContent = words;
    return e;
  }
  function qa(sel, root) { return Array.prototype.slice.call((root || form).querySelectorAll(sel)); }

  /* The answers so far as a patient for the rules: unanswered and "I don't know" are left out. */
  function answers(upto) {
    var patient = {}, ticked = [], unsure = false, seenSymptoms = false;
    steps.slice(0, upto + 1).forEach(function (step) {
      qa("[data-symptoms]", step).forEach(function (set) {
        seenSymptoms = true;
        qa("input[name=symptoms]:checked", set).forEach(function (box) { ticked.push(box.value); });
        if (set.querySelector("input[name=symptoms-unsure]:checked")) unsure = true;
      });
      qa(".nkb-question", step).forEach(function (q) {
        var id = q.getAttribute("data-input");
        if (q.getAttribute("data-type") === "boolean") {
          var picked = q.querySelector("input:checked");
          if (picked && picked.value) patient[id] = picked.value;
          return;
        }
        var box = q.querySelector("#nkb-" + id), unit = q.querySelector("select");
        var unsureBox = q.querySelector("input[type=checkbox]");
        var value = box.value.trim();
        if (!value || (unsureBox && unsureBox.checked)) return;
        // A bare number takes the unit chosen; a number typed with its unit is read as typed.
        patient[id] = unit && unit.value && /^[-+]?[\d.,\s]+$/.test(value) ? { value: value, unit: unit.value } : value;
      });
    });
    // Not sure of some symptoms: the list is unknown, which the rules treat with caution.
    if (seenSymptoms && !unsure) patient.symptoms = ticked;
    return patient;
  }

  function clearErrors() {
    qa(".nkb-error").forEach(function (p) { p.textContent = ""; });
    qa("[aria-invalid]").forEach(function (i) { i.removeAttribute("aria-invalid"); });
  }
  /* The rules' answer; null when an answer must be put right (shown on its question); false
     when nothing the rules read is answered yet, which only the last step asks about. */
  function evaluate(upto, last) {
    clearErrors();
    try {
      return kb.evaluate(answers(upto));
    } catch (e) {
      if (!(e instanceof kb.InputError)) throw e;
      if (e.field === "patient") {
        if (!last) return false;
        var ask = document.getElementById("nkb-error-patient");
        ask.textContent = "We need at least one answer to check your result. Press “Change” next to a question below and answer it.";
        ask.focus();
        return null;
      }
      var field = e.field.split(" + ")[0], box = document.getElementById("nkb-" + field);
      var message = document.getElementById("nkb-error-" + field);
      if (message) message.textContent = "Please check this answer. " + e.message;
      if (box) { box.setAttribute("aria-invalid", "true"); show(stepOf(box)); box.focus(); }
      return null;
    }
  }
  function stepOf(node) { return steps.indexOf(node.closest(".nkb-step")); }

  function show(index) {
    current = index;
    steps.forEach(function (s, i) { s.hidden = i !== index; });
    outcome.hidden = true;
    form.hidden = false;
    if (steps[index].getAttribute("data-step") === "review") review();
    steps[index].querySelector("h2").focus();
  }

  function review() {
    var list = document.getElementById("nkb-review"), patient = answers(steps.length - 1);
    list.textContent = "";
    Object.keys(text.inputs).forEach(function (id) {
      list.appendChild(el("dt", "", text.inputs[id]));
      var v = patient[id], words;
      if (v === undefined) words = "I don’t know";
      else if (id === "symptoms") words = v.length ? v.map(function (s) { return text.symptoms[s]; }).join(", ") : "None";
      else if (typeof v === "object") words = v.value + " " + (form.querySelector("#nkb-" + id + "-unit option:checked") || {}).textContent;
      else words = v;
      var dd = el("dd", "", words), change = el("button", "nkb-link", "Change");
      change.type = "button";
      change.setAttribute("aria-label", "Change: " + text.inputs[id]);
      change.addEventListener("click", function () {
        var target = id === "symptoms" ? 0 : stepOf(document.getElementById("nkb-" + id) || form.querySelector("[data-input=" + id + "]"));
        show(target);
      });
      dd.appendChild(document.createTextNode(" "));
      dd.appendChild(change);
      list.appendChild(dd);
    });
  }

  function next() {
    var step = steps[current].getAttribute("data-step");
    var started = performance.now(), result = evaluate(current, step === "review");
    if (result === false) return show(current + 1);
    if (!result) return;
    var dangerTicked = step === "danger" && form.querySelector("[data-symptoms=danger] input[name=symptoms]:checked");
    if (step === "review" || (dangerTicked && result.urgency === kb.levels[0])) {
      earlyExit = step !== "review";
      render(result, started);
    } else show(current + 1);
  }

  /* The outcome: the level, what to do and whom to call first; then why, then the advice. */
  function render(result, started) {
    var level = text.levels[result.urgency], body = document.getElementById("nkb-outcome-body");
    var title = document.getElementById("nkb-outcome-title");
    body.textContent = "";
    title.textContent = level.title;
    outcome.className = "nkb-outcome nkb-level-" + result.urgency;
    body.appendChild(el("p", "nkb-action", level.action || level.text));
    if (level.action && level.text) body.appendChild(el("p", "", level.text));
    if (level.service) {
      var s = level.service, line = el("p", "nkb-service", s.name + ": ");
      if (s.phone) {
        var a = el("a", "", s.phone);
        a.href = "tel:" + s.phone.replace(/[^\d+]/g, "");
        line.appendChild(a);
      } else line.appendChild(document.createTextNode("________"));
      body.appendChild(line);
      if (s.say) body.appendChild(el("p", "", "Say: " + s.say));
    }
    if (!result.urgency_certain) {
      // The answers that could change the level (the rules' settle_with), as their questions.
      body.appendChild(el("p", "nkb-unsure-note", "We do not know the answers to these questions, so we give the more careful answer:"));
      var unsure = el("ul", "nkb-unsure-list");
      result.settle_with.forEach(function (i) { unsure.appendChild(el("li", "", text.inputs[i])); });
      body.appendChild(unsure);
    }
    if (earlyExit) body.appendChild(el("p", "", "You told us about a danger sign, so we show this first."));
    body.appendChild(el("h3", "", "Why"));
    var why = el("ul", "nkb-why");
    result.rules.forEach(function (r) {
      if (r[1] === false) return;
      var rule = text.rules[r[0]];
      if (r[1] === null && kb.levels.indexOf(rule.level) >= kb.levels.indexOf(result.urgency) && result.urgency_certain) return;
      var li = el("li");
      li.appendChild(el("strong", "", (r[1] === null ? "This may apply: " : "") + rule.title + ". "));
      li.appendChild(document.createTextNode(rule.text + " "));
      if (rule.sources.length) li.appendChild(el("span", "nkb-sources", "Sources: " + rule.sources.join("; ") + ". "));
      if (rule.href) { var more = el("a", "", "More about this"); more.href = rule.href; li.appendChild(more); }
      why.appendChild(li);
    });
    if (result.severity !== "unknown") why.appendChild(el("li", "", "Your neutrophil count: " + text.bands[result.severity] + "."));
    result.scope_warnings.forEach(function (id) {
      var lim = text.limits[id];
      why.appendChild(el("li", "nkb-warning", lim.title + ". " + lim.text));
    });
    if (why.children.length) body.appendChild(why);
    var advice = text.advice.filter(function (a) { return !a.always && result.advice_ids.indexOf(a.id) >= 0; });
    if (advice.length) {
      body.appendChild(el("h3", "", "Advice that may apply to you"));
      var list = el("ul", "nkb-advice");
      advice.forEach(function (a) {
        var li = el("li"), link = el("a", "", a.title);
        link.href = a.href;
        li.appendChild(link);
        list.appendChild(li);
      });
      body.appendChild(list);
    }
    document.getElementById("nkb-continue").hidden = !earlyExit;
    form.hidden = true;
    outcome.hidden = false;
    title.focus();
    window.nkbOutcomeMs = performance.now() - started;
  }

  form.addEventListener("click", function (event) {
    var b = event.target.closest("button");
    if (!b) return;
    if (b.classList.contains("nkb-next")) next();
    else if (b.classList.contains("nkb-back") && current > 0) show(current - 1);
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); next(); });
  // "I don't know" and an answer exclude each other.
  form.addEventListener("change", function (event) {
    var t = event.target;
    if (t.name === "symptoms-unsure" && t.checked) qa("input[name=symptoms]", t.closest("fieldset")).forEach(function (b) { b.checked = false; });
    else if (t.name === "symptoms" && t.checked) qa("input[name=symptoms-unsure]", t.closest("fieldset")).forEach(function (b) { b.checked = false; });
    else if (/-unsure$/.test(t.name) && t.checked) { var box = document.getElementById("nkb-" + t.name.slice(0, -7)); if (box) box.value = ""; }
  });
  form.addEventListener("input", function (event) {
    var t = event.target, unsure = document.getElementById(t.id + "-unsure");
    if (t.type === "text" && unsure && t.value) unsure.checked = false;
  });
  document.getElementById("nkb-print").addEventListener("click", function () { window.print(); });
  document.getElementById("nkb-continue").addEventListener("click", function () { earlyExit = false; show(1); });
  document.getElementById("nkb-restart").addEventListener("click", function () { form.reset(); clearErrors(); show(0); });
  steps.forEach(function (s, i) { s.hidden = i !== 0; });
})();
