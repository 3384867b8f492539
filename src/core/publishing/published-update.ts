// The full `<upd:Update>` document of a locally published update plus its vendor and product
// categories. Attribute and element order follow WSUS's local-publishing transform, the Extended
// fragment a real WSUS (Server 2025) served for a published .msi, and the captured Microsoft
// documents: identity, Properties (with InstallationBehavior, …, KBArticleID),
// LocalizedPropertiesCollection, Relationships (SupersededUpdates, Prerequisites: product then
// classification), ApplicabilityRules, Files (the signed CAB), HandlerSpecificData.

import { parseUpdateDocument } from '../catalog/parse-update.js';
import { applicabilityRulesXml } from './applicability-xml.js';
import { LOCAL_PUBLISHER_ID } from './category-ids.js';
import { productCategoryDocument, vendorCategoryDocument, type CategoryDocument } from './category-documents.js';
import { HANDLER_PREFIX, HANDLER_URI, handlerSpecificDataXml } from './handler-data.js';
import type { PublishSpec } from './manifest.js';
import { ManifestError } from './manifest-error.js';
import { readGuid } from './manifest-values.js';
import { checkSpecForPayload, type PayloadFacts, type PublishPayload } from './payload-facts.js';
import { checkPayloadFileName } from './payload-kind.js';
import { attrs, categoryPrerequisites, identity, localized, root, textElement, type Prefix } from './xml-parts.js';

export { checkSpecForPayload, type PayloadFacts, type PublishPayload } from './payload-facts.js';
export { classificationCategoryDocument, type CategoryDocument } from './category-documents.js';

export interface PublishedCab {
  fileName: string;
  size: number;
  sha1Base64: string;
  sha256Base64: string;
}

export interface PublishInput {
  updateId: string;
  revisionNumber: number;
  creationDate: Date;
  payload: PublishPayload;
  cab: PublishedCab;
}

const INT32_MAX = 2_147_483_647;

function checkDigest(value: string, bytes: number, field: string): void {
  const ok = /^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === bytes &&
    Buffer.from(value, 'base64').toString('base64') === value;
  if (!ok) throw new ManifestError(field, `must be the base64 of a ${bytes}-byte digest`);
}

function checkInput(input: PublishInput): void {
  readGuid(input.updateId, 'input.updateId');
  if (!Number.isInteger(input.revisionNumber) || input.revisionNumber < 1 || input.revisionNumber > INT32_MAX) {
    throw new ManifestError('input.revisionNumber', 'must be a whole number from 1 to 2147483647');
  }
  if (!(input.creationDate instanceof Date) || Number.isNaN(input.creationDate.getTime())) {
    throw new ManifestError('input.creationDate', 'must be a valid date');
  }
  checkPayloadFileName(input.cab.fileName, 'cab.fileName');
  if (!Number.isSafeInteger(input.cab.size) || input.cab.size <= 0) throw new ManifestError('cab.size', 'must be a positive byte count');
  checkDigest(input.cab.sha1Base64, 20, 'cab.sha1Base64');
  checkDigest(input.cab.sha256Base64, 32, 'cab.sha256Base64');
}

function behaviorAttrs(spec: PublishSpec): string {
  const b = spec.behavior;
  return attrs([
    ['CanRequestUserInput', b.requiresUserInput], ['RequiresNetworkConnectivity', b.requiresNetwork],
    ['Impact', b.impact], ['RebootBehavior', b.reboot],
  ]);
}

function properties(spec: PublishSpec, facts: PayloadFacts, input: PublishInput): string {
  const props = attrs([
    ['UpdateType', 'Software'], ['ExplicitlyDeployable', 'true'], ['AutoSelectOnWebSites', 'true'],
    ['DefaultPropertiesLanguage', spec.language],
    // Clients check a locally published update's content against the publisher certificate they
    // were told to trust instead of Microsoft's roots (WSUS's own transform always sets this).
    ['IsLocallyPublished', 'true'],
    ['MinDownloadSize', input.cab.size], ['MaxDownloadSize', input.cab.size], ['Handler', HANDLER_URI[facts.kind]],
    ['MsrcSeverity', spec.severity], ['CanSourceBeRequired', 'false'], ['PublicationState', 'Published'],
    ['CreationDate', input.creationDate.toISOString()], ['PublisherID', LOCAL_PUBLISHER_ID],
  ]);
  const windowsInstaller = facts.kind === 'msi' || facts.kind === 'msp';
  const children =
    `<upd:InstallationBehavior${behaviorAttrs(spec)} />` +
    // msiexec can always remove what it installed; the command-line handler has no uninstall.
    (windowsInstaller ? `<upd:UninstallationBehavior${behaviorAttrs(spec)} />` : '') +
    textElement('upd:SupportUrl', spec.supportUrl) +
    textElement('upd:KBArticleID', spec.kbArticleId);
  return `<upd:Properties${props}>${children}</upd:Properties>`;
}

