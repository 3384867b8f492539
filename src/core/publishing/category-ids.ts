// Deterministic ids for the vendor (Company) and product categories: a name-based UUID (RFC 4122
// version 5, SHA-1) in this project's own namespace. Republishing under the same names reuses the
// categories, and two servers publishing the same vendor/product agree on the ids without talking.

import { createHash } from 'node:crypto';

/** Namespace of every category id this project derives; never change it (ids would fork). */
export const CATEGORY_NAMESPACE = 'd5a7390d-c504-4bf5-922f-8cd074d27224';

/** PublisherID written on everything published locally by this server software. */
export const LOCAL_PUBLISHER_ID = '5e227b4e-5106-419f-bbe9-0e3a6723592d';

export function uuidV5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Case, surrounding space, runs of inner space and Unicode composition do not make a new category. */
export function categoryNameKey(name: string): string {
  return name.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase();
}

export function vendorCategoryId(vendor: string): string {
  return uuidV5(CATEGORY_NAMESPACE, `company:${categoryNameKey(vendor)}`);
}

/** Scoped by vendor: "Tools" from two vendors are two products. Names cannot hold a newline. */
export function productCategoryId(vendor: string, product: string): string {
  return uuidV5(CATEGORY_NAMESPACE, `product:${categoryNameKey(vendor)}\n${categoryNameKey(product)}`);
}
