// Charts: each element with data-spec names a <script type="application/json"> holding a
// Vega-Lite spec; vega-embed draws it as SVG. No inline script, so the CSP stays strict.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-spec]").forEach(function (el) {
    var source = document.getElementById(el.dataset.spec);
    if (!source || typeof vegaEmbed === "undefined") return;
    vegaEmbed(el, JSON.parse(source.textContent), { actions: false, renderer: "svg" })
      .catch(function (err) { el.textContent = String(err); });
  });
});