function relationships(spec: PublishSpec): string {
  const superseded = spec.supersedes.length
    ? `<upd:SupersededUpdates>${spec.supersedes.map((id) => `<upd:UpdateIdentity UpdateID="${id}" />`).join('')}</upd:SupersededUpdates>`
    : '';
  return `<upd:Relationships>${superseded}${categoryPrerequisites([spec.product.id, spec.classification.id])}</upd:Relationships>`;
}

function files(input: PublishInput, facts: PayloadFacts): string {
  const cab = input.cab;
  const file = attrs([
    ['Digest', cab.sha1Base64], ['FileName', cab.fileName], ['Size', cab.size],
    ['Modified', input.creationDate.toISOString()], ['DigestAlgorithm', 'SHA1'],
    // WSUS marks the CAB of a published .msp this way; clients use it to pick the patch install path.
    ['PatchingType', facts.kind === 'msp' ? 'SelfContained' : undefined],
  ]);
  return `<upd:Files><upd:File${file}><upd:AdditionalDigest Algorithm="SHA256">${cab.sha256Base64}</upd:AdditionalDigest></upd:File></upd:Files>`;
}

export function buildPublishedUpdate(spec: PublishSpec, input: PublishInput): { update: string; categories: CategoryDocument[] } {
  checkInput(input);
  const facts = checkSpecForPayload(spec, input.payload);
  const updateId = readGuid(input.updateId, 'input.updateId');
  const prefixes: Prefix[] = ['pub', 'bar', 'lar', 'msiar', HANDLER_PREFIX[facts.kind], 'upd'];
  const update = root(prefixes,
    identity(updateId, input.revisionNumber) +
    properties(spec, facts, input) +
    localized(spec.language, [
      ['Title', spec.title], ['Description', spec.description], ['MoreInfoUrl', spec.moreInfoUrl], ['SupportUrl', spec.supportUrl],
    ]) +
    relationships(spec) +
    applicabilityRulesXml(facts.installed, facts.installable) +
    files(input, facts) +
    handlerSpecificDataXml(spec, facts, input.payload.fileName),
  );
  const categories = [
    vendorCategoryDocument(spec.vendor.id, spec.vendor.name, spec.language, input.creationDate),
    productCategoryDocument(spec.product.id, spec.product.name, spec.vendor.id, spec.language, input.creationDate),
  ];
  return { update, categories };
}

const IDENTITY_TAG = /<([A-Za-z_][\w.-]*:)?UpdateIdentity(?=[\s/>])[^>]*>/;
const PROPERTIES_TAG = /<([A-Za-z_][\w.-]*:)?Properties(?=[\s/>])[^>]*>/;

/**
 * The same update at `revisionNumber` with PublicationState="Expired": storing it withdraws the
 * update from clients while keeping its history. Everything else is left byte for byte.
 */
export function expiredRevision(currentXml: string, revisionNumber: number): string {
  const current = parseUpdateDocument(currentXml);
  if (!Number.isInteger(revisionNumber) || revisionNumber <= current.identity.revisionNumber || revisionNumber > INT32_MAX) {
    throw new ManifestError('revisionNumber', `must be a whole number above the current revision ${current.identity.revisionNumber} and at most ${INT32_MAX}`);
  }
  const idTag = IDENTITY_TAG.exec(currentXml);
  const propsTag = PROPERTIES_TAG.exec(currentXml);
  if (!idTag || !propsTag) throw new ManifestError('', 'the current document has no UpdateIdentity or Properties element');
  const newId = idTag[0].replace(/\bRevisionNumber\s*=\s*("[^"]*"|'[^']*')/, `RevisionNumber="${revisionNumber}"`);
  const newProps = /\bPublicationState\s*=\s*("[^"]*"|'[^']*')/.test(propsTag[0])
    ? propsTag[0].replace(/\bPublicationState\s*=\s*("[^"]*"|'[^']*')/, 'PublicationState="Expired"')
    : propsTag[0].replace(/(\s*\/?>)$/, ' PublicationState="Expired"$1');
  // Replace from the end so the earlier offset stays valid (identity precedes Properties).
  const [first, second] = idTag.index < propsTag.index ? [idTag, propsTag] : [propsTag, idTag];
  const firstNew = first === idTag ? newId : newProps;
  const secondNew = second === idTag ? newId : newProps;
  let xml = currentXml.slice(0, second.index) + secondNew + currentXml.slice(second.index + second[0].length);
  xml = xml.slice(0, first.index) + firstNew + xml.slice(first.index + first[0].length);
  const check = parseUpdateDocument(xml);
  if (check.identity.updateId !== current.identity.updateId || check.identity.revisionNumber !== revisionNumber || check.publicationState !== 'Expired') {
    throw new ManifestError('', 'could not rewrite the current document into an expired revision');
  }
  return xml;
}
