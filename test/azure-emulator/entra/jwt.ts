// Compact JWTs with node:crypto only: RS256 signing of the access tokens the emulator issues,
// verification of those tokens, and of client assertions (RS256 or PS256, as MSAL signs them).
import { createHash, createPublicKey, generateKeyPairSync, sign, verify, constants, type KeyObject } from 'node:crypto';

export type JwtClaims = Record<string, unknown>;

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: JwtClaims;
  signingInput: string;
  signature: Buffer;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, c, s] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as unknown;
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (typeof header !== 'object' || header === null || typeof claims !== 'object' || claims === null) return undefined;
    return { header: header as Record<string, unknown>, claims: claims as JwtClaims, signingInput: `${h}.${c}`, signature: Buffer.from(s, 'base64url') };
  } catch {
    return undefined;
  }
}

/** Checks the signature of a decoded JWT with a public key, for RS256 and PS256. */
export function signatureValid(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  const alg = jwt.header['alg'];
  if (alg === 'RS256') return verify('sha256', Buffer.from(jwt.signingInput), publicKey, jwt.signature);
  if (alg === 'PS256') {
    return verify('sha256', Buffer.from(jwt.signingInput), { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, jwt.signature);
  }
  return false;
}

/** The key that signs every token of one emulator run, published through JWKS. */
export class TokenSigner {
  readonly kid: string;
  private readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.kid = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url').slice(0, 27);
  }

  sign(claims: JwtClaims): string {
    const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: this.kid, x5t: this.kid }));
    const payload = base64url(JSON.stringify(claims));
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), this.privateKey);
    return `${header}.${payload}.${base64url(signature)}`;
  }

  /** Verified tokens: ARM sees the same token many times, and RSA verification dominates a GET. */
  private readonly verified = new Map<string, JwtClaims>();

  /** The claims of a token this signer issued, or undefined when it is malformed or forged. */
  verify(token: string): JwtClaims | undefined {
    const cached = this.verified.get(token);
    if (cached) return cached;
    const jwt = decodeJwt(token);
    if (!jwt || jwt.header['alg'] !== 'RS256' || jwt.header['kid'] !== this.kid) return undefined;
    if (!signatureValid(jwt, this.publicKey)) return undefined;
    if (this.verified.size >= 10000) this.verified.clear();
    this.verified.set(token, jwt.claims);
    return jwt.claims;
  }

  jwks(): { keys: Record<string, unknown>[] } {
    const jwk = this.publicKey.export({ format: 'jwk' });
    return { keys: [{ kty: 'RSA', use: 'sig', alg: 'RS256', kid: this.kid, x5t: this.kid, n: jwk.n, e: jwk.e }] };
  }
}

/** Public key and thumbprints of a PEM certificate (the first one in the text). */
export function certificatePublicKey(pem: string): KeyObject {
  return createPublicKey(pem);
}
