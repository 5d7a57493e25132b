const VALIDITY_DAYS = 3650;

/**
 * One RSA 2048 / SHA-256 certificate, valid ten years (clients pin it as their CA file; a short
 * life would break them at every renewal). Marked as its own CA, as `openssl req -x509` does, so
 * OpenSSL and GnuTLS clients accept it as a trust anchor. `selfsigned` is loaded only here, the
 * first time a certificate is made: every service imports this package, few ever generate, and
 * its X.509 libraries add to each one's start-up time and memory and put helpers (tslib's) and
 * `Reflect` metadata functions on the global object.
 */
export async function generateSelfSigned(names: { dns: readonly string[]; ips: readonly string[] }): Promise<{ cert: string; key: string }> {
  const { generate } = await import('selfsigned');
  const notBeforeDate = new Date(Date.now() - 60_000);
  const pems = await generate([{ name: 'commonName', value: names.dns[0] ?? 'localhost' }, { name: 'organizationName', value: 'Hearth' }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + VALIDITY_DAYS * 24 * 60 * 60 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...names.dns.map((value) => ({ type: 2 as const, value })), ...names.ips.map((ip) => ({ type: 7 as const, ip }))],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
