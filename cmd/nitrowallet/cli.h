/*
 * cli.h - subcommands of the nitrowallet CLI that live in their own files.
 */
#ifndef NITROWALLET_CLI_H
#define NITROWALLET_CLI_H

#include <stddef.h>
#include <stdint.h>

/* `nitrowallet attestation verify ...`; argv[0] is "attestation".
 * Returns the process exit code. */
int nw_cli_attestation(int argc, char **argv);

struct nw_attest_expect;
struct nw_attest_pcr;
struct nw_attest_roots;

/* Hex with or without "0x", 1..cap bytes (cap <= 1024); 0 or -1. */
int nw_cli_hex_arg(uint8_t *out, size_t cap, size_t *n, const char *s);

/* "N=HEX" (N < 32, decimal) appended to pcrs[x->n_pcrs], x->n_pcrs counted; 0 or -1. */
int nw_cli_pcr_arg(struct nw_attest_expect *x, struct nw_attest_pcr *pcrs, const char *s);

/* The roots in the PEM files given, or the built-in AWS root when there are
 * none.  0, or 2 with the reason on stderr. */
int nw_cli_load_roots(struct nw_attest_roots **roots, const char *const *files, size_t n_files);

/* Read a whole file ("-" = standard input) of at most `max` bytes into a
 * malloc'd buffer (one spare byte after the data); NULL, with a message on
 * stderr, if it cannot be read or is larger. */
uint8_t *nw_cli_read_file(const char *path, size_t max, size_t *len);

/* `nitrowallet policy check|show ...` (policy.c); argv[0] is "policy". */
int nw_cli_policy(int argc, char **argv);

struct cli_client;

/* Commands against the nitrowallet-host API (api.c, demo.c); argv[0] is
 * the command word.  Each returns the process exit code. */
int nw_cli_account(const struct cli_client *c, int argc, char **argv);
/* `account verify NAME ...` (proof.c): argv[0] is "account". */
int nw_cli_account_verify(const struct cli_client *c, int argc, char **argv);
int nw_cli_sign(const struct cli_client *c, int argc, char **argv);
int nw_cli_signatures(const struct cli_client *c, int argc, char **argv);
int nw_cli_attestation_get(const struct cli_client *c, int argc, char **argv);
int nw_cli_demo(const struct cli_client *c, int argc, char **argv);

#endif
