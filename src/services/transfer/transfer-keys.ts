import { readFileSync } from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import type { TransferConfig } from '../../config/transfer-config.js';
import { DomainError } from '../../core/errors.js';
import { certificatesFromPem, signingIdentity, type SigningIdentity } from './manifest-signature.js';

// The key material of the transfer section, read from its files when a package is made or
// checked (so a replaced certificate is used at once, without a restart).

function read(file: string, key: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new DomainError('InvalidInput', key, `${key} ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function loadSigningIdentity(cfg: TransferConfig, now: Date): SigningIdentity {
  if (!cfg.signingCert || !cfg.signingKey) {
    throw new DomainError('InvalidInput', 'transfer.signingCert',
      'exports are signed: set transfer.signingCert and transfer.signingKey in config.json (wsus cert create --signing makes a pair)');
  }
  return signingIdentity(read(cfg.signingCert, 'transfer.signingCert'), read(cfg.signingKey, 'transfer.signingKey'), now);
}

export function loadTrustedCerts(cfg: TransferConfig): X509Certificate[] {
  return cfg.trustedCerts.flatMap((f) => certificatesFromPem(read(f, 'transfer.trustedCerts'), f));
}
