/*
 * test_kms_proxy.c - the host's KMS proxy (kms_proxy.h) and the listening
 * specs it uses (transport.h): "vsock:PORT" parsed to AF_VSOCK on
 * VMADDR_CID_ANY (no vsock here to bind: the parse is what can be checked),
 * unix and tcp specs, the --kms-proxy LISTEN=HOST:PORT split, HOST:PORT
 * validation, the allowlist match, a remote off the allowlist refused before
 * anything listens, and one relay over a real unix socket to a TCP peer with
 * the half-close and the byte counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "nitrowallet/kms_proxy.h"
#include "nitrowallet/transport.h"

static void test_listen_vsock_spec(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int family;
    struct nw_error err = {0};
    const struct sockaddr_vm *svm = (const struct sockaddr_vm *)&ss;

    (void)state;
    assert_int_equal(nw_transport_listen_addr(&ss, &len, &family, "vsock:8000", &err), NW_OK);
    assert_int_equal(family, AF_VSOCK);
    assert_int_equal(len, sizeof(struct sockaddr_vm));
    assert_int_equal(svm->svm_cid, VMADDR_CID_ANY);
    assert_int_equal(svm->svm_port, 8000);
    assert_int_equal(nw_transport_listen_addr(&ss, &len, &family, "vsock:4294967294", &err), NW_OK);
    assert_int_equal(svm->svm_port, 4294967294u);
    static const char *bad[] = {"vsock:0",  "vsock:4294967295", "vsock:",     "vsock:-1",       "vsock:08000",
                                "vsock:+8", "vsock:3:8000",     "vsock:8000 ", "vsock:99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(nw_transport_listen_addr(&ss, &len, &family, bad[i], &err), NW_ERR_BAD_REQUEST);
        assert_int_equal(family, AF_UNSPEC);
    }
}

static void test_listen_unix_tcp_specs(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int family;
    struct nw_error err = {0};
    char longpath[200];

    (void)state;
    assert_int_equal(nw_transport_listen_addr(&ss, &len, &family, "unix:/tmp/x.sock", &err), NW_OK);
    assert_int_equal(family, AF_UNIX);
    assert_string_equal(((struct sockaddr_un *)&ss)->sun_path, "/tmp/x.sock");
    assert_int_equal(nw_transport_listen_addr(&ss, &len, &family, "tcp:127.0.0.1:0", &err), NW_OK);
    assert_int_equal(family, AF_INET);
    assert_int_equal(nw_transport_listen_addr(&ss, &len, &family, "tcp:127.0.0.1:8000", &err), NW_OK);
    assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8000);
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    memcpy(longpath, "unix:/", 6);
    static const char *bad[] = {"unix:", "tcp:localhost:80", "tcp:127.0.0.1:65536", "tcp:127.0.0.1", "tcp::80",
                                "udp:1.2.3.4:5", "8000", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(nw_transport_listen_addr(&ss, &len, &family, bad[i], &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_transport_listen_addr(&ss, &len, &family, longpath, &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_transport_listen_addr(&ss, &len, &family, NULL, &err), NW_ERR_BAD_REQUEST);
}

static void test_split_arg(void **state)
{
    char l[64], r[64];
    struct nw_error err = {0};

    (void)state;
    assert_int_equal(nw_kms_proxy_split_arg(l, sizeof l, r, sizeof r, "vsock:8000=kms.us-east-1.amazonaws.com:443",
                                            &err), NW_OK);
    assert_string_equal(l, "vsock:8000");
    assert_string_equal(r, "kms.us-east-1.amazonaws.com:443");
    assert_int_equal(nw_kms_proxy_split_arg(l, sizeof l, r, sizeof r, "vsock:8000", &err), NW_OK);
    assert_string_equal(l, "vsock:8000");
    assert_string_equal(r, "");
    /* the last '=' splits: a unix path may contain '=' */
    assert_int_equal(nw_kms_proxy_split_arg(l, sizeof l, r, sizeof r, "unix:/a=b.sock=h:1", &err), NW_OK);
    assert_string_equal(l, "unix:/a=b.sock");
    assert_string_equal(r, "h:1");
    assert_int_equal(nw_kms_proxy_split_arg(l, sizeof l, r, sizeof r, "vsock:8000=", &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_kms_proxy_split_arg(l, sizeof l, r, sizeof r, "=h:1", &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_kms_proxy_split_arg(l, 8, r, sizeof r, "vsock:8000=h:1", &err), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_kms_proxy_split_arg(l, sizeof l, r, 3, "vsock:8000=h:1", &err), NW_ERR_BAD_REQUEST);
}

static void test_hostport_and_allowlist(void **state)
{
    struct nw_error err = {0};
    const char *allow[] = {"kms.us-east-1.amazonaws.com:443", "127.0.0.1:4000", "[::1]:443"};

    (void)state;
    static const char *good[] = {"kms.us-east-1.amazonaws.com:443", "127.0.0.1:1", "[::1]:65535", "a:80"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(nw_kms_proxy_check_hostport(good[i], &err), NW_OK);
    static const char *bad[] = {"kms.amazonaws.com",   "kms.amazonaws.com:0", "kms.amazonaws.com:65536",
                                "kms.amazonaws.com:0443", ":443",           "a b:443",
                                "::1:443",             "[::1]443",            "[]:443",
                                "h:443 ",              "h:-1",                "h_x:443"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(nw_kms_proxy_check_hostport(bad[i], &err), NW_ERR_BAD_REQUEST);
    assert_true(nw_kms_proxy_allowed("KMS.us-east-1.amazonaws.com:443", allow, 3));
    assert_true(nw_kms_proxy_allowed("127.0.0.1:4000", allow, 3));
    assert_true(nw_kms_proxy_allowed("[::1]:443", allow, 3));
    assert_false(nw_kms_proxy_allowed("kms.us-east-1.amazonaws.com:444", allow, 3));
    assert_false(nw_kms_proxy_allowed("kms.us-west-2.amazonaws.com:443", allow, 3));
    assert_false(nw_kms_proxy_allowed("127.0.0.1:40000", allow, 3));
    assert_false(nw_kms_proxy_allowed("127.0.0.1:4000", allow, 0));
}

static void tmp_sock(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "/tmp/nw-test-proxy-%ld-%s.sock", (long)getpid(), name);
}

static void test_refused_before_listening(void **state)
{
    struct nw_kms_proxy *p = (struct nw_kms_proxy *)1;
    struct nw_error err = {0};
    char path[108], spec[120];
    struct stat st;
    const char *allow[] = {"kms.us-east-1.amazonaws.com:443"};
    struct nw_kms_proxy_config cfg = {.listen = spec, .remote = "127.0.0.1:4000", .allow = allow, .n_allow = 1};

    (void)state;
    tmp_sock(path, sizeof path, "refused");
    snprintf(spec, sizeof spec, "unix:%s", path);
    assert_int_equal(nw_kms_proxy_start(&p, &cfg, &err), NW_ERR_POLICY_DENIED);
    assert_null(p);
    assert_non_null(strstr(err.msg, "127.0.0.1:4000 is not on the allowlist"));
    assert_int_not_equal(stat(path, &st), 0);
    cfg.remote = "kms.us-east-1.amazonaws.com:443";
    allow[0] = "not a host:443";
    assert_int_equal(nw_kms_proxy_start(&p, &cfg, &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "allowlist entry 1"));
}

static int tcp_listener(unsigned *port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

static void read_exact(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
}

static void test_relay_half_close_and_counters(void **state)
{
    struct nw_kms_proxy *p = NULL;
    struct nw_kms_proxy_stats st;
    struct nw_error err = {0};
    char path[108], spec[120], remote[32], buf[64];
    unsigned port;
    int lfd = tcp_listener(&port), cfd, sfd;
    const char *allow[1] = {remote};
    struct nw_kms_proxy_config cfg = {.listen = spec, .remote = remote, .allow = allow, .n_allow = 1};

    (void)state;
    tmp_sock(path, sizeof path, "relay");
    snprintf(spec, sizeof spec, "unix:%s", path);
    snprintf(remote, sizeof remote, "127.0.0.1:%u", port);
    assert_int_equal(nw_kms_proxy_start(&p, &cfg, &err), NW_OK);
    assert_int_equal(nw_transport_connect(&cfd, spec, &err), NW_OK);
    sfd = accept(lfd, NULL, NULL); /* the proxy's connection to the "KMS" */
    assert_true(sfd >= 0);
    assert_int_equal(write(cfd, "hello kms", 9), 9);
    read_exact(sfd, buf, 9);
    assert_memory_equal(buf, "hello kms", 9);
    assert_int_equal(shutdown(cfd, SHUT_WR), 0); /* the client's FIN must reach the remote */
    assert_int_equal(read(sfd, buf, sizeof buf), 0);
    assert_int_equal(write(sfd, "reply", 5), 5); /* ... while the other direction still flows */
    read_exact(cfd, buf, 5);
    assert_memory_equal(buf, "reply", 5);
    close(sfd);
    assert_int_equal(read(cfd, buf, sizeof buf), 0);
    close(cfd);
    for (int i = 0; i < 500; i++) { /* the relay thread ends after both EOFs */
        nw_kms_proxy_stats(p, &st);
        if (st.active == 0)
            break;
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    assert_int_equal(st.active, 0);
    assert_int_equal(st.connections, 1);
    assert_int_equal(st.bytes_to_remote, 9);
    assert_int_equal(st.bytes_from_remote, 5);
    assert_int_equal(st.refused + st.idle_closed + st.connect_failures, 0);
    nw_kms_proxy_stop(p);
    assert_int_not_equal(access(path, F_OK), 0); /* the socket file is removed */
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_vsock_spec),
        cmocka_unit_test(test_listen_unix_tcp_specs),
        cmocka_unit_test(test_split_arg),
        cmocka_unit_test(test_hostport_and_allowlist),
        cmocka_unit_test(test_refused_before_listening),
        cmocka_unit_test(test_relay_half_close_and_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
