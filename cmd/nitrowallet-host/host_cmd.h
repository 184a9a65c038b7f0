/*
 * host_cmd.h - subcommands of the nitrowallet-host binary besides serving.
 */
#ifndef NITROWALLET_HOST_CMD_H
#define NITROWALLET_HOST_CMD_H

/* `nitrowallet-host token add|remove ...`; argv[0] is "token". */
int nw_host_token_cmd(int argc, char **argv);

#endif
