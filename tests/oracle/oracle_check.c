/*
 * oracle_check.c - compare nitrowallet with an independent implementation.
 *
 * Reads JSON lines (from stdin, or from the files named as arguments) as
 * tests/oracle/gen.mjs and tests/oracle/convert_published.mjs write them:
 *
 *   {"kind": "tx"|"personal"|"typed"|"keccak"|"digest",
 *    "key": "0x..." (a random TEST key), "address": "0x<EIP-55>",
 *    "input": {...} or "input_json": "<the exact JSON text to parse>",
 *    "expect": {...}}
 *
 * runs the same operation through nitrowallet and compares every result
 * byte for byte.  Each mismatch is reported with the line number, kind and
 * field; the run goes on.  The last line is "N passed, N failed"; the exit
 * status is 1 if anything failed or no case was read, 2 on usage errors.
 *
 * The keys in these files are random test keys, never real ones, so they
 * are printed (labelled TEST KEY) to make a failing case reproducible.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "nitrowallet/eip712.h"
#include "nitrowallet/error.h"
#include "nitrowallet/hex.h"
#include "nitrowallet/keccak.h"
#include "nitrowallet/key.h"
#include "nitrowallet/message.h"
#include "nitrowallet/secret.h"
#include "nitrowallet/tx.h"
#include "nitrowallet/utf8.h"

#define MAX_REPORTED 60  /* failing cases printed in detail; later ones are only counted */
#define SHOW_HEX 160     /* hex digits shown of a long mismatching value */

enum kind { K_TX, K_PERSONAL, K_TYPED, K_KECCAK, K_DIGEST, K_COUNT };
static const char *const kind_names[K_COUNT] = {"tx", "personal", "typed", "keccak", "digest"};

struct tally {
    unsigned long pass, fail;
};

/* State of the case being checked, for reports. */
struct ctx {
    const char *file;
    unsigned long line;
    const char *kind;
    const char *key_hex;    /* TEST key of the case, or NULL */
    const cJSON *case_obj;  /* for extra context (encode_type, source) */
    int failed;             /* this case has at least one mismatch */
    int shown;              /* ... and it is among those printed */
};

static unsigned long n_reported; /* failing cases so far */

