// The contract between the content store (files addressed by SHA-1, verified on entry) and
// the adapters that serve or fetch content. Protocol-free.

export interface StoredContent {
  /** upper-case hex SHA-1: the content address */
  sha1Hex: string;
  size: number;
  /** absolute path of the verified file */
  path: string;
  /** when the file became visible in the store (ms since epoch): Last-Modified and ETag derive from it */
  storedAtMs: number;
  /** base64 SHA-256 when the metadata carries one */
  sha256?: string;
}

export interface ContentLocator {
  /** A verified, servable file, or undefined when it is absent, quarantined or unknown. */
  locate(sha1Hex: string): StoredContent | undefined;
  /** Whether any update metadata references this digest (a known file that may arrive later). */
  isKnown(sha1Hex: string): boolean;
  /** Asks for a missing file to be fetched (no-op when no upstream is configured). */
  requestDownload(sha1Hex: string): void;
}
