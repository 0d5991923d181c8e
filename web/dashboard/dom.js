/** Building DOM without HTML strings: text is always set as text, never parsed. */

/** `el('td', { className: 'num', title: 'x' }, 'text', child)`; `data` sets data-* attributes. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (name === 'data') for (const [key, v] of Object.entries(value)) node.dataset[key] = String(v);
    else if (name in node) node[name] = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Replaces the children of `parent`. */
export function replace(parent, ...children) {
  parent.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));
}
