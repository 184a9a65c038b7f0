/*
 * devstate.c - files of the emulated NSM's state directory (development
 * only; see devca.h).
 *
 * The directory is created 0700 and refused if group or others may write
 * it or if it belongs to another user.  Files are replaced atomically
 * (write a temporary file, fsync, rename over the name, fsync the
 * directory), so a crash leaves the old file or the new one, never a mix.
 * Processes (and threads) that open the same directory serialise on an
 * flock(2) of a lock file, which the kernel releases if a holder dies.
 * Private files (keys) are created 0600 and refused when readable by group
 * or others.  Trust boundary: the directory is the developer's own; still,
 * nothing follows a symlink at a file name and every read is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devca.h"
#include "nitrowallet/secret.h"

enum nw_err nw_devstate_open_dir(int *dirfd, const char *path, struct nw_error *err)
{
    struct stat st;
    int fd;

    *dirfd = -1;
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return nw_fail(err, NW_ERR_UNAVAILABLE, "emulated NSM: cannot create state directory %s: %s", path,
                       strerror(errno));
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return nw_fail(err, NW_ERR_UNAVAILABLE, "emulated NSM: cannot open state directory %s: %s", path,
                       strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
        close(fd);
        return nw_fail(err, NW_ERR_UNAVAILABLE, "emulated NSM: %s is not a directory", path);
    }
    if (st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
        close(fd);
        return nw_fail(err, NW_ERR_POLICY_DENIED,
                       "emulated NSM: state directory %s must belong to this user and not be writable by others "
                       "(mode %03o)",
                       path, (unsigned)(st.st_mode & 0777));
    }
    *dirfd = fd;
    return NW_OK;
}

enum nw_err nw_devstate_lock(int dirfd, int *lockfd, struct nw_error *err)
{
    int fd = openat(dirfd, NW_DEVCA_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

    *lockfd = -1;
    if (fd < 0)
        return nw_fail(err, NW_ERR_UNAVAILABLE, "emulated NSM: cannot open %s: %s", NW_DEVCA_LOCK_FILE,
                       strerror(errno));
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return nw_fail(err, NW_ERR_UNAVAILABLE, "emulated NSM: cannot lock %s: %s", NW_DEVCA_LOCK_FILE,
                           strerror(e));
        }
    }
    *lockfd = fd;
    return NW_OK;
}

int nw_devstate_exists(int dirfd, const char *name)
{
    struct stat st;
    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

enum nw_err nw_devstate_write(int dirfd, const char *name, const void *p, size_t n, mode_t mode, struct nw_error *err)
{
    char tmp[256];
    int fd, e;

    if (snprintf(tmp, sizeof tmp, ".%s.tmp-%ld", name, (long)getpid()) >= (int)sizeof tmp)
        return nw_fail(err, NW_ERR_INTERNAL, "emulated NSM: file name too long");
    /* A leftover of this pid (a crash) is ours to remove: we hold the lock. */
    (void)unlinkat(dirfd, tmp, 0);
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return nw_fail(err, NW_ERR_UNAVAILABLE, "emulated NSM: cannot create %s: %s", tmp, strerror(errno));
    if (write_all(fd, p, n) != 0 || fsync(fd) != 0) {
        e = errno;
        close(fd);
        goto fail;
    }
    if (close(fd) != 0) {
        e = errno;
        goto fail;
    }
    if (renameat(dirfd, tmp, dirfd, name) != 0) {
        e = errno;
        goto fail;
    }
    if (fsync(dirfd) != 0)
        return nw_fail(err, NW_ERR_UNAVAILABLE, "emulated NSM: cannot sync the state directory: %s", strerror(errno));
    return NW_OK;
fail:
    (void)unlinkat(dirfd, tmp, 0);
    return nw_fail(err, NW_ERR_UNAVAILABLE, "emulated NSM: cannot write %s: %s", name, strerror(e));
}

enum nw_err nw_devstate_read(int dirfd, const char *name, int private_file, struct nw_buf *out, struct nw_error *err)
{
    uint8_t chunk[4096];
    enum nw_err rc = NW_OK;
    struct stat st;
    ssize_t r;
    int fd;

    fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return nw_fail(err, NW_ERR_UNAVAILABLE, "emulated NSM: cannot open %s: %s", name, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)NW_DEVSTATE_FILE_MAX) {
        rc = nw_fail(err, NW_ERR_UNAVAILABLE, "emulated NSM: %s is not a regular file of at most %u bytes", name,
                     NW_DEVSTATE_FILE_MAX);
        goto out;
    }
    if (private_file && (st.st_uid != geteuid() || (st.st_mode & 077) != 0)) {
        rc = nw_fail(err, NW_ERR_POLICY_DENIED, "emulated NSM: %s must be private to this user (mode %03o)", name,
                     (unsigned)(st.st_mode & 0777));
        goto out;
    }
    for (;;) {
        r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = nw_fail(err, NW_ERR_UNAVAILABLE, "emulated NSM: cannot read %s: %s", name, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        if (nw_buf_append(out, chunk, (size_t)r) != NW_OK) {
            rc = nw_fail(err, NW_ERR_TOO_LARGE, "emulated NSM: %s exceeds %u bytes", name, NW_DEVSTATE_FILE_MAX);
            goto out;
        }
    }
out:
    nw_wipe(chunk, sizeof chunk);
    close(fd);
    return rc;
}
