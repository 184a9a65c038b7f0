/*
 * api.c - the CLI's commands that call the nitrowallet-host API:
 *   account create|list|show, sign tx|message|typed-data|digest,
 *   signatures, attestation get.
 * Each prints the service's JSON answer on stdout (lists: one line per
 * item) and exits 0, or prints the API error on stderr and exits 1; usage
 * errors exit 2.  Inputs come from a file or standard input ("-").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "nitrowallet/base64.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/policy.h"
#include "nitrowallet/storage.h"

#define INPUT_MAX (64u * 1024u) /* the host's default body bound */
#define PAGE_MAX 100

static int usage_error(const char *msg)
{
    fprintf(stderr, "nitrowallet: %s (see `nitrowallet help`)\n", msg);
    return 2;
}

/* Print a JSON value on stdout, indented. */
static int print_json(const cJSON *v)
{
    char *s = cJSON_Print(v);
    if (s == NULL)
        return 1;
    puts(s);
    free(s);
    return 0;
}

/* One call; prints the answer (JSON) when `print` and returns the exit status.
 * On success with `keep`, the response is left in *keep for the caller. */
static int call(const struct cli_client *c, const char *method, const char *path, const char *token_default,
                const char *body, const char *idem, int print, struct cli_response *keep)
{
    char token[CLI_TOKEN_MAX];
    struct cli_response r;
    int rc;

    if (cli_token_load(c, c->token_file, token_default, token) != 0)
        return 1;
    rc = cli_request(c, method, path, token, body, idem, &r);
    cli_token_wipe(token);
    if (rc != 0)
        return 1;
    if (r.status < 200 || r.status > 299) {
        rc = cli_print_error(&r);
        cli_response_free(&r);
        return rc;
    }
    if (r.json == NULL) {
        fprintf(stderr, "nitrowallet: HTTP %ld with a body that is not JSON\n", r.status);
        cli_response_free(&r);
        return 1;
    }
    rc = print ? print_json(r.json) : 0;
    if (keep)
        *keep = r;
    else
        cli_response_free(&r);
    return rc;
}

/* 1 if `s` is non-NULL and only URL-unreserved characters (RFC 3986), so it
 * can go into a query string as it is: how cursors are checked. */
static int url_safe(const char *s)
{
    return s != NULL &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~") == strlen(s);
}

static int check_name(const char *name)
{
    if (!nw_storage_name_valid(name)) {
        fprintf(stderr, "nitrowallet: account name '%.80s': must be 1..%d characters of [A-Za-z0-9._-], "
                        "not starting with '.'\n", name, NW_STORAGE_NAME_MAX);
        return 0;
    }
    return 1;
}

/* Value of "--flag VALUE" pairs; returns the index after the options. */
struct flags {
    const char *name, *kms_key_id, *idem, *text, *out, *nonce, *cursor, *policy;
    unsigned limit;
    int allow_digest;
};

static int parse_flags(int argc, char **argv, int i, struct flags *f, int *positional, char **pos, int max_pos)
{
    *positional = 0;
    for (; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--allow-digest") == 0) { f->allow_digest = 1; continue; }
        if (strncmp(a, "--", 2) != 0 || strcmp(a, "-") == 0) {
            if (*positional == max_pos)
                return usage_error("too many arguments");
            pos[(*positional)++] = argv[i];
            continue;
        }
        if (v == NULL)
            return usage_error("an option is missing its value");
        i++;
        if (strcmp(a, "--name") == 0) f->name = v;
        else if (strcmp(a, "--kms-key-id") == 0) f->kms_key_id = v;
        else if (strcmp(a, "--idempotency-key") == 0) f->idem = v;
        else if (strcmp(a, "--text") == 0) f->text = v;
        else if (strcmp(a, "--out") == 0) f->out = v;
        else if (strcmp(a, "--nonce") == 0) f->nonce = v;
        else if (strcmp(a, "--cursor") == 0) f->cursor = v;
        else if (strcmp(a, "--policy") == 0) f->policy = v;
        else if (strcmp(a, "--limit") == 0) {
            char *end;
            unsigned long n = strtoul(v, &end, 10);
            if (*v < '1' || *v > '9' || *end || n > PAGE_MAX)
                return usage_error("--limit: 1..100");
            f->limit = (unsigned)n;
        } else {
            fprintf(stderr, "nitrowallet: unknown option %s\n", a);
            return 2;
        }
    }
    return 0;
}

/* --- account ------------------------------------------------------------- */

