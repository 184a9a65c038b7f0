/*
 * sigv4_req.h - test helpers for test_sigv4*.c: read the request files of the
 * AWS SigV4 test suites (tests/data/sigv4/, see tests/data/README.md) into a
 * struct nw_sigv4_request, and hold a mutable copy of one for the mutation
 * tests.
 *
 * File format: "METHOD target HTTP/1.1", then "Name:value" lines, then an
 * optional blank line and the body; lines end in LF.  The target may contain
 * spaces (get-space), so the method ends at the first space and the version
 * starts at the last.  A line starting with a space or tab continues the
 * previous header: the 2015 suite (FOLD_AS_NEW_VALUE) canonicalises it as
 * another value of the same header ("value1,value2,value3"), the aws-c-auth
 * suite (FOLD_AS_SPACE) as the same value folded with a space.
 */
#ifndef NW_TEST_SIGV4_REQ_H
#define NW_TEST_SIGV4_REQ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nitrowallet/sigv4.h"

#define TREQ_TEXT_MAX 16384

enum fold_mode { FOLD_AS_NEW_VALUE, FOLD_AS_SPACE };

struct treq {
    char method[32];
    char path[1024];
    char query[1024];
    struct nw_http_header h[NW_SIGV4_MAX_HEADERS + 2];
    size_t n;
    char store[TREQ_TEXT_MAX]; /* names and values live here */
    size_t used;
    uint8_t body[4096];
    size_t body_len;
};

static inline const char *test_data_dir(void)
{
    const char *d = getenv("NW_TEST_DATA");
    return d ? d : "tests/data";
}

/* Read a whole file into buf (NUL-terminated); -1 if missing or too large. */
static inline long read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (f == NULL)
        return -1;
    n = fread(buf, 1, cap - 1, f);
    if (!feof(f)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    buf[n] = '\0';
    return (long)n;
}

static inline char *treq_keep(struct treq *r, const char *s, size_t n)
{
    char *p;

    if (r->used + n + 1 > sizeof r->store)
        return NULL;
    p = r->store + r->used;
    memcpy(p, s, n);
    p[n] = '\0';
    r->used += n + 1;
    return p;
}

static inline int treq_add(struct treq *r, const char *name, size_t nlen, const char *value, size_t vlen)
{
    char *np, *vp;

    if (r->n >= sizeof r->h / sizeof r->h[0] || (np = treq_keep(r, name, nlen)) == NULL ||
        (vp = treq_keep(r, value, vlen)) == NULL)
        return -1;
    r->h[r->n].name = np;
    r->h[r->n].name_len = nlen;
    r->h[r->n].value = vp;
    r->h[r->n].value_len = vlen;
    r->n++;
    return 0;
}

/* Extend the last header's value with " " + more (aws-c-auth folding). */
static inline int treq_fold(struct treq *r, const char *more, size_t n)
{
    struct nw_http_header *last = &r->h[r->n - 1];
    size_t old = last->value_len;
    char *p;

    if ((size_t)(last->value - r->store) + old + 1 != r->used || r->used + n + 1 > sizeof r->store)
        return -1; /* only the most recent value can grow in place */
    p = (char *)last->value;
    p[old] = ' ';
    memcpy(p + old + 1, more, n);
    p[old + 1 + n] = '\0';
    last->value_len = old + 1 + n;
    r->used += n + 1;
    return 0;
}

static inline int treq_request_line(struct treq *r, const char *line, size_t len)
{
    const char *sp1 = memchr(line, ' ', len), *sp2 = line + len, *q;
    size_t tlen;

    while (sp2 > line && sp2[-1] != ' ')
        sp2--;
    if (sp1 == NULL || sp2 <= sp1 + 1 || (size_t)(sp1 - line) >= sizeof r->method)
        return -1;
    memcpy(r->method, line, (size_t)(sp1 - line));
    r->method[sp1 - line] = '\0';
    tlen = (size_t)(sp2 - 1 - (sp1 + 1));
    q = memchr(sp1 + 1, '?', tlen);
    size_t plen = q ? (size_t)(q - (sp1 + 1)) : tlen, qlen = q ? tlen - plen - 1 : 0;
    if (plen >= sizeof r->path || qlen >= sizeof r->query)
        return -1;
    memcpy(r->path, sp1 + 1, plen);
    r->path[plen] = '\0';
    memcpy(r->query, q ? q + 1 : "", qlen);
    r->query[qlen] = '\0';
    return 0;
}

/* Parse the text of a request file; 0 on success. */
static inline int treq_parse(struct treq *r, const char *text, size_t len, enum fold_mode mode)
{
    size_t pos = 0, line_no = 0;

    memset(r, 0, sizeof *r);
    while (pos <= len) {
        const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - line) : len - pos;
        pos += llen + 1;
        if (line_no++ == 0) {
            if (treq_request_line(r, line, llen) != 0)
                return -1;
            continue;
        }
        if (llen == 0) { /* blank line: the body follows */
            if (pos < len) {
                if (len - pos > sizeof r->body)
                    return -1;
                memcpy(r->body, text + pos, len - pos);
                r->body_len = len - pos;
            }
            break;
        }
        if ((line[0] == ' ' || line[0] == '\t') && r->n > 0) {
            const char *v = line;
            size_t vlen = llen;
            while (vlen > 0 && (*v == ' ' || *v == '\t')) {
                v++;
                vlen--;
            }
            if (mode == FOLD_AS_SPACE ? treq_fold(r, v, vlen)
                                      : treq_add(r, r->h[r->n - 1].name, r->h[r->n - 1].name_len, v, vlen))
                return -1;
            continue;
        }
        const char *colon = memchr(line, ':', llen);
        if (colon == NULL || treq_add(r, line, (size_t)(colon - line), colon + 1, llen - (size_t)(colon - line) - 1))
            return -1;
    }
    return 0;
}

static inline int treq_load(struct treq *r, const char *path, enum fold_mode mode)
{
    static char text[TREQ_TEXT_MAX];
    long n = read_file(path, text, sizeof text);

    if (n < 0)
        return -1;
    return treq_parse(r, text, (size_t)n, mode);
}

static inline struct nw_sigv4_request treq_view(const struct treq *r)
{
    struct nw_sigv4_request v = {r->method, r->path, r->query, r->h, r->n, r->body, r->body_len};
    return v;
}

/* Index of the first header named `name` (any case), or -1. */
static inline int treq_find(const struct treq *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->h[i].name_len == strlen(name) && strncasecmp(r->h[i].name, name, r->h[i].name_len) == 0)
            return (int)i;
    return -1;
}

static inline void treq_remove(struct treq *r, int i)
{
    if (i < 0)
        return;
    memmove(&r->h[i], &r->h[i + 1], (r->n - (size_t)i - 1) * sizeof r->h[0]);
    r->n--;
}

/* Replace header i's value (kept in the store). */
static inline int treq_set_value(struct treq *r, int i, const char *v)
{
    char *p = treq_keep(r, v, strlen(v));
    if (p == NULL || i < 0)
        return -1;
    r->h[i].value = p;
    r->h[i].value_len = strlen(v);
    return 0;
}

#endif
