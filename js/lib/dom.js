// Small DOM helpers shared by the widgets. Text is always set as text (textContent),
// never parsed as HTML: structure names, job errors and user input are untrusted.

/**
 * Create an element.
 * @param {string} tag - element name
 * @param {object} [props] - `className`, `text` (set as textContent), `dataset` (object),
 *   `style` (object), `on` (object of event listeners), any other key is set as an attribute
 *   (false/null/undefined skip it, true sets it empty)
 * @param {Array<Node|string>} [children] - strings become text nodes
 * @returns {HTMLElement}
 */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") Object.assign(node.style, value);
    else if (key === "on") {
      for (const [type, listener] of Object.entries(value)) node.addEventListener(type, listener);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/** True when JupyterLab (or the page) uses a dark theme (see ./theme.js). */
export { isDarkTheme } from "./theme.js";

/**
 * Call `listener(value)` whenever the model attribute `name` changes, and return a function
 * that removes the listener (for the view's cleanup).
 */
export function onChange(model, name, listener) {
  const callback = () => listener(model.get(name));
  model.on(`change:${name}`, callback);
  return () => model.off(`change:${name}`, callback);
}

/** Set one model attribute from the front end and send it to the kernel. */
export function send(model, name, value) {
  model.set(name, value);
  model.save_changes();
}
