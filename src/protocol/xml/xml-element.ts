// A deliberately small element model for client requests: names, attributes and text only.
// Nothing in it can carry behaviour, so a hostile body cannot become an object graph.

export interface XmlElement {
  /** qualified name as written, e.g. `s:Envelope` */
  name: string;
  /** local name, e.g. `Envelope` */
  local: string;
  /** resolved namespace URI ('' when none) */
  ns: string;
  attrs: ReadonlyArray<readonly [string, string]>;
  children: XmlElement[];
  text: string;
  /** set instead of children for elements captured as integer arrays (see ReaderLimits.intArrayElements) */
  ints?: number[];
}

export function child(el: XmlElement | undefined, local: string): XmlElement | undefined {
  if (!el) return undefined;
  for (const c of el.children) if (c.local === local) return c;
  return undefined;
}

export function children(el: XmlElement | undefined, local: string): XmlElement[] {
  if (!el) return [];
  return el.children.filter((c) => c.local === local);
}

export function childText(el: XmlElement | undefined, local: string): string | undefined {
  const c = child(el, local);
  return c === undefined ? undefined : c.text;
}

export function attr(el: XmlElement, qname: string): string | undefined {
  for (const [k, v] of el.attrs) if (k === qname) return v;
  return undefined;
}

/** `xsi:nil="true"` (any prefix bound to XMLSchema-instance is accepted by name suffix) */
export function isNil(el: XmlElement): boolean {
  for (const [k, v] of el.attrs) {
    if ((k === 'nil' || k.endsWith(':nil')) && (v === 'true' || v === '1')) return true;
  }
  return false;
}