static int account_create(const struct cli_client *c, const struct flags *f)
{
    cJSON *o = cJSON_CreateObject();
    char *body;
    int rc;

    if (o == NULL)
        return 1;
    if (f->name && !check_name(f->name))
        return cJSON_Delete(o), 2;
    if (f->name) cJSON_AddStringToObject(o, "name", f->name);
    if (f->kms_key_id) cJSON_AddStringToObject(o, "kms_key_id", f->kms_key_id);
    if (f->allow_digest) cJSON_AddTrueToObject(o, "allow_digest");
    if (f->policy) {
        /* checked here with the enclave's parser, then sent as written */
        size_t len;
        char *text = (char *)nw_cli_read_file(f->policy, NW_POLICY_MAX_JSON, &len);
        struct nw_policy p;
        struct nw_error err = {0};
        if (text == NULL)
            return cJSON_Delete(o), 1;
        if (nw_policy_parse(&p, text, len, &err) != NW_OK) {
            fprintf(stderr, "nitrowallet: %s: %s: %s\n", f->policy, nw_err_name(err.code), err.msg);
            free(text);
            return cJSON_Delete(o), 1;
        }
        nw_policy_free(&p);
        text[len] = '\0';
        cJSON_AddRawToObject(o, "policy", text);
        free(text);
    }
    body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (body == NULL)
        return 1;
    rc = call(c, "POST", "/v1/accounts", "admin.token", body, f->idem, 1, NULL);
    free(body);
    return rc;
}

/* Print "name<TAB>address<TAB>created_at" for every account, page by page. */
static int account_list(const struct cli_client *c, const struct flags *f)
{
    char path[640], cursor[512] = "";
    int rc = 0;

    do {
        struct cli_response r;
        snprintf(path, sizeof path, "/v1/accounts?limit=%u%s%s", f->limit ? f->limit : PAGE_MAX,
                 cursor[0] ? "&cursor=" : "", cursor);
        if ((rc = call(c, "GET", path, "admin.token", NULL, NULL, 0, &r)) != 0)
            return rc;
        const cJSON *a, *list = cJSON_GetObjectItemCaseSensitive(r.json, "accounts");
        cJSON_ArrayForEach(a, list) {
            printf("%s\t%s\t%s\n", cli_json_str(a, "name") ? cli_json_str(a, "name") : "?",
                   cli_json_str(a, "address") ? cli_json_str(a, "address") : "?",
                   cli_json_str(a, "created_at") ? cli_json_str(a, "created_at") : "?");
        }
        const char *next = cli_json_str(r.json, "next_cursor");
        snprintf(cursor, sizeof cursor, "%s", url_safe(next) ? next : "");
        cli_response_free(&r);
    } while (cursor[0] && !f->limit);
    return rc;
}

int nw_cli_account(const struct cli_client *c, int argc, char **argv)
{
    struct flags f = {0};
    char *pos[1];
    int n, rc;

    if (argc < 2)
        return usage_error("account create|list|show|verify");
    if (strcmp(argv[1], "verify") == 0)
        return nw_cli_account_verify(c, argc, argv);
    if ((rc = parse_flags(argc, argv, 2, &f, &n, pos, 1)) != 0)
        return rc;
    if (strcmp(argv[1], "create") == 0 && n == 0)
        return account_create(c, &f);
    if (strcmp(argv[1], "list") == 0 && n == 0)
        return account_list(c, &f);
    if (strcmp(argv[1], "show") == 0 && n == 1) {
        char path[128];
        if (!check_name(pos[0]))
            return 2;
        snprintf(path, sizeof path, "/v1/accounts/%s", pos[0]);
        return call(c, "GET", path, "admin.token", NULL, NULL, 1, NULL);
    }
    return usage_error("account create [--name N] [--policy FILE | --allow-digest] [--kms-key-id ID] | list [--limit N] | "
                       "show NAME | verify NAME --pcr 0=HEX ...");
}

/* --- sign ------------------------------------------------------------------ */

