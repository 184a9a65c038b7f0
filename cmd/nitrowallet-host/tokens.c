/*
 * tokens.c - `nitrowallet-host token add|remove`: manage the tokens config
 * file (auth.h) without ever storing a plaintext token.
 *
 *   nitrowallet-host token add --id ID --role admin
 *   nitrowallet-host token add --id ID --role signer (--account NAME... | --all-accounts)
 *                              [--tokens FILE] [--out FILE]
 *   nitrowallet-host token remove --id ID [--tokens FILE]
 *
 * A signer token names its accounts, or is made with --all-accounts on
 * purpose: there is no default that grants every account.
 *
 * `add` draws a fresh token (nw_auth_token_generate), appends its SHA-256
 * to the config and writes the token itself to --out (created 0600, never
 * overwritten) or, without --out, to standard output.  The new config is
 * validated with the same parser the host uses (nw_auth_load: duplicate
 * ids, bad names and so on are refused), written to a temporary file,
 * fsync'd and renamed over the old one, so a crash leaves either the old
 * or the new file.  A running host reads the file at start: restart it to
 * apply a change.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "host_cmd.h"
#include "nitrowallet/auth.h"
#include "nitrowallet/secret.h"

#define MAX_ACCOUNTS 64

struct token_opts {
    const char *id, *role, *tokens, *out;
    const char *accounts[MAX_ACCOUNTS];
    size_t n_accounts;
    int all_accounts;
    char tokens_buf[4096];
};

static int token_usage(void)
{
    fprintf(stderr, "usage: nitrowallet-host token add --id ID --role admin [--tokens FILE] [--out FILE]\n"
                    "       nitrowallet-host token add --id ID --role signer (--account NAME... | --all-accounts) "
                    "[--tokens FILE] [--out FILE]\n"
                    "       nitrowallet-host token remove --id ID [--tokens FILE]\n"
                    "default --tokens: $NITROWALLET_HOME/tokens.json\n");
    return 2;
}

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    fputs("nitrowallet-host: token: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* The current config as a cJSON array (empty if the file does not exist). */
static cJSON *load_config(const char *path)
{
    struct stat st;
    FILE *f;
    char *buf;
    cJSON *arr = NULL;
    size_t n;

    if (stat(path, &st) != 0)
        return errno == ENOENT ? cJSON_CreateArray() : NULL;
    if (!S_ISREG(st.st_mode) || st.st_size > NW_AUTH_CONFIG_MAX || (f = fopen(path, "rb")) == NULL)
        return NULL;
    buf = malloc((size_t)st.st_size + 1);
    if (buf != NULL) {
        n = fread(buf, 1, (size_t)st.st_size, f);
        arr = cJSON_ParseWithLength(buf, n);
        free(buf);
    }
    fclose(f);
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        return NULL;
    }
    return arr;
}

/* 0 if the host would accept `arr` as its config (its own parser). */
static int validate_config(const cJSON *arr)
{
    char *text = cJSON_Print(arr);
    struct nw_auth *auth = NULL;
    struct nw_error err = {0};
    int rc = 0;

    if (text == NULL)
        return fail("out of memory");
    if (nw_auth_load(&auth, text, strlen(text), &err) != NW_OK)
        rc = fail("refused: %s", err.msg);
    nw_auth_free(auth);
    free(text);
    return rc;
}

/* Validate, then replace `path` atomically. */
static int save_config(const char *path, const cJSON *arr)
{
    char *text, tmp[4200];
    int fd, rc = 1;

    if (validate_config(arr) != 0)
        return 1;
    if ((text = cJSON_Print(arr)) == NULL)
        return fail("out of memory");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = fail("cannot write %s: %s", tmp, strerror(errno));
    } else {
        size_t len = strlen(text);
        int ok = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
        ok &= close(fd) == 0;
        if (ok && rename(tmp, path) == 0)
            rc = 0;
        else {
            rc = fail("cannot write %s: %s", path, strerror(errno));
            unlink(tmp);
        }
    }
    free(text);
    return rc;
}

