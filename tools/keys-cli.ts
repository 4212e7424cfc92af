/**
 * API keys on the command line (`npm run keys -- <command>`):
 *
 *   create <tenant>   a new key, printed once, with the lines that configure it
 *   digest <key>      the key's sha256:<hex> digest, for API_KEYS or API_KEYS_FILE
 *
 * Keys are configured by their digests, so the secret itself is stored only by whoever uses it.
 */
import { digestSetting, keyDigest, keyId, newApiKey } from '../core/key-digest.ts';

const USAGE = `usage: npm run keys -- <command>
  create <tenant>   make a new key for a tenant (printed once) and the lines to configure it
  digest <key>      print the sha256 digest of a key
`;
const TENANT = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

const out = (line = '') => process.stdout.write(`${line}\n`);
function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const [command, arg, ...rest] = process.argv.slice(2);
if (rest.length > 0) fail(USAGE);
switch (command) {
  case 'create': {
    if (!arg || !TENANT.test(arg)) fail(`a tenant name is lowercase letters, digits, ".", "_" or "-" (at most 63)\n${USAGE}`);
    const key = newApiKey();
    const digest = digestSetting(key);
    out(`key for tenant ${arg} (shown once: store it now):`);
    out(`  ${key}`);
    out();
    out(`key id (as logs show it): ${keyId(keyDigest(key))}`);
    out('configure it with one of:');
    out(`  API_KEYS=${arg}=${digest}`);
    out('  or, in API_KEYS_FILE:');
    out(`    tenants:`);
    out(`      - name: ${arg}`);
    out(`        keys: [${digest}]`);
    break;
  }
  case 'digest':
    if (!arg) fail(USAGE);
    out(digestSetting(arg));
    break;
  default:
    fail(USAGE);
}