/* Wrap the input as the endpoint wants it: {"<member>": <value>}. */
static char *wrap(const char *member, cJSON *value)
{
    cJSON *o = cJSON_CreateObject();
    char *s = NULL;
    if (o == NULL || value == NULL) {
        cJSON_Delete(o);
        cJSON_Delete(value);
        return NULL;
    }
    cJSON_AddItemToObject(o, member, value);
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The JSON document in FILE|- (a transaction or typed data). */
static cJSON *read_json(const char *path)
{
    size_t len;
    uint8_t *buf = nw_cli_read_file(path, INPUT_MAX, &len);
    cJSON *v;
    if (buf == NULL)
        return NULL;
    v = cJSON_ParseWithLength((const char *)buf, len);
    if (v == NULL)
        fprintf(stderr, "nitrowallet: %s: not valid JSON\n", path);
    free(buf);
    return v;
}

/* {"message_hex": "0x..."} of the exact bytes of FILE|-. */
static char *message_body(const struct flags *f, const char *path)
{
    size_t len;
    uint8_t *buf;
    char *hex, *s;

    if (f->text)
        return wrap("message", cJSON_CreateString(f->text));
    if (path == NULL)
        return NULL;
    buf = nw_cli_read_file(path, INPUT_MAX / 2 - 16, &len);
    if (buf == NULL)
        return NULL;
    hex = malloc(2 * len + 3);
    if (hex != NULL && nw_hex_encode(hex, 2 * len + 3, buf, len) == NW_OK)
        s = wrap("message_hex", cJSON_CreateString(hex));
    else
        s = NULL;
    free(hex);
    free(buf);
    return s;
}

static char *digest_body(const char *arg)
{
    size_t len;
    uint8_t *buf;
    char text[80];
    if (strncmp(arg, "0x", 2) == 0)
        return wrap("digest", cJSON_CreateString(arg));
    buf = nw_cli_read_file(arg, 79, &len);
    if (buf == NULL)
        return NULL;
    memcpy(text, buf, len);
    text[len] = '\0';
    free(buf);
    text[strcspn(text, "\r\n ")] = '\0';
    return wrap("digest", cJSON_CreateString(text));
}

int nw_cli_sign(const struct cli_client *c, int argc, char **argv)
{
    struct flags f = {0};
    char *pos[2] = {NULL, NULL}, path[160], *body = NULL;
    const char *kind, *ep;
    int n, rc;

    if (argc < 3)
        return usage_error("sign tx|message|typed-data|digest NAME [FILE|-]");
    if ((rc = parse_flags(argc, argv, 2, &f, &n, pos, 2)) != 0)
        return rc;
    kind = argv[1];
    if (n < 1 || !check_name(pos[0]))
        return n < 1 ? usage_error("sign: which account?") : 2;
    if (strcmp(kind, "tx") == 0 || strcmp(kind, "transaction") == 0) {
        ep = "transaction";
        body = n == 2 ? wrap("transaction", read_json(pos[1])) : NULL;
    } else if (strcmp(kind, "message") == 0) {
        ep = "message";
        if ((n == 2) == (f.text != NULL))
            return usage_error("sign message NAME FILE|- (its exact bytes), or --text STRING");
        body = message_body(&f, pos[1]);
    } else if (strcmp(kind, "typed-data") == 0) {
        ep = "typed-data";
        body = n == 2 ? wrap("typed_data", read_json(pos[1])) : NULL;
    } else if (strcmp(kind, "digest") == 0) {
        ep = "digest";
        body = n == 2 ? digest_body(pos[1]) : NULL;
    } else {
        return usage_error("sign tx|message|typed-data|digest NAME [FILE|-]");
    }
    if (n != 2 && f.text == NULL)
        return usage_error("sign: give the input FILE, or - for standard input");
    if (body == NULL)
        return 1;
    snprintf(path, sizeof path, "/v1/accounts/%s/sign/%s", pos[0], ep);
    rc = call(c, "POST", path, "signer.token", body, f.idem, 1, NULL);
    free(body);
    return rc;
}

/* --- audit trail and attestation ----------------------------------------- */

int nw_cli_signatures(const struct cli_client *c, int argc, char **argv)
{
    struct flags f = {0};
    char *pos[1], path[700];
    int n, rc;

    if ((rc = parse_flags(argc, argv, 1, &f, &n, pos, 1)) != 0)
        return rc;
    if (n != 1 || !check_name(pos[0]))
        return usage_error("signatures NAME [--limit N] [--cursor C]");
    if (f.cursor && !url_safe(f.cursor))
        return usage_error("--cursor: not a cursor this service returned");
    snprintf(path, sizeof path, "/v1/accounts/%s/signatures?limit=%u%s%.500s", pos[0], f.limit ? f.limit : 50,
             f.cursor ? "&cursor=" : "", f.cursor ? f.cursor : "");
    return call(c, "GET", path, "admin.token", NULL, NULL, 1, NULL);
}

/* `attestation get --nonce HEX [--out FILE]`: the enclave's document for a
 * fresh nonce; raw CBOR to FILE (for `attestation verify`), else base64. */
int nw_cli_attestation_get(const struct cli_client *c, int argc, char **argv)
{
    struct flags f = {0};
    struct cli_response r;
    char *pos[1], path[1100];
    int n, rc;

    if ((rc = parse_flags(argc, argv, 2, &f, &n, pos, 0)) != 0)
        return rc;
    if (f.nonce == NULL || strlen(f.nonce) > 2 + 2 * 512 || strspn(f.nonce, "0123456789abcdefABCDEFx") != strlen(f.nonce))
        return usage_error("attestation get --nonce 0xHEX [--out FILE]");
    snprintf(path, sizeof path, "/v1/attestation?nonce=%s", f.nonce);
    if ((rc = call(c, "GET", path, "admin.token", NULL, NULL, 0, &r)) != 0)
        return rc;
    const char *doc = cli_json_str(r.json, "document");
    rc = 1;
    if (doc == NULL) {
        fprintf(stderr, "nitrowallet: the answer has no document\n");
    } else if (f.out == NULL) {
        puts(doc);
        rc = 0;
    } else {
        size_t cap = strlen(doc), len;
        uint8_t *raw = malloc(cap + 1);
        FILE *out;
        if (raw && nw_base64_decode(raw, cap + 1, &len, doc, strlen(doc), NULL) == NW_OK &&
            (out = fopen(f.out, "wb")) != NULL) {
            rc = fwrite(raw, 1, len, out) == len ? 0 : 1;
            rc |= fclose(out) != 0;
            if (rc == 0)
                fprintf(stderr, "nitrowallet: wrote %zu bytes to %s; check it with `nitrowallet attestation verify "
                                "%s --nonce %s`\n", len, f.out, f.out, f.nonce);
        } else {
            fprintf(stderr, "nitrowallet: cannot write %s\n", f.out);
        }
        free(raw);
    }
    cli_response_free(&r);
    return rc;
}
