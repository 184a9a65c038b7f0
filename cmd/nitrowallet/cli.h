/*
 * cli.h - subcommands of the nitrowallet CLI that live in their own files.
 */
#ifndef NITROWALLET_CLI_H
#define NITROWALLET_CLI_H

/* `nitrowallet attestation verify ...`; argv[0] is "attestation".
 * Returns the process exit code. */
int nw_cli_attestation(int argc, char **argv);

#endif
