// The emulator's TLS material: a CA generated on each start (written to a file so any client can
// trust it) and a server certificate for the configured host names. openssl does the X.509 work,
// as test/support/control-plane.ts does; EC keys keep generation fast.
import { readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { openssl as runOpenssl } from '../support/openssl.js';

export interface ServerCertificates {
  caPem: string;
  caPath: string;
  certPem: string;
  keyPem: string;
}

const openssl = (args: string[], cwd: string) => runOpenssl(args, cwd, "the Azure emulator's CA");

function subjectAltNames(hostnames: readonly string[]): string {
  return hostnames.map((name) => (isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Creates a CA and a server certificate signed by it in `dir`; the CA is also copied to `caOut`. */
export async function generateServerCertificates(dir: string, hostnames: readonly string[], caOut?: string): Promise<ServerCertificates> {
  await openssl(
    ['req', '-x509', ...ecKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650', '-subj', '/CN=azure-emulator-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  writeFileSync(join(dir, 'server.ext'), `subjectAltName=${subjectAltNames(hostnames)}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  await openssl(['req', ...ecKey, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${hostnames[0] ?? 'localhost'}`], dir);
  await openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '825', '-extfile', 'server.ext'],
    dir,
  );
  const caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  let caPath = join(dir, 'ca.crt');
  if (caOut) {
    writeFileSync(caOut, caPem);
    caPath = caOut;
  }
  return { caPem, caPath, certPem: readFileSync(join(dir, 'server.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'server.key'), 'utf8') };
}

/**
 * A self-signed RSA certificate with its key, as an application credential (what
 * `az ad app credential reset --create-cert` gives). RSA because MSAL signs assertions with RS256/PS256.
 */
export async function generateClientCertificate(dir: string, name: string): Promise<{ certPem: string; keyPem: string; combinedPem: string }> {
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '365', '-subj', `/CN=${name}`], dir);
  const certPem = readFileSync(join(dir, `${name}.crt`), 'utf8');
  const keyPem = readFileSync(join(dir, `${name}.key`), 'utf8');
  return { certPem, keyPem, combinedPem: `${keyPem}${certPem}` };
}
