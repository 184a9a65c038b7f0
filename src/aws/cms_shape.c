/*
 * cms_shape.c - the parts of a CiphertextForRecipient's BER (RFC 5652,
 * X.690) that OpenSSL's CMS API neither exposes nor checks, walked over the
 * raw bytes before OpenSSL decodes them:
 *
 *   ContentInfo SEQUENCE { contentType OID, [0] EnvelopedData SEQUENCE {
 *     version INTEGER 2, -- no [0] originatorInfo --
 *     recipientInfos SET { KeyTransRecipientInfo SEQUENCE { version 2, ... } },
 *     encryptedContentInfo SEQUENCE { OID,
 *       AlgorithmIdentifier { aes256-CBC, IV OCTET STRING (16) },
 *       [0] encryptedContent: primitive, or constructed of OCTET STRINGs } ...
 *
 * (OpenSSL reads any INTEGER as the version and, in a constructed string,
 * collects chunks of any tag.)  This is what lets nw_cms_open promise that
 * no byte of the structure can change unnoticed, and it refuses a content
 * cipher other than AES-256-CBC before the private key is used.
 *
 * Trust boundary: untrusted bytes.  Only the low-tag-number form is read,
 * lengths are checked against the bytes present before use, indefinite
 * lengths only on constructed encodings, nesting depth bounded.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cms_internal.h"

#define MAX_DEPTH 16

struct ber {
    const uint8_t *p;
    size_t len;
    size_t pos;
};

/* One identifier octet and length; *indef for the indefinite form. */
static int header(struct ber *b, uint8_t *tag, size_t *len, int *indef)
{
    size_t i, n;
    uint8_t l;

    *len = 0;
    *indef = 0;
    if (b->len - b->pos < 2 || (b->p[b->pos] & 0x1f) == 0x1f)
        return 0;
    *tag = b->p[b->pos];
    l = b->p[b->pos + 1];
    b->pos += 2;
    if (l == 0x80) {
        *indef = 1;
        return (*tag & 0x20) != 0;
    }
    if (l < 0x80) {
        *len = l;
    } else {
        n = l & 0x7fu;
        if (n == 0 || n > 3 || b->len - b->pos < n)
            return 0;
        for (i = 0; i < n; i++)
            *len = (*len << 8) | b->p[b->pos++];
    }
    return *len <= b->len - b->pos;
}

static int expect(struct ber *b, uint8_t want, size_t *len, int *indef)
{
    uint8_t tag;
    return header(b, &tag, len, indef) && tag == want;
}

static int at_eoc(struct ber *b)
{
    if (b->len - b->pos >= 2 && b->p[b->pos] == 0 && b->p[b->pos + 1] == 0) {
        b->pos += 2;
        return 1;
    }
    return 0;
}

/* Skip one element, whatever it is. */
static int skip(struct ber *b, int depth)
{
    uint8_t tag;
    size_t len;
    int indef;

    if (depth > MAX_DEPTH || !header(b, &tag, &len, &indef))
        return 0;
    if (!indef) {
        b->pos += len;
        return 1;
    }
    while (!at_eoc(b))
        if (!skip(b, depth + 1))
            return 0;
    return 1;
}

/* INTEGER 2. */
static int version_2(struct ber *b)
{
    size_t len;
    int indef;

    if (!expect(b, 0x02, &len, &indef) || len != 1 || b->p[b->pos] != 2)
        return 0;
    b->pos++;
    return 1;
}

/* AlgorithmIdentifier { id-aes256-CBC (RFC 3565), IV of 16 bytes }. */
static int aes256_cbc(struct ber *b)
{
    static const uint8_t oid[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a};
    size_t len, n, start;
    int indef, unused;

    if (!expect(b, 0x30, &len, &indef))
        return 0;
    start = b->pos;
    if (!expect(b, 0x06, &n, &unused) || n != sizeof oid || memcmp(b->p + b->pos, oid, n) != 0)
        return 0;
    b->pos += n;
    if (!expect(b, 0x04, &n, &unused) || n != 16)
        return 0;
    b->pos += n;
    return indef ? at_eoc(b) : b->pos == start + len;
}

/* [0] encryptedContent: primitive, or constructed of OCTET STRING chunks. */
static int content(struct ber *b)
{
    uint8_t tag;
    size_t len, end, n;
    int indef, chunk_indef;

    if (!header(b, &tag, &len, &indef))
        return 0;
    if (tag == 0x80) {
        b->pos += len;
        return 1;
    }
    if (tag != 0xa0)
        return 0;
    end = b->pos + len;
    for (;;) {
        if (!indef && b->pos > end)
            return 0;
        if (indef ? at_eoc(b) : b->pos == end)
            return 1;
        if (!expect(b, 0x04, &n, &chunk_indef) || (!indef && n > end - b->pos))
            return 0;
        b->pos += n;
    }
}

enum nw_err nw_cms_check_shape(const uint8_t *der, size_t len, struct nw_error *err)
{
    struct ber b = {der, len, 0};
    size_t n, set_start;
    int indef, ok;

    ok = expect(&b, 0x30, &n, &indef) && expect(&b, 0x06, &n, &indef);
    if (ok)
        b.pos += n;
    ok = ok && expect(&b, 0xa0, &n, &indef) && expect(&b, 0x30, &n, &indef) && version_2(&b);
    set_start = b.pos;
    ok = ok && expect(&b, 0x31, &n, &indef) && expect(&b, 0x30, &n, &indef) && version_2(&b);
    if (!ok)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: want EnvelopedData v2 without originatorInfo and "
                                                "KeyTransRecipientInfo v2");
    b.pos = set_start;
    ok = skip(&b, 0) && expect(&b, 0x30, &n, &indef) && expect(&b, 0x06, &n, &indef);
    if (ok)
        b.pos += n;
    if (!ok)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: malformed encryptedContentInfo");
    if (!aes256_cbc(&b))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: content encryption is not AES-256-CBC");
    if (!content(&b))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "cms: malformed encryptedContent");
    return NW_OK;
}
