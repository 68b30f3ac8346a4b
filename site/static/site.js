// problemdetails doc-site theme: progressive enhancement only. Without
// JavaScript every problem type is listed and every snippet is selectable.
(() => {
  "use strict";

  const form = document.querySelector("form.filter");
  if (form) {
    const input = form.querySelector("input");
    const count = document.getElementById("_filter-count");
    const items = Array.from(document.querySelectorAll("li[data-search]"));
    const groups = Array.from(document.querySelectorAll("section.group"));
    // The page's own words for the count ("{shown} of {total} problem types"), in its language.
    const counted = count.dataset.count || "{shown} of {total} problem types";
    // Typed words are folded as the index was (lowercase, accents dropped): `depasse` finds `dépassé`.
    const fold = (text) => text.toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "");

    const apply = () => {
      const words = fold(input.value).split(/\s+/).filter(Boolean);
      let shown = 0;
      for (const item of items) {
        const search = item.dataset.search;
        const hit = words.every((word) => search.includes(word));
        item.hidden = !hit;
        if (hit) shown += 1;
      }
      for (const group of groups) {
        group.hidden = group.querySelector("li:not([hidden])") === null;
      }
      count.textContent = words.length
        ? counted.replace("{shown}", String(shown)).replace("{total}", String(items.length))
        : "";
      try {
        // Keep the filter in the address, so a filtered view can be shared.
        const url = new URL(window.location.href);
        if (words.length) url.searchParams.set("q", input.value);
        else url.searchParams.delete("q");
        window.history.replaceState(null, "", url);
      } catch (error) {
        // file:// pages may refuse history changes; the filter still works.
      }
    };

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const first = items.find((item) => !item.hidden);
      if (first) window.location.href = first.querySelector("a").href;
    });
    input.addEventListener("input", apply);
    input.value = new URLSearchParams(window.location.search).get("q") || "";
    form.hidden = false;
    if (input.value) apply();
  }

  for (const button of document.querySelectorAll("button.copy")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.copy).textContent;
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = button.dataset.copied || "Copied";
      } catch (error) {
        // No clipboard access (an insecure origin, a denied permission): select it instead.
        window.getSelection().selectAllChildren(document.getElementById(button.dataset.copy));
        button.textContent = button.dataset.selected || "Selected";
      }
    });
  }
})();
