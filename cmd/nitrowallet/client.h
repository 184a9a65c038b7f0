/*
 * client.h - the CLI's HTTPS client for the nitrowallet-host API
 * (docs/host-api.md), over libcurl.
 *
 * Where the CLI finds the service (flags win over the environment):
 *   URL     --url, $NITROWALLET_URL, else https://127.0.0.1:8443
 *   CA      --cacert, $NITROWALLET_CA, else $NITROWALLET_HOME/ca.pem when it
 *           exists (the development CA `make run` writes), else the system CAs
 *   token   --token-file, $NITROWALLET_TOKEN_FILE, $NITROWALLET_TOKEN, else
 *           $NITROWALLET_HOME/admin.token (signer.token for `sign`)
 * $NITROWALLET_HOME defaults to ./.nitrowallet.  Tokens are read into memory,
 * sent only in the Authorization header and never printed.
 */
#ifndef NITROWALLET_CLI_CLIENT_H
#define NITROWALLET_CLI_CLIENT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define CLI_PATH_MAX 4096
#define CLI_TOKEN_MAX 256
#define CLI_RESPONSE_MAX (4u << 20) /* bytes of one response body */

struct cli_client {
    char url[1024];             /* scheme://host:port, no trailing slash */
    char ca[CLI_PATH_MAX];      /* "" = system CAs */
    char home[CLI_PATH_MAX];    /* $NITROWALLET_HOME */
    char token_file[CLI_PATH_MAX]; /* from --token-file, "" if not given */
    int verbose;
};

struct cli_response {
    long status;        /* HTTP status; 0 if no response */
    char *body;         /* NUL-terminated, malloc'd */
    size_t len;
    cJSON *json;        /* parsed body, NULL if not JSON */
};

/* Fill defaults from the environment (before flags override them). */
void cli_client_defaults(struct cli_client *c);

/* Read a token: `file` if non-empty, else $NITROWALLET_TOKEN_FILE, else
 * $NITROWALLET_TOKEN, else $NITROWALLET_HOME/<default_name>.  0 on success;
 * on failure a message is printed. */
int cli_token_load(const struct cli_client *c, const char *file, const char *default_name,
                   char token[CLI_TOKEN_MAX]);

/* Wipe a token buffer. */
void cli_token_wipe(char token[CLI_TOKEN_MAX]);

/*
 * One request: METHOD url+path with the bearer `token` (may be NULL), a
 * JSON body (may be NULL) and an optional Idempotency-Key.  Returns 0 when
 * a response arrived (any status), -1 on a transport failure (printed).
 */
int cli_request(const struct cli_client *c, const char *method, const char *path, const char *token,
                const char *json_body, const char *idempotency_key, struct cli_response *r);

void cli_response_free(struct cli_response *r);

/* Print an error response ("HTTP 403 FORBIDDEN: message (request ...)")
 * to stderr; returns 1 (the exit status). */
int cli_print_error(const struct cli_response *r);

/* The string member `key` of the response's JSON object, or NULL. */
const char *cli_json_str(const cJSON *obj, const char *key);

#endif
