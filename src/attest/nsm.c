/*
 * nsm.c - the Nitro Secure Module front and its real device.
 *
 * Every call encodes one request (nsm_codec.c), passes it to the backend,
 * decodes the reply and checks that it answers the request: an Error reply
 * becomes an nw_err with the NSM's own code in the message.  The device
 * backend follows the Linux driver's ABI (include/uapi/linux/nsm.h, also
 * src/driver/mod.rs of aws/aws-nitro-enclaves-nsm-api): one
 * ioctl(NSM_IOCTL_RAW = _IOWR(0x0A, 0, struct nsm_raw)) per message, the
 * struct holding a request and a response iovec as two u64 pairs; the
 * driver copies at most the response capacity (0x3000) and stores the reply
 * length back in response.len.
 *
 * Nothing here falls back from the device to the emulation: the emulated
 * NSM (nsm_emulated.c) is reached only through nw_nsm_open_emulated().
 * Trust boundary: inside the enclave; the device's replies are parsed with
 * the bounded decoder.  GetRandom replies are wiped after use.
 */
#include "nitrowallet/nsm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ioctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nitrowallet/nsm_codec.h"
#include "nitrowallet/secret.h"
#include "nsm_impl.h"

struct nw_nsm {
    const struct nw_nsm_backend *backend;
    void *ctx;
    int emulated;
};

/* --- the device ------------------------------------------------------------- */

#define NSM_DEV_DEFAULT "/dev/nsm"
#define NSM_IOCTL_MAGIC 0x0A

struct nsm_raw_iovec {
    uint64_t addr;
    uint64_t len;
};

struct nsm_raw {
    struct nsm_raw_iovec request;
    struct nsm_raw_iovec response;
};

_Static_assert(sizeof(struct nsm_raw) == 32, "struct nsm_raw is four u64");
#define NSM_IOCTL_RAW _IOWR(NSM_IOCTL_MAGIC, 0x0, struct nsm_raw)
/* Read-write (3 << 30) | size 32 << 16 | magic 0x0A << 8 | number 0. */
_Static_assert(NSM_IOCTL_RAW == 0xc0200a00u, "NSM ioctl number");

struct nsm_device {
    int fd;
};

static enum nw_err device_transact(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp, size_t cap,
                                   size_t *resp_len, struct nw_error *err)
{
    struct nsm_device *dev = ctx;
    struct nsm_raw raw;
    int r, tries = 0;

    do {
        memset(&raw, 0, sizeof raw);
        raw.request.addr = (uint64_t)(uintptr_t)req;
        raw.request.len = req_len;
        raw.response.addr = (uint64_t)(uintptr_t)resp;
        raw.response.len = cap;
        r = ioctl(dev->fd, NSM_IOCTL_RAW, &raw);
    } while (r < 0 && errno == EINTR && ++tries < 8);
    if (r < 0) {
        if (errno == EMSGSIZE)
            return nw_fail(err, NW_ERR_TOO_LARGE, "NSM: request of %zu bytes refused by the driver", req_len);
        return nw_fail(err, NW_ERR_UNAVAILABLE, "NSM: ioctl failed: %s", strerror(errno));
    }
    if (raw.response.len > cap)
        return nw_fail(err, NW_ERR_INTERNAL, "NSM: driver reported a %llu-byte reply for a %zu-byte buffer",
                       (unsigned long long)raw.response.len, cap);
    *resp_len = (size_t)raw.response.len;
    return NW_OK;
}

static void device_close(void *ctx)
{
    struct nsm_device *dev = ctx;
    if (dev == NULL)
        return;
    if (dev->fd >= 0)
        close(dev->fd);
    free(dev);
}

static const struct nw_nsm_backend device_backend = {"device", device_transact, device_close};

enum nw_err nw_nsm_open_device(struct nw_nsm **out, const char *path, struct nw_error *err)
{
    struct nsm_device *dev;
    struct stat st;

    *out = NULL;
    if (path == NULL)
        path = NSM_DEV_DEFAULT;
    dev = malloc(sizeof *dev);
    if (dev == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "NSM: out of memory");
    dev->fd = open(path, O_RDWR | O_CLOEXEC);
    if (dev->fd < 0) {
        int e = errno;
        free(dev);
        return nw_fail(err, NW_ERR_UNAVAILABLE, "NSM: cannot open %s: %s (not inside a Nitro Enclave?)", path,
                       strerror(e));
    }
    if (fstat(dev->fd, &st) != 0 || !S_ISCHR(st.st_mode)) {
        device_close(dev);
        return nw_fail(err, NW_ERR_UNAVAILABLE, "NSM: %s is not a character device", path);
    }
    return nw_nsm_wrap(out, &device_backend, dev, 0, err);
}

/* --- the front ------------------------------------------------------------- */

enum nw_err nw_nsm_wrap(struct nw_nsm **out, const struct nw_nsm_backend *backend, void *ctx, int emulated,
                        struct nw_error *err)
{
    struct nw_nsm *nsm = malloc(sizeof *nsm);

    *out = NULL;
    if (nsm == NULL) {
        backend->close(ctx);
        return nw_fail(err, NW_ERR_NOMEM, "NSM: out of memory");
    }
    nsm->backend = backend;
    nsm->ctx = ctx;
    nsm->emulated = emulated;
    *out = nsm;
    return NW_OK;
}

