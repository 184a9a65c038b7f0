/*
 * jsonw.c - the JSON writer nitrowallet-kms answers with (RFC 8259).
 *
 * Replies can carry plaintext data keys (base64), so they are written
 * straight into a struct nw_buf, which wipes what it frees, rather than
 * through cJSON's heap strings.  Separators are inferred from the last byte
 * written (no whitespace is ever emitted), so callers just write keys and
 * values in order.  Strings that are not valid UTF-8 (they can only come
 * from HTTP headers) have their non-ASCII bytes replaced by '?'.
 *
 * Trust boundary: output only; inputs are strings the service chose or
 * validated.
 */
#include <stdio.h>
#include <string.h>

#include "kms_internal.h"
#include "nitrowallet/base64.h"
#include "nitrowallet/utf8.h"

void kms_jw_init(struct kms_jw *w, struct nw_buf *b)
{
    w->b = b;
    w->rc = NW_OK;
}

static void put(struct kms_jw *w, const void *p, size_t n)
{
    if (w->rc == NW_OK)
        w->rc = nw_buf_append(w->b, p, n);
}

/* A comma unless this value opens a container or follows a key. */
static void sep(struct kms_jw *w)
{
    uint8_t last;

    if (w->b->len == 0)
        return;
    last = w->b->data[w->b->len - 1];
    if (last != '{' && last != '[' && last != ':')
        put(w, ",", 1);
}

void kms_jw_open(struct kms_jw *w, char brace)
{
    sep(w);
    put(w, &brace, 1);
}

void kms_jw_close(struct kms_jw *w, char brace)
{
    put(w, &brace, 1);
}

void kms_jw_strn(struct kms_jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int utf8 = nw_utf8_valid((const uint8_t *)s, n);
    size_t run = 0;

    sep(w);
    put(w, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
        if (ch >= 0x20 && ch != '"' && ch != '\\' && (ch < 0x80 || utf8))
            continue;
        put(w, s + run, i - run);
        run = i + 1;
        if (ch == '"' || ch == '\\') {
            char two[2] = {'\\', (char)ch};
            put(w, two, 2);
        } else if (ch >= 0x80) {
            put(w, "?", 1);
        } else {
            put(w, esc, sizeof esc);
        }
    }
    put(w, s + run, n - run);
    put(w, "\"", 1);
}

void kms_jw_str(struct kms_jw *w, const char *s)
{
    kms_jw_strn(w, s, strlen(s));
}

void kms_jw_key(struct kms_jw *w, const char *key)
{
    kms_jw_str(w, key);
    put(w, ":", 1);
}

void kms_jw_kstr(struct kms_jw *w, const char *key, const char *s)
{
    kms_jw_key(w, key);
    kms_jw_str(w, s);
}

void kms_jw_int(struct kms_jw *w, long long v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", v);

    sep(w);
    put(w, num, (size_t)n);
}

void kms_jw_bool(struct kms_jw *w, int v)
{
    sep(w);
    if (v)
        put(w, "true", 4);
    else
        put(w, "false", 5);
}

void kms_jw_date(struct kms_jw *w, int64_t ms)
{
    char num[32];
    int n;

    if (ms < 0)
        ms = 0;
    n = snprintf(num, sizeof num, "%lld.%03d", (long long)(ms / 1000), (int)(ms % 1000));
    sep(w);
    put(w, num, (size_t)n);
}

void kms_jw_b64(struct kms_jw *w, const uint8_t *p, size_t n)
{
    /* 48 input bytes -> 64 characters per chunk; chunks of a multiple of
     * three bytes concatenate to the encoding of the whole. */
    char chunk[NW_BASE64_SIZE(48)];

    sep(w);
    put(w, "\"", 1);
    while (n > 0 && w->rc == NW_OK) {
        size_t take = n > 48 ? 48 : n;
        if (nw_base64_encode(chunk, sizeof chunk, p, take) != NW_OK) {
            w->rc = NW_ERR_INTERNAL;
            break;
        }
        put(w, chunk, strlen(chunk));
        p += take;
        n -= take;
    }
    nw_wipe(chunk, sizeof chunk);
    put(w, "\"", 1);
}
