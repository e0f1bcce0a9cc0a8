// The filter bar of the job table: state, recipe and profile dropdowns, the search box and
// the "12 of 10,000 jobs" counter. The filter rule is kept in step with JobTable._matches in
// crystalwidgets/widgets/_table.py (to_dataframe exports what the browser shows); the states
// and the fields the search box searches come from the snapshot's spec.
import { el, send } from "../lib/dom.js";
import { isStale } from "./columns.js";
import { count, setText } from "./format.js";

/**
 * The filter bar of one view.
 * @param {object} view - the view's shared state (see index.js)
 * @param {object} hooks - `onSearchInput()`: called on each keystroke in the search box
 * @returns {{toolbar: HTMLElement, setSpec: Function, matcher: Function, fill: Function,
 *   showCount: Function, syncSearch: Function, cleanup: Function}}
 */
export function createFilter(view, { onSearchInput }) {
  const { model } = view;
  const stateSelect = el("select", {
    "aria-label": "filter by state",
    className: "cw-table-state",
  });
  const recipeSelect = el("select", {
    "aria-label": "filter by recipe",
    className: "cw-table-recipe",
  });
  const profileSelect = el("select", {
    "aria-label": "filter by profile",
    className: "cw-table-profile",
  });
  const search = el("input", {
    type: "search",
    placeholder: "Search id, recipe, formula, label…",
    "aria-label": "search jobs",
    className: "cw-table-search",
  });
  const counter = el("span", { className: "cw-label cw-table-count" });
  const toolbar = el("div", { className: "cw-toolbar" }, [
    el("label", { className: "cw-group" }, [
      el("span", { className: "cw-label", text: "State" }),
      stateSelect,
    ]),
    el("label", { className: "cw-group" }, [
      el("span", { className: "cw-label", text: "Recipe" }),
      recipeSelect,
    ]),
    el("label", { className: "cw-group" }, [
      el("span", { className: "cw-label", text: "Profile" }),
      profileSelect,
    ]),
    search,
    counter,
  ]);

  function textTerms() {
    return (model.get("filter_text") ?? "").toLowerCase().split(/\s+/).filter(Boolean);
  }

  /** The current filters as a test of one row (read the traits once per refresh). */
  function matcher() {
    const { fields, textIndex } = view.spec;
    const state = model.get("filter_state");
    const recipe = model.get("filter_recipe");
    const profile = model.get("filter_profile");
    const terms = textTerms();
    return (row) => {
      if (state && row[fields.state] !== state) return false;
      if (recipe && row[fields.recipe] !== recipe) return false;
      if (profile && row[fields.profile] !== profile) return false;
      if (!terms.length) return true;
      const haystack = textIndex
        .map((index) => row[index])
        .filter((value) => value !== null && value !== undefined)
        .join(" ")
        .toLowerCase();
      return terms.every((term) => haystack.includes(term));
    };
  }

  /** Refill the dropdowns: job counts per state, the recipes and profiles present. */
  function fill(byState, recipes, profiles) {
    fillStates(byState);
    fillOptions(recipeSelect, recipes, "filter_recipe", "All recipes");
    fillOptions(profileSelect, profiles, "filter_profile", "All profiles");
  }

  function fillStates(byState) {
    const current = model.get("filter_state");
    if (!stateSelect.options.length) {
      stateSelect.append(el("option", { value: "", text: "All states" }));
      for (const state of view.spec.states) stateSelect.append(el("option", { value: state }));
    }
    for (const option of stateSelect.options) {
      if (option.value)
        setText(option, `${option.value} (${count.format(byState.get(option.value) ?? 0)})`);
    }
    stateSelect.value = current;
  }

  function fillOptions(select, values, trait, allLabel) {
    const current = model.get(trait);
    if (current) values.add(current); // a filter set from Python on a value not (yet) present
    const sorted = [...values].sort();
    const have = [...select.options].slice(1).map((o) => o.value);
    if (have.length !== sorted.length || have.some((v, i) => v !== sorted[i])) {
      select.replaceChildren(
        el("option", { value: "", text: allLabel }),
        ...sorted.map((value) => el("option", { value, text: value })),
      );
    }
    select.value = current;
  }

  /** "12 of 10,000 jobs · 2 stale" (stale: running and not confirmed within stale_after). */
  function showCount() {
    const now = view.now();
    const staleAfter = model.get("stale_after");
    let stale = 0;
    for (const row of view.rows.values()) if (isStale(view.spec, row, now, staleAfter)) stale += 1;
    let text = `${count.format(view.shown.length)} of ${count.format(view.rows.size)} jobs`;
    if (stale) text += ` · ${count.format(stale)} stale`;
    setText(counter, text);
    view.root.dataset.cwStale = String(stale);
  }

  /** The search text set from Python or another view (not while the user types in it). */
  function syncSearch(value) {
    if (document.activeElement !== search) search.value = value;
  }

  stateSelect.addEventListener("change", () => send(model, "filter_state", stateSelect.value));
  recipeSelect.addEventListener("change", () => send(model, "filter_recipe", recipeSelect.value));
  profileSelect.addEventListener("change", () =>
    send(model, "filter_profile", profileSelect.value),
  );
  let searchTimer = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    onSearchInput();
    searchTimer = setTimeout(() => send(model, "filter_text", search.value), 150);
  });
  search.value = model.get("filter_text");

  /** A new spec: list its states (with their counts at the next fill). */
  function setSpec() {
    stateSelect.replaceChildren();
  }

  return {
    toolbar,
    setSpec,
    matcher,
    fill,
    showCount,
    syncSearch,
    cleanup: () => clearTimeout(searchTimer),
  };
}
