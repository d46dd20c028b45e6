// Randomness for path secrets, reuse guards and padding-free nonces: the platform CSPRNG
// (globalThis.crypto.getRandomValues exists in Node >= 19, browsers and workers).
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}