static void fail(struct ctx *c, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Record a mismatch; the first MAX_REPORTED failing cases are printed. */
static void fail(struct ctx *c, const char *field, const char *fmt, ...)
{
    if (!c->failed) {
        c->failed = 1;
        n_reported++;
        c->shown = n_reported <= MAX_REPORTED;
        if (c->shown) {
            const cJSON *src = cJSON_GetObjectItemCaseSensitive(c->case_obj, "source");
            printf("MISMATCH %s:%lu kind=%s", c->file, c->line, c->kind);
            if (cJSON_IsString(src))
                printf(" source=\"%s\"", src->valuestring);
            if (c->key_hex)
                printf(" TEST KEY=%s", c->key_hex);
            printf("\n");
            if (strcmp(c->kind, "typed") == 0) {
                const cJSON *ex = cJSON_GetObjectItemCaseSensitive(c->case_obj, "expect");
                const cJSON *et = cJSON_GetObjectItemCaseSensitive(ex, "encode_type");
                if (cJSON_IsString(et))
                    printf("    (ethers encodeType of the primary type: %s)\n", et->valuestring);
            }
        }
    }
    if (!c->shown)
        return;
    printf("    %s: ", field);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void print_hex_window(const char *label, const uint8_t *p, size_t len, size_t from)
{
    static const char digits[] = "0123456789abcdef";
    size_t start = from > 8 ? from - 8 : 0;
    size_t end = len;
    if (len <= SHOW_HEX / 2 || start > len)
        start = 0;
    if (end - start > SHOW_HEX / 2)
        end = start + SHOW_HEX / 2;
    printf("      %s (%zu bytes): %s", label, len, start ? "..." : "0x");
    for (size_t i = start; i < end; i++)
        printf("%c%c", digits[p[i] >> 4], digits[p[i] & 15]);
    printf("%s\n", end < len ? "..." : "");
}

/* Compare bytes; on a difference print both around the first differing byte. */
static void cmp_bytes(struct ctx *c, const char *field, const uint8_t *want, size_t want_len, const uint8_t *got,
                      size_t got_len)
{
    if (want_len == got_len && memcmp(want, got, want_len) == 0)
        return;
    size_t i = 0;
    while (i < want_len && i < got_len && want[i] == got[i])
        i++;
    fail(c, field, "differs from byte %zu on", i);
    if (c->shown) {
        print_hex_window("expected", want, want_len, i);
        print_hex_window("got     ", got, got_len, i);
    }
}

/* --- reading the case ----------------------------------------------------- */

static const cJSON *member(const cJSON *obj, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(obj, name);
}

static const char *str_member(struct ctx *c, const cJSON *obj, const char *name)
{
    const cJSON *v = member(obj, name);
    if (!cJSON_IsString(v) || v->valuestring == NULL) {
        fail(c, name, "missing or not a string in the case line (generator problem)");
        return NULL;
    }
    return v->valuestring;
}

/* Decode the hex string member `name` of `obj` into a new allocation. */
static uint8_t *hex_member(struct ctx *c, const cJSON *obj, const char *name, size_t *len)
{
    const char *s = str_member(c, obj, name);
    if (!s)
        return NULL;
    size_t slen = strlen(s);
    size_t cap = slen / 2 + 1;
    uint8_t *buf = malloc(cap);
    struct nw_error err = {0};
    if (!buf) {
        fail(c, name, "out of memory");
        return NULL;
    }
    if (nw_hex_decode(buf, cap, len, s, slen, &err) != NW_OK) {
        fail(c, name, "expected value is not hex: %s", err.msg);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Decode a hex member that must be exactly n bytes. */
static int hex_member_exact(struct ctx *c, const cJSON *obj, const char *name, uint8_t *out, size_t n)
{
    const char *s = str_member(c, obj, name);
    struct nw_error err = {0};
    if (!s)
        return 0;
    if (nw_hex_decode_exact(out, n, s, strlen(s), &err) != NW_OK) {
        fail(c, name, "expected value is not %zu bytes of hex: %s", n, err.msg);
        return 0;
    }
    return 1;
}

/* Compare `got` with the hex member `name` of `expect`; report as `label`. */
static void cmp_hex_member_as(struct ctx *c, const cJSON *expect, const char *name, const char *label,
                              const uint8_t *got, size_t got_len)
{
    size_t want_len = 0;
    uint8_t *want = hex_member(c, expect, name, &want_len);
    if (want) {
        cmp_bytes(c, label, want, want_len, got, got_len);
        free(want);
    }
}

static void cmp_hex_member(struct ctx *c, const cJSON *expect, const char *name, const uint8_t *got, size_t got_len)
{
    cmp_hex_member_as(c, expect, name, name, got, got_len);
}

static int int_member(struct ctx *c, const cJSON *obj, const char *name, long *out)
{
    const cJSON *v = member(obj, name);
    if (!cJSON_IsNumber(v)) {
        fail(c, name, "missing or not a number in the case line (generator problem)");
        return 0;
    }
    *out = (long)v->valuedouble;
    return 1;
}

static const char *err_text(enum nw_err code, const struct nw_error *err)
{
    static char buf[NW_ERROR_MSG_MAX + 64];
    snprintf(buf, sizeof buf, "%s: %s", nw_err_name(code), err->msg);
    return buf;
}

/* --- the kinds --------------------------------------------------------------- */

static void check_sig(struct ctx *c, const cJSON *expect, const struct nw_sig *sig)
{
    long y;
    cmp_hex_member(c, expect, "r", sig->r, 32);
    cmp_hex_member(c, expect, "s", sig->s, 32);
    if (int_member(c, expect, "yParity", &y) && y != sig->y_parity)
        fail(c, "yParity", "expected %ld got %d", y, sig->y_parity);
}

static void check_tx(struct ctx *c, const cJSON *line, const uint8_t sk[32])
{
    const cJSON *expect = member(line, "expect");
    const char *json = str_member(c, line, "input_json");
    struct nw_tx tx;
    struct nw_signed_tx out;
    struct nw_error err = {0};
    enum nw_err rc;
    uint8_t h[32];
    long type;

    if (!json)
        return;
    memset(&tx, 0, sizeof tx);
    memset(&out, 0, sizeof out);
    if ((rc = nw_tx_parse(&tx, json, strlen(json), &err)) != NW_OK) {
        fail(c, "nw_tx_parse", "refused a valid transaction: %s; input %.300s%s", err_text(rc, &err), json,
             strlen(json) > 300 ? "..." : "");
        return;
    }
    if (int_member(c, expect, "type", &type) && (long)tx.type != type)
        fail(c, "type", "expected %ld got %d (input %.200s)", type, (int)tx.type, json);

    const cJSON *sh = member(expect, "signing_hash");
    if (sh) {
        if ((rc = nw_tx_signing_hash(h, &tx, &err)) != NW_OK)
            fail(c, "nw_tx_signing_hash", "failed: %s", err_text(rc, &err));
        else
            cmp_hex_member(c, expect, "signing_hash", h, 32);
    }

    if ((rc = nw_tx_sign(&out, &tx, sk, &err)) != NW_OK) {
        fail(c, "nw_tx_sign", "failed: %s", err_text(rc, &err));
        nw_tx_free(&tx);
        return;
    }
    cmp_hex_member(c, expect, "raw", out.raw.data, out.raw.len);
    cmp_hex_member(c, expect, "hash", out.hash, 32);
    check_sig(c, expect, &out.sig);

    const char *v = str_member(c, expect, "v");
    if (v) {
        char *end = NULL;
        errno = 0;
        unsigned long long want = strtoull(v, &end, 10);
        if (errno || !end || *end)
            fail(c, "v", "expected value \"%s\" is not a decimal u64", v);
        else if (want != out.v)
            fail(c, "v", "expected %llu got %" PRIu64, want, out.v);
    }

    uint8_t from[20];
    if (hex_member_exact(c, expect, "from", from, 20))
        cmp_bytes(c, "from", from, 20, out.from, 20);

    /* The hash must also be keccak256 of the raw bytes we returned. */
    nw_keccak256(h, out.raw.data, out.raw.len);
    cmp_bytes(c, "hash (vs keccak256(raw))", h, 32, out.hash, 32);

    nw_signed_tx_free(&out);
    nw_tx_free(&tx);
}

static void check_personal(struct ctx *c, const cJSON *line, const uint8_t sk[32])
{
    const cJSON *input = member(line, "input"), *expect = member(line, "expect");
    const cJSON *text = member(input, "text");
    uint8_t *owned = NULL;
    const uint8_t *msg;
    size_t len = 0;
    uint8_t h[32], sig[65];
    struct nw_error err = {0};
    enum nw_err rc;

    if (cJSON_IsString(text)) {
        msg = (const uint8_t *)text->valuestring;
        len = strlen(text->valuestring);
        if (!nw_utf8_valid(msg, len))
            fail(c, "nw_utf8_valid", "rejects valid UTF-8 text of %zu bytes", len);
    } else {
        owned = hex_member(c, input, "hex", &len);
        if (!owned)
            return;
        msg = owned;
    }
    if ((rc = nw_eip191_hash(h, msg, len, &err)) != NW_OK)
        fail(c, "nw_eip191_hash", "failed on %zu bytes: %s", len, err_text(rc, &err));
    else
        cmp_hex_member(c, expect, "hash", h, 32);
    if ((rc = nw_eip191_sign(sig, sk, msg, len, &err)) != NW_OK)
        fail(c, "nw_eip191_sign", "failed on %zu bytes: %s", len, err_text(rc, &err));
    else
        cmp_hex_member(c, expect, "signature", sig, 65);
    free(owned);
}

static void check_typed(struct ctx *c, const cJSON *line, const uint8_t sk[32], const uint8_t addr[20])
{
    const cJSON *expect = member(line, "expect");
    const char *json = str_member(c, line, "input_json");
    struct nw_eip712_hashes hs;
    struct nw_error err = {0};
    struct nw_sig sig;
    uint8_t sig65[65], rec[20];
    enum nw_err rc;

    if (!json)
        return;
    if ((rc = nw_eip712_hash_json(&hs, json, strlen(json), &err)) != NW_OK) {
        fail(c, "nw_eip712_hash_json", "refused valid typed data: %s; input %.400s%s", err_text(rc, &err), json,
             strlen(json) > 400 ? "..." : "");
        return;
    }
    cmp_hex_member(c, expect, "domain_separator", hs.domain_separator, 32);
    cmp_hex_member(c, expect, "struct_hash", hs.struct_hash, 32);
    cmp_hex_member(c, expect, "digest", hs.digest, 32);
    if (c->failed) {
        if (c->shown)
            printf("    input: %.600s%s\n", json, strlen(json) > 600 ? "..." : "");
        return;
    }
    if ((rc = nw_sign_digest(&sig, sk, hs.digest)) != NW_OK) {
        fail(c, "nw_sign_digest", "failed: %s", nw_err_name(rc));
        return;
    }
    nw_sig_to_65(sig65, &sig);
    cmp_hex_member(c, expect, "signature", sig65, 65);
    if ((rc = nw_recover_address(rec, &sig, hs.digest)) != NW_OK)
        fail(c, "nw_recover_address", "failed: %s", nw_err_name(rc));
    else
        cmp_bytes(c, "recovered address", addr, 20, rec, 20);
}

static void check_keccak(struct ctx *c, const cJSON *line)
{
    const cJSON *input = member(line, "input"), *expect = member(line, "expect");
    size_t len = 0;
    uint8_t *msg = hex_member(c, input, "hex", &len);
    uint8_t h[32];
    struct nw_keccak k;

    if (!msg)
        return;
    nw_keccak256(h, msg, len);
    cmp_hex_member(c, expect, "hash", h, 32);

    /* The same bytes absorbed in pieces: one byte at a time, and in three
     * uneven parts, must give the same digest. */
    nw_keccak_init(&k);
    for (size_t i = 0; i < len; i++)
        nw_keccak_update(&k, msg + i, 1);
    nw_keccak_final(&k, h);
    cmp_hex_member_as(c, expect, "hash", "hash (nw_keccak_update byte by byte)", h, 32);
    size_t a = len / 3, b = len - len / 5;
    nw_keccak_init(&k);
    nw_keccak_update(&k, msg, a);
    nw_keccak_update(&k, msg + a, 0);
    nw_keccak_update(&k, msg + a, b - a);
    nw_keccak_update(&k, msg + b, len - b);
    nw_keccak_final(&k, h);
    cmp_hex_member_as(c, expect, "hash", "hash (nw_keccak_update in three parts)", h, 32);
    free(msg);
}

static void check_digest(struct ctx *c, const cJSON *line, const uint8_t sk[32], const uint8_t addr[20])
{
    const cJSON *input = member(line, "input"), *expect = member(line, "expect");
    uint8_t d[32], rec[20];
    struct nw_sig sig;
    enum nw_err rc;

    if (!hex_member_exact(c, input, "digest", d, 32))
        return;
    if ((rc = nw_sign_digest(&sig, sk, d)) != NW_OK) {
        fail(c, "nw_sign_digest", "failed: %s", nw_err_name(rc));
        return;
    }
    check_sig(c, expect, &sig);
    if ((rc = nw_recover_address(rec, &sig, d)) != NW_OK)
        fail(c, "nw_recover_address", "failed: %s", nw_err_name(rc));
    else
        cmp_bytes(c, "recovered address", addr, 20, rec, 20);
}

/* --- driver ------------------------------------------------------------------- */

static struct tally tallies[K_COUNT];
static unsigned long n_bad_lines;

static void check_line(const char *file, unsigned long lineno, const char *text, size_t len, struct nw_secret *sk)
{
    struct ctx c = {file, lineno, "?", NULL, NULL, 0, 0};
    cJSON *line = cJSON_ParseWithLength(text, len);
    int k;

    if (!line || !cJSON_IsObject(line)) {
        n_bad_lines++;
        printf("BAD LINE %s:%lu: not a JSON object (%.80s)\n", file, lineno, text);
        cJSON_Delete(line);
        return;
    }
    c.case_obj = line;
    const cJSON *kind = member(line, "kind");
    for (k = 0; k < K_COUNT; k++)
        if (cJSON_IsString(kind) && strcmp(kind->valuestring, kind_names[k]) == 0)
            break;
    if (k == K_COUNT) {
        n_bad_lines++;
        printf("BAD LINE %s:%lu: unknown kind\n", file, lineno);
        cJSON_Delete(line);
        return;
    }
    c.kind = kind_names[k];

    uint8_t addr[20] = {0};
    const cJSON *key = member(line, "key");
    int have_key = 0;
    if (key) {
        c.key_hex = cJSON_IsString(key) ? key->valuestring : NULL;
        if (hex_member_exact(&c, line, "key", sk->data, 32)) {
            enum nw_err rc = nw_key_address(addr, sk->data);
            if (rc != NW_OK) {
                fail(&c, "nw_key_address", "failed: %s", nw_err_name(rc));
            } else {
                char cs[NW_ADDRESS_STR_SIZE];
                const char *want = str_member(&c, line, "address");
                nw_address_to_checksum(cs, addr);
                if (want && strcmp(want, cs) != 0)
                    fail(&c, "address", "expected %s got %s", want, cs);
                have_key = 1;
            }
        }
    }

    if (k == K_KECCAK) {
        check_keccak(&c, line);
    } else if (!have_key) {
        fail(&c, "key", "case has no usable key");
    } else {
        switch (k) {
        case K_TX: check_tx(&c, line, sk->data); break;
        case K_PERSONAL: check_personal(&c, line, sk->data); break;
        case K_TYPED: check_typed(&c, line, sk->data, addr); break;
        case K_DIGEST: check_digest(&c, line, sk->data, addr); break;
        default: break;
        }
    }
    if (c.failed)
        tallies[k].fail++;
    else
        tallies[k].pass++;
    nw_wipe(sk->data, 32);
    cJSON_Delete(line);
}

static int run_stream(FILE *f, const char *name, struct nw_secret *sk)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long lineno = 0;

    while ((n = getline(&buf, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = '\0';
        if (n == 0)
            continue;
        check_line(name, lineno, buf, (size_t)n, sk);
    }
    int bad = ferror(f);
    if (bad)
        printf("read error on %s\n", name);
    free(buf);
    return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
    struct nw_secret sk;
    enum nw_err rc;
    int io_error = 0;

    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fprintf(stderr, "usage: %s [cases.jsonl ...]   (default: stdin)\n", argv[0]);
        return 2;
    }
    if ((rc = nw_key_init()) != NW_OK) {
        fprintf(stderr, "oracle_check: nw_key_init failed: %s\n", nw_err_name(rc));
        return 1;
    }
    if ((rc = nw_secret_alloc(&sk, 32)) != NW_OK) {
        fprintf(stderr, "oracle_check: nw_secret_alloc failed: %s\n", nw_err_name(rc));
        return 1;
    }
    if (argc <= 1) {
        io_error |= run_stream(stdin, "<stdin>", &sk) != 0;
    } else {
        for (int i = 1; i < argc; i++) {
            FILE *f = strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "r");
            if (!f) {
                printf("cannot open %s: %s\n", argv[i], strerror(errno));
                io_error = 1;
                continue;
            }
            io_error |= run_stream(f, argv[i], &sk) != 0;
            if (f != stdin)
                fclose(f);
        }
    }
    nw_secret_free(&sk);

    unsigned long pass = 0, failed = n_bad_lines;
    printf("oracle_check:");
    for (int k = 0; k < K_COUNT; k++) {
        printf(" %s %lu/%lu%s", kind_names[k], tallies[k].pass, tallies[k].pass + tallies[k].fail,
               k + 1 < K_COUNT ? "," : "\n");
        pass += tallies[k].pass;
        failed += tallies[k].fail;
    }
    if (n_bad_lines)
        printf("oracle_check: %lu unreadable lines\n", n_bad_lines);
    if (n_reported > MAX_REPORTED)
        printf("oracle_check: only the first %d failing cases are shown\n", MAX_REPORTED);
    printf("%lu passed, %lu failed\n", pass, failed);
    if (pass + failed == 0) {
        printf("oracle_check: no cases read\n");
        return 1;
    }
    return (failed || io_error) ? 1 : 0;
}
