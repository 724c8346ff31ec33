// The query page: YASGUI pointed at this server's /sparql, the competency questions as examples,
// links into this server for every IRI in the results, download links in each result format.
"use strict";
(function () {
  var cfg = JSON.parse(document.getElementById("entente-config").textContent);
  var host = document.getElementById("yasgui");
  if (!window.Yasgui || !host) { return; }

  var yasgui = new Yasgui(host, {
    requestConfig: { endpoint: cfg.endpoint, method: "POST" },
    copyEndpointOnNewTab: false,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: cfg.endpoint }]; } },
    persistenceId: null,
    populateFromUrl: false,
    yasqe: { autocompleters: ["prefixes", "variables"] },
  });

  function tab() { return yasgui.getTab(); }

  function byName(name) {
    for (var i = 0; i < cfg.examples.length; i++) {
      if (cfg.examples[i].name === name) { return cfg.examples[i]; }
    }
    return null;
  }

  function choose(name, run) {
    var example = byName(name);
    if (!example) { return; }
    var t = tab();
    t.setEndpoint(cfg.endpoint);
    t.setQuery(example.query);
    document.querySelectorAll("a.example").forEach(function (a) {
      a.classList.toggle("chosen", a.getAttribute("data-example") === name);
    });
    updateDownloads();
    if (run) { t.query(); }
  }

  // Our IRIs (https://w3id.org/entente/…) are served by this server: point result links here.
  function localise(root) {
    root.querySelectorAll("a[href^='" + cfg.base + "']").forEach(function (a) {
      var rest = a.getAttribute("href").slice(cfg.base.length);
      var parts = rest.split("#");
      var path = parts[0];
      var frag = parts.length > 1 ? "#" + parts.slice(1).join("#") : "";
      a.setAttribute("href", cfg.publicBase + path + ".html" + frag);
      a.removeAttribute("target");
    });
  }
  new MutationObserver(function () { localise(host); }).observe(host, { childList: true, subtree: true });

  function updateDownloads() {
    var box = document.getElementById("downloads");
    var links = box.querySelector(".links");
    var query = tab().getQuery();
    var type = "SELECT";
    try { type = tab().getYasqe().getQueryType() || "SELECT"; } catch (e) { /* editor not ready */ }
    var list = (type === "CONSTRUCT" || type === "DESCRIBE") ? cfg.formats.graph : cfg.formats.results;
    links.textContent = "";
    list.forEach(function (f, i) {
      var a = document.createElement("a");
      a.href = cfg.endpoint + "?" + new URLSearchParams({ query: query, format: f[0] }).toString();
      a.textContent = f[1];
      a.setAttribute("data-format", f[0]);
      if (i) { links.appendChild(document.createTextNode(" · ")); }
      links.appendChild(a);
    });
    box.hidden = false;
  }

  document.querySelectorAll("a.example").forEach(function (a) {
    a.addEventListener("click", function (event) {
      event.preventDefault();
      choose(a.getAttribute("data-example"), true);
      history.replaceState(null, "", "?example=" + encodeURIComponent(a.getAttribute("data-example")));
    });
  });
  yasgui.on("tabChange", updateDownloads);
  yasgui.on("tabSelect", function () { setTimeout(updateDownloads, 0); });
  tab().getYasqe().on("change", updateDownloads);

  tab().setEndpoint(cfg.endpoint);
  if (cfg.edit) {            // a query handed over by a link: load it, and run it unless it is an update
    tab().setQuery(cfg.edit);
    updateDownloads();
    var yasqe = tab().getYasqe();
    if (!(yasqe.getQueryMode && yasqe.getQueryMode() === "update")) { tab().query(); }
  } else if (cfg.chosen) {
    choose(cfg.chosen, false);
  } else if (cfg.examples.length && !tab().getQuery().trim()) {
    choose(cfg.examples[0].name, false);
  }
  updateDownloads();
  window.ententeQueryPage = { yasgui: yasgui, choose: choose };
})();
