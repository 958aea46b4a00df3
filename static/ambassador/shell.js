// Ambassador's page shell, first party and dependency-free. Every page works without it:
// without JS the navigation simply wraps and copy buttons stay inert (the text is on the page).
// - The phone menu: <button class="menu-toggle" aria-controls="ID"> shows / hides #ID.
// - Copy buttons: <button type="button" class="copy" data-copy="TEXT"> copies TEXT and says
//   "Copied" (the translated word is <body data-copied="…">) for two seconds.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function fallbackCopy(text) {
    // navigator.clipboard exists only in secure contexts (https, localhost, 127.0.0.1);
    // elsewhere (plain http on a LAN address) the old selection-based copy still works.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  function announce(message) {
    var live = document.getElementById("shell-live");
    if (live) { live.textContent = ""; live.textContent = message; }
  }

  function copied(button) {
    var word = document.body.getAttribute("data-copied") || "Copied";
    if (!button.hasAttribute("data-label")) button.setAttribute("data-label", button.textContent);
    button.textContent = word;
    button.classList.add("copied");
    announce(word);
    clearTimeout(button._shellTimer);
    button._shellTimer = setTimeout(function () {
      button.textContent = button.getAttribute("data-label");
      button.classList.remove("copied");
    }, 2000);
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var copy = target.closest("button.copy[data-copy]");
    if (copy) {
      event.preventDefault();
      copyText(copy.getAttribute("data-copy")).then(function () { copied(copy); }, function () {
        announce(document.body.getAttribute("data-copy-failed") || "Copy failed");
      });
      return;
    }
    var toggle = target.closest("button.menu-toggle[aria-controls]");
    if (toggle) {
      var menu = document.getElementById(toggle.getAttribute("aria-controls"));
      if (!menu) return;
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("open", open);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var toggle = document.querySelector("button.menu-toggle[aria-expanded=true]");
    if (!toggle) return;
    toggle.setAttribute("aria-expanded", "false");
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    if (menu) menu.classList.remove("open");
    toggle.focus();
  });
})();
