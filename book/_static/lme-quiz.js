// Concept-check quizzes (the {quiz} directive): check an answer in the page, no server.
// Each question is a <form>: radio buttons or a text field, and a "Check" button, so the
// keyboard works as in any form (Tab, arrows, Space, Enter). The verdict is announced in a
// status region; every explanation names itself right or wrong in words, not colour alone.
(function () {
  "use strict";

  // "0.17", "0,17", ".17", "17%" (a share), "1 234.5"
  function parseNumber(text) {
    var t = text.trim().replace(/[\s\u00a0\u202f]/g, "");
    var share = /%$/.test(t);
    t = t.replace(/%$/, "");
    if (t.indexOf(",") >= 0 && t.indexOf(".") < 0 && !/^\d{1,3}(,\d{3})+$/.test(t)) {
      t = t.replace(",", ".");
    }
    t = t.replace(/,/g, "").replace(/^\u2212/, "-");
    if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) return NaN;
    var value = parseFloat(t);
    return share ? value / 100 : value;
  }

  function reveal(why, verdict) {
    if (!why) return;
    var tag = why.querySelector(".lme-quiz-verdict");
    if (!tag) {
      tag = document.createElement("strong");
      tag.className = "lme-quiz-verdict";
      why.insertBefore(tag, why.firstChild);
    }
    tag.textContent = verdict + " ";
    why.hidden = false;
  }

  function say(form, text, state) {
    var feedback = form.querySelector(".lme-quiz-feedback");
    feedback.textContent = text;
    feedback.dataset.state = state;
  }

  function checkChoice(form) {
    var chosen = form.querySelector("input[type=radio]:checked");
    if (!chosen) {
      say(form, "Choose an answer first.", "empty");
      return;
    }
    var option = chosen.closest(".lme-quiz-option");
    var right = option.dataset.correct === "true";
    option.classList.add(right ? "lme-quiz-right" : "lme-quiz-wrong");
    reveal(option.querySelector(".lme-quiz-why"), right ? "Right:" : "Wrong:");
    if (right) {
      // once answered, every option's explanation is shown
      form.querySelectorAll(".lme-quiz-option").forEach(function (other) {
        var ok = other.dataset.correct === "true";
        other.classList.add(ok ? "lme-quiz-right" : "lme-quiz-wrong");
        reveal(other.querySelector(".lme-quiz-why"), ok ? "Right:" : "Wrong:");
      });
      say(form, "Right. Each option is explained below it.", "right");
    } else {
      say(form, "Not quite: the reason is under your answer. Try another.", "wrong");
    }
  }

  function checkNumeric(form) {
    var input = form.querySelector("input.lme-quiz-input");
    var value = parseNumber(input.value);
    if (isNaN(value)) {
      say(form, "Type a number, such as 0.25.", "empty");
      return;
    }
    var answer = parseFloat(form.dataset.answer);
    var tolerance = parseFloat(form.dataset.tolerance);
    var tries = (parseInt(form.dataset.tries || "0", 10) || 0) + 1;
    form.dataset.tries = String(tries);
    var why = form.querySelector(".lme-quiz-why");
    if (Math.abs(value - answer) <= tolerance * (1 + 1e-9)) {
      input.setAttribute("aria-invalid", "false");
      reveal(why, "Right.");
      say(form, "Right: " + form.dataset.shown + " is the chapter's value.", "right");
    } else {
      input.setAttribute("aria-invalid", "true");
      if (tries >= 2) {
        reveal(why, "");
        say(form, "Not quite. The answer and how it is found are below.", "wrong");
      } else {
        say(form, "Not quite. Try again (the answer is shown after a second try).", "wrong");
      }
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("lme-quiz-question")) return;
    event.preventDefault();
    if (form.dataset.type === "choice") {
      checkChoice(form);
    } else {
      checkNumeric(form);
    }
  });
})();
