// Start a chapter's slide deck: reveal.js with speaker notes, then the book's own chart
// renderer (lme-charts.js) once every slide is laid out, so that charts take their real width.
// Slides whose content is taller or wider than the canvas are scaled down to fit.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("lme-deck-config").textContent);
  var chartsScript = document.currentScript.getAttribute("data-charts");
  var root = document.documentElement;

  function slides() {
    return Array.prototype.slice.call(document.querySelectorAll(".reveal .slides > section"));
  }

  // Slides out of view are transparent but laid out (see viewDistance below); keep them out of
  // the keyboard's and screen readers' way.
  function hideOthers() {
    var current = Reveal.getCurrentSlide();
    slides().forEach(function (slide) {
      if (slide === current) {
        slide.removeAttribute("inert");
      } else {
        slide.setAttribute("inert", "");
      }
    });
  }

  function settled() {
    return new Promise(function (resolve) {
      var started = Date.now();
      (function poll() {
        var charts = document.querySelectorAll("figure.lme-chart");
        var drawn = Array.prototype.every.call(charts, function (f) {
          return f.dataset.drawn === "yes" || f.dataset.drawn === "error";
        });
        var maths = !document.querySelector(".math") ||
          (window.MathJax && MathJax.startup && MathJax.startup.promise);
        if ((drawn && maths) || Date.now() - started > 20000) {
          Promise.resolve(maths && maths.then ? maths : null).then(resolve, resolve);
        } else {
          setTimeout(poll, 50);
        }
      })();
    });
  }

  // A slide whose content is taller or wider than the canvas (a wide table, a long line of
  // output) is zoomed out until all of it shows; the tests keep that zoom readable (>= 0.6).
  // what shows on a slide (not the hidden text for screen readers, which is clipped)
  var VISIBLE = "h2, p, li, table, pre, img, figure, .vega-embed > svg, .vega-embed > canvas, mjx-container > svg, " +
    ".lme-output, .highlight, .admonition";

  function fit() {
    slides().forEach(function (slide) {
      slide.style.zoom = "";
      delete slide.dataset.lmeFit;
      var natural = slide.scrollHeight;
      var wide = config.width;
      var left = slide.getBoundingClientRect().left;
      var scale = Reveal.getScale();
      slide.querySelectorAll(VISIBLE).forEach(function (el) {
        var box = el.getBoundingClientRect();
        if (box.width > 1) {
          wide = Math.max(wide, (box.right - left) / scale + Math.max(0, el.scrollWidth - el.clientWidth));
        }
      });
      var zoom = Math.min(1, config.height / natural, config.width / wide);
      if (zoom < 0.995) {
        zoom = Math.max(0.5, zoom);
        slide.style.zoom = String(zoom);
        slide.dataset.lmeFit = zoom.toFixed(2);
      }
    });
    Reveal.layout();
  }

  Reveal.initialize({
    width: config.width,
    height: config.height,
    margin: 0.04,
    center: false,
    hash: true,
    transition: "none",
    backgroundTransition: "none",
    // every slide laid out from the start, so that charts drawn off screen get their width
    viewDistance: 1000,
    mobileViewDistance: 1000,
    slideNumber: "c/t",
    plugins: [RevealNotes]
  }).then(function () {
    hideOthers();
    Reveal.on("slidechanged", hideOthers);
    var script = document.createElement("script");
    script.src = chartsScript;
    script.onload = function () {
      settled().then(function () {
        fit();
        root.dataset.lmeDeck = "ready";
      });
    };
    document.body.appendChild(script);
  });
})();
