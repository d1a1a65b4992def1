// Building DOM from data without ever parsing it as HTML: text goes in as text nodes.

export const byId = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function setText(node, text) {
  if (node && node.textContent !== text) node.textContent = text;
}

// Hide or show `node`; if it had the keyboard focus, the focus goes to `landing` rather than
// to the top of the page.
export function hideKeepingFocus(node, hidden, landing) {
  const focused = hidden && !node.hidden && node.contains(document.activeElement);
  node.hidden = hidden;
  if (focused && landing) landing.focus();
}
