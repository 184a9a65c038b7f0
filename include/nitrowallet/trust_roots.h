/*
 * trust_roots.h - the Amazon Trust Services root certificates (PEM), the
 * only CAs the enclave's KMS TLS trusts outside --dev (src/aws/trust_roots.c
 * names their source and fingerprints).
 */
#ifndef NITROWALLET_TRUST_ROOTS_H
#define NITROWALLET_TRUST_ROOTS_H

extern const char nw_aws_trust_roots_pem[];

#endif
