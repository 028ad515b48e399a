import { AppConfig, InjectConfig } from '@app/core';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import forge from 'node-forge';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

export interface SpCredentials {
  /** PEM (PKCS #8) RSA private key: signs AuthnRequests, decrypts encrypted assertions. */
  privateKeyPem: string;
  /** PEM certificate of that key, published in our metadata. */
  certificatePem: string;
}

/**
 * Our SAML service provider's key pair and certificate, shared by every tenant's SP:
 * `SAML_SP_KEY_FILE` + `SAML_SP_CERT_FILE`, else `<DATA_DIR>/saml-sp-key.pem` and
 * `<DATA_DIR>/saml-sp-cert.pem`, generated on first use (RSA 2048, a self-signed certificate
 * valid ten years; IdPs trust the metadata, not a CA). Replicas must share the files.
 */
@Injectable()
export class SpCredentialsService implements OnModuleInit {
  private readonly logger = new Logger('SamlSpCredentials');
  private credentials?: Promise<SpCredentials>;

  constructor(@InjectConfig() private readonly config: AppConfig) {}

  /** Configured files are read at start, so a bad one stops the process early. */
  async onModuleInit(): Promise<void> {
    if (this.config.SAML_SP_KEY_FILE) await this.get();
  }

  get(): Promise<SpCredentials> {
    this.credentials ??= this.loadOrGenerate().catch((error: unknown) => {
      this.credentials = undefined;
      throw error;
    });
    return this.credentials;
  }

  private async loadOrGenerate(): Promise<SpCredentials> {
    const configured = this.config.SAML_SP_KEY_FILE && this.config.SAML_SP_CERT_FILE;
    const keyFile = resolve(
      this.config.SAML_SP_KEY_FILE ?? join(this.config.DATA_DIR, 'saml-sp-key.pem'),
    );
    const certFile = resolve(
      this.config.SAML_SP_CERT_FILE ?? join(this.config.DATA_DIR, 'saml-sp-cert.pem'),
    );
    try {
      return checked(await readFile(keyFile, 'utf8'), await readFile(certFile, 'utf8'), keyFile);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || configured) throw error;
    }
    const generated = selfSigned();
    await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
    try {
      // The certificate first: whoever wins the key file also wrote a matching certificate.
      await writeFile(certFile, generated.certificatePem, { flag: 'wx', mode: 0o644 });
      await writeFile(keyFile, generated.privateKeyPem, { flag: 'wx', mode: 0o600 });
      this.logger.log(`generated the SAML SP key and certificate at ${keyFile}, ${certFile}`);
      return generated;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Another process started alongside wrote them: wait for its key, then use theirs.
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          return checked(
            await readFile(keyFile, 'utf8'),
            await readFile(certFile, 'utf8'),
            keyFile,
          );
        } catch {
          await new Promise((done) => setTimeout(done, 100));
        }
      }
      throw error;
    }
  }
}

/** @throws Error unless the key is RSA and the certificate is of that key (never shows the key). */
function checked(keyPem: string, certificatePem: string, keyFile: string): SpCredentials {
  const key = createPrivateKey(keyPem);
  const certificate = new X509Certificate(certificatePem);
  if (key.asymmetricKeyType !== 'rsa' || !certificate.checkPrivateKey(key)) {
    throw new Error(`${keyFile} must be an RSA private key matching the SAML SP certificate`);
  }
  return {
    privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem: certificate.toString(),
  };
}

/** An RSA 2048 key (node:crypto) and a self-signed SHA-256 certificate for it (node-forge). */
export function selfSigned(commonName = 'control-plane SAML SP', years = 10): SpCredentials {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(
    publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  );
  certificate.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(15))}`;
  certificate.validity.notBefore = new Date(Date.now() - 60_000);
  certificate.validity.notAfter = new Date(Date.now() + years * 365 * 86_400_000);
  const name = [{ name: 'commonName', value: commonName }];
  certificate.setSubject(name);
  certificate.setIssuer(name);
  certificate.sign(forge.pki.privateKeyFromPem(privateKeyPem), forge.md.sha256.create());
  return { privateKeyPem, certificatePem: forge.pki.certificateToPem(certificate) };
}
