// Draw every chart on the page with the book's own copy of vega-embed.
// Each chart is a <figure class="lme-chart"> holding its Vega-Lite spec as JSON.
(function () {
  "use strict";
  function draw(figure) {
    if (figure.dataset.drawn) return;
    figure.dataset.drawn = "pending";
    var view = figure.querySelector(".lme-chart-view");
    var source = figure.querySelector("script.lme-chart-spec");
    if (!view || !source) return;
    if (typeof window.vegaEmbed !== "function") {
      view.textContent = "This chart needs JavaScript and the book's chart library.";
      return;
    }
    var spec = JSON.parse(source.textContent);
    window.vegaEmbed(view, spec, { actions: false, renderer: "svg" })
      .then(function (result) {
        figure.dataset.drawn = "yes";
        figure.dataset.drawnAt = String(Math.round(performance.now()));
        var svg = view.querySelector("svg");
        if (svg) {
          svg.setAttribute("role", "img");
          svg.setAttribute("aria-label", figure.getAttribute("aria-label") || "chart");
        }
        window.addEventListener("beforeprint", function () { result.view.resize().run(); });
      })
      .catch(function (error) {
        figure.dataset.drawn = "error";
        view.textContent = "The chart could not be drawn: " + error.message;
        console.error(error);
      });
  }
  function drawAll() {
    document.querySelectorAll("figure.lme-chart").forEach(draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
