// Tiny writers for the metadata documents. Every value goes through the server's one escaper
// (src/protocol/xml/escape.ts): manifest text is untrusted and must never become markup.

import { escapeAttr, escapeText } from '../../protocol/xml/escape.js';

const MSUS = 'http://schemas.microsoft.com/msus/2002/12';

/** Prefix → namespace, as real update documents bind them. */
export const NS = {
  upd: `${MSUS}/Update`,
  pub: `${MSUS}/Publishing`,
  bar: `${MSUS}/BaseApplicabilityRules`,
  lar: `${MSUS}/LogicalApplicabilityRules`,
  msiar: `${MSUS}/MsiApplicabilityRules`,
  cat: `${MSUS}/UpdateHandlers/Category`,
  cmd: `${MSUS}/UpdateHandlers/CommandLineInstallation`,
  msp: `${MSUS}/UpdateHandlers/WindowsInstaller`,
} as const;
export type Prefix = keyof typeof NS;
export const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

export type AttrList = readonly (readonly [string, string | number | boolean | undefined])[];

export function attrs(list: AttrList): string {
  let s = '';
  for (const [name, value] of list) if (value !== undefined) s += ` ${name}="${escapeAttr(String(value))}"`;
  return s;
}

export function empty(name: string, list: AttrList): string {
  return `<${name}${attrs(list)} />`;
}

export function textElement(name: string, text: string | undefined): string {
  return text === undefined ? '' : `<${name}>${escapeText(text)}</${name}>`;
}

export function root(prefixes: readonly Prefix[], body: string): string {
  return `<upd:Update${prefixes.map((p) => ` xmlns:${p}="${NS[p]}"`).join('')}>${body}</upd:Update>`;
}

export function identity(updateId: string, revisionNumber: number): string {
  return `<upd:UpdateIdentity UpdateID="${updateId}" RevisionNumber="${revisionNumber}" />`;
}

export function localized(language: string, fields: readonly (readonly [string, string | undefined])[]): string {
  const parts = fields.map(([name, value]) => textElement(`upd:${name}`, value)).join('');
  return `<upd:LocalizedPropertiesCollection><upd:LocalizedProperties>${textElement('upd:Language', language)}${parts}` +
    '</upd:LocalizedProperties></upd:LocalizedPropertiesCollection>';
}

export function categoryPrerequisites(clauses: readonly string[]): string {
  const parts = clauses.map((id) => `<upd:AtLeastOne IsCategory="true"><upd:UpdateIdentity UpdateID="${id}" /></upd:AtLeastOne>`);
  return `<upd:Prerequisites>${parts.join('')}</upd:Prerequisites>`;
}