void nw_nsm_close(struct nw_nsm *nsm)
{
    if (nsm == NULL)
        return;
    nsm->backend->close(nsm->ctx);
    free(nsm);
}

int nw_nsm_is_emulated(const struct nw_nsm *nsm)
{
    return nsm != NULL && nsm->emulated;
}

/*
 * One round trip: encode `req`, transact into `rbuf` (NW_NSM_RESPONSE_MAX
 * bytes), decode into `resp` (pointing into rbuf) and check it answers.
 */
static enum nw_err call(struct nw_nsm *nsm, const struct nw_nsm_request *req, uint8_t *rbuf,
                        struct nw_nsm_response *resp, struct nw_error *err)
{
    struct nw_error derr = {0};
    struct nw_buf q;
    size_t rlen = 0;
    enum nw_err rc;

    nw_buf_init(&q, NW_NSM_REQUEST_MAX);
    NW_GUARD(nw_nsm_request_encode(&q, req, err));
    NW_GUARD(nsm->backend->transact(nsm->ctx, q.data, q.len, rbuf, NW_NSM_RESPONSE_MAX, &rlen, err));
    if (nw_nsm_response_decode(resp, rbuf, rlen, &derr) != NW_OK) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "NSM (%s) reply malformed: %s", nsm->backend->name, derr.msg);
        goto out;
    }
    NW_GUARD(nw_nsm_response_expect(resp, req->op, err));
out:
    nw_buf_free(&q);
    return rc;
}

enum nw_err nw_nsm_attest(struct nw_nsm *nsm, struct nw_buf *doc, const uint8_t *user_data, size_t user_data_len,
                          const uint8_t *nonce, size_t nonce_len, const uint8_t *public_key, size_t public_key_len,
                          struct nw_error *err)
{
    struct nw_nsm_request req = {0};
    struct nw_nsm_response resp;
    uint8_t *rbuf;
    enum nw_err rc;

    if ((user_data == NULL && user_data_len) || (nonce == NULL && nonce_len) || (public_key == NULL && public_key_len))
        return nw_fail(err, NW_ERR_BAD_REQUEST, "NSM attestation: a NULL field with a length");
    req.op = NW_NSM_OP_ATTESTATION;
    req.user_data = user_data, req.user_data_len = user_data_len;
    req.nonce = nonce, req.nonce_len = nonce_len;
    req.public_key = public_key, req.public_key_len = public_key_len;
    rbuf = malloc(NW_NSM_RESPONSE_MAX);
    if (rbuf == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "NSM: out of memory");
    NW_GUARD(call(nsm, &req, rbuf, &resp, err));
    if (resp.len == 0) {
        rc = nw_fail(err, NW_ERR_INTERNAL, "NSM returned an empty attestation document");
        goto out;
    }
    rc = nw_buf_append(doc, resp.data, resp.len);
    if (rc != NW_OK)
        rc = nw_fail(err, rc, "NSM attestation: document of %zu bytes does not fit the buffer", resp.len);
out:
    free(rbuf);
    return rc;
}

enum nw_err nw_nsm_get_random(struct nw_nsm *nsm, uint8_t *buf, size_t len, struct nw_error *err)
{
    struct nw_nsm_request req = {.op = NW_NSM_OP_GET_RANDOM};
    struct nw_nsm_response resp;
    enum nw_err rc = NW_OK;
    uint8_t *rbuf;
    size_t done = 0, n;

    rbuf = malloc(NW_NSM_RESPONSE_MAX);
    if (rbuf == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "NSM: out of memory");
    while (done < len) {
        NW_GUARD(call(nsm, &req, rbuf, &resp, err));
        if (resp.len == 0) {
            rc = nw_fail(err, NW_ERR_RANDOM, "NSM GetRandom returned no bytes");
            goto out;
        }
        n = resp.len < len - done ? resp.len : len - done;
        memcpy(buf + done, resp.data, n);
        done += n;
    }
out:
    nw_wipe(rbuf, NW_NSM_RESPONSE_MAX);
    free(rbuf);
    if (rc != NW_OK)
        nw_wipe(buf, len);
    return rc;
}

enum nw_err nw_nsm_describe_pcr(struct nw_nsm *nsm, unsigned index, uint8_t *value, size_t cap, size_t *len,
                                int *locked, struct nw_error *err)
{
    struct nw_nsm_request req = {.op = NW_NSM_OP_DESCRIBE_PCR};
    struct nw_nsm_response resp;
    uint8_t *rbuf;
    enum nw_err rc;

    if (index > NW_NSM_MAX_PCR_INDEX)
        return nw_fail(err, NW_ERR_BAD_REQUEST, "NSM DescribePCR: index %u out of range", index);
    req.index = index;
    rbuf = malloc(NW_NSM_RESPONSE_MAX);
    if (rbuf == NULL)
        return nw_fail(err, NW_ERR_NOMEM, "NSM: out of memory");
    NW_GUARD(call(nsm, &req, rbuf, &resp, err));
    if (resp.len > cap) {
        rc = nw_fail(err, NW_ERR_TOO_LARGE, "NSM DescribePCR: PCR%u has %zu bytes, buffer holds %zu", index, resp.len,
                     cap);
        goto out;
    }
    if (resp.len)
        memcpy(value, resp.data, resp.len);
    *len = resp.len;
    *locked = resp.lock;
out:
    free(rbuf);
    return rc;
}