static int write_token(const char *out, const char *token)
{
    int fd;
    size_t len = strlen(token);

    if (out == NULL) {
        printf("%s\n", token);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail("cannot create %s: %s (an existing token file is never overwritten)", out, strerror(errno));
    int ok = write(fd, token, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    if ((close(fd) != 0) | !ok) {
        unlink(out);
        return fail("cannot write %s: %s", out, strerror(errno));
    }
    return 0;
}

static int token_add(struct token_opts *o)
{
    char token[NW_AUTH_TOKEN_SIZE], hash[NW_AUTH_HASH_HEX_SIZE];
    struct nw_error err = {0};
    cJSON *arr, *e, *accts;
    int rc = 1;

    if (o->id == NULL || o->role == NULL || (strcmp(o->role, "admin") != 0 && strcmp(o->role, "signer") != 0))
        return token_usage();
    if ((o->n_accounts || o->all_accounts) && strcmp(o->role, "signer") != 0)
        return fail("--account and --all-accounts are for signer tokens");
    if (strcmp(o->role, "signer") == 0 && !o->n_accounts && !o->all_accounts)
        return fail("a signer token needs --account NAME (repeatable) or, to sign for every account, "
                    "--all-accounts");
    if (o->n_accounts && o->all_accounts)
        return fail("--account and --all-accounts together");
    if (o->out && access(o->out, F_OK) == 0)
        return fail("%s exists (an existing token file is never overwritten)", o->out);
    if ((arr = load_config(o->tokens)) == NULL)
        return fail("%s is not a readable tokens file", o->tokens);
    if (nw_auth_token_generate(token, hash, &err) != NW_OK) {
        cJSON_Delete(arr);
        return fail("%s", err.msg);
    }
    e = cJSON_CreateObject();
    cJSON_AddItemToArray(arr, e);
    cJSON_AddStringToObject(e, "id", o->id);
    cJSON_AddStringToObject(e, "role", o->role);
    cJSON_AddStringToObject(e, "sha256", hash);
    if (o->n_accounts) {
        accts = cJSON_AddArrayToObject(e, "accounts");
        for (size_t i = 0; i < o->n_accounts; i++)
            cJSON_AddItemToArray(accts, cJSON_CreateString(o->accounts[i]));
    }
    if (o->all_accounts)
        cJSON_AddTrueToObject(e, "all_accounts");
    /* the token file first: a config entry whose token was lost is useless */
    if (validate_config(arr) == 0 && write_token(o->out, token) == 0) {
        rc = save_config(o->tokens, arr);
        if (rc != 0 && o->out)
            unlink(o->out);
        if (rc == 0 && o->out)
            fprintf(stderr, "nitrowallet-host: token %s (%s) written to %s; restart the host to use it\n", o->id,
                    o->role, o->out);
    }
    nw_wipe(token, sizeof token);
    cJSON_Delete(arr);
    return rc;
}

static int token_remove(struct token_opts *o)
{
    cJSON *arr, *e;
    int i = 0, found = -1, rc;

    if (o->id == NULL)
        return token_usage();
    if ((arr = load_config(o->tokens)) == NULL)
        return fail("%s is not a readable tokens file", o->tokens);
    cJSON_ArrayForEach(e, arr) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (cJSON_IsString(id) && strcmp(id->valuestring, o->id) == 0)
            found = i;
        i++;
    }
    if (found < 0) {
        cJSON_Delete(arr);
        return fail("no token with id %s in %s", o->id, o->tokens);
    }
    cJSON_DeleteItemFromArray(arr, found);
    rc = save_config(o->tokens, arr);
    cJSON_Delete(arr);
    return rc;
}

int nw_host_token_cmd(int argc, char **argv)
{
    struct token_opts o;
    const char *home = getenv("NITROWALLET_HOME");

    memset(&o, 0, sizeof o);
    if (argc < 2)
        return token_usage();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--all-accounts") == 0) {
            o.all_accounts = 1;
            continue;
        }
        if (v == NULL) return token_usage();
        i++;
        if (strcmp(a, "--id") == 0) o.id = v;
        else if (strcmp(a, "--role") == 0) o.role = v;
        else if (strcmp(a, "--tokens") == 0) o.tokens = v;
        else if (strcmp(a, "--out") == 0) o.out = v;
        else if (strcmp(a, "--account") == 0) {
            if (o.n_accounts == MAX_ACCOUNTS) return fail("at most %d --account flags", MAX_ACCOUNTS);
            o.accounts[o.n_accounts++] = v;
        }
        else return token_usage();
    }
    if (o.tokens == NULL) {
        snprintf(o.tokens_buf, sizeof o.tokens_buf, "%.4000s/tokens.json", home && *home ? home : ".nitrowallet");
        o.tokens = o.tokens_buf;
    }
    if (strlen(o.tokens) > 4000)
        return token_usage();
    if (strcmp(argv[1], "add") == 0)
        return token_add(&o);
    if (strcmp(argv[1], "remove") == 0)
        return token_remove(&o);
    return token_usage();
}
