// New urgent alerts appear without a reload: the live region asks the portal for them every few seconds.
// Without JavaScript every page still works; the alerts then show on the next page load.
(function () {
  var region = document.getElementById("urgent");
  if (!region) return;
  var every = Number(region.dataset.every || 5) * 1000;
  function refresh() {
    fetch(region.dataset.src, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) {
        if (r.redirected) { window.location.assign(r.url); return null; }  // signed out (idle): go and sign in
        return r.ok ? r.text() : null;
      })
      .then(function (html) { if (html !== null && html !== region.innerHTML) region.innerHTML = html; })
      .catch(function () {})
      .finally(function () { setTimeout(refresh, every); });
  }
  refresh();
})();
