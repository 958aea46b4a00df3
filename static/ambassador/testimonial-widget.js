/* Ambassador testimonial widget: shows one approved testimonial, picked at random.
 *
 *   <div id="testimonial"></div>
 *   <script src="https://AMBASSADOR_HOST/static/ambassador/testimonial-widget.js"
 *           data-target="testimonial" defer></script>
 *
 * Optional: data-endpoint (defaults to /api/v1/testimonials on the script's own host).
 * Only the server's sanitized `html` (p, em, strong, a) is inserted as HTML; the name and
 * website go in as text and as a checked http(s) href.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var targetId = script.getAttribute("data-target") || "testimonial";
  var endpoint = script.getAttribute("data-endpoint") ||
    new URL("/api/v1/testimonials", script.src).toString();

  function show(item) {
    var target = document.getElementById(targetId);
    if (!target) return;
    var figure = document.createElement("figure");
    figure.className = "ambassador-testimonial";
    var quote = document.createElement("blockquote");
    quote.innerHTML = item.html; // sanitized by the server's allow-list (nh3)
    figure.appendChild(quote);
    var caption = document.createElement("figcaption");
    var website = String(item.website || "");
    if (/^https?:\/\//i.test(website)) {
      var link = document.createElement("a");
      link.href = website;
      link.rel = "nofollow sponsored noopener";
      link.textContent = item.affiliate;
      caption.appendChild(link);
    } else {
      caption.textContent = item.affiliate;
    }
    figure.appendChild(caption);
    target.replaceChildren(figure);
  }

  fetch(endpoint, { credentials: "omit" })
    .then(function (r) { return r.ok ? r.json() : { results: [] }; })
    .then(function (data) {
      var items = (data && data.results) || [];
      if (items.length) show(items[Math.floor(Math.random() * items.length)]);
    })
    .catch(function () { /* no testimonial is better than a broken page */ });
})();
