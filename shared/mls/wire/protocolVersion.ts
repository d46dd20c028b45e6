// ProtocolVersion and CipherSuite code points (RFC 9420 §6, §17.1).

/** enum { reserved(0), mls10(1), (65535) } ProtocolVersion; */
export const ProtocolVersion = { mls10: 1 } as const;
export type ProtocolVersionValue = number;

/** uint16 CipherSuite (RFC 9420 §17.1). */
export const CipherSuiteId = {
  MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519: 1,
  MLS_128_DHKEMP256_AES128GCM_SHA256_P256: 2,
  MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519: 3,
  MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448: 4,
  MLS_256_DHKEMP521_AES256GCM_SHA512_P521: 5,
  MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448: 6,
  MLS_256_DHKEMP384_AES256GCM_SHA384_P384: 7,
} as const;
