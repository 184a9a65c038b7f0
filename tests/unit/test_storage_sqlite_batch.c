/*
 * test_storage_sqlite_batch.c - group commit in the SQLite backend
 * (storage_sqlite_batch.c): many threads writing at once each get their own
 * row exactly once, with distinct Seq in the order their calls returned;
 * a refused row fails only its own caller; batches are bounded; and a
 * batch really is one transaction (commit counter).  Rows are read back
 * through a separate raw SQLite connection, not through the code under test.
 *
 * To make a batch deterministic the test holds the committer slot itself
 * (sets `committing` as a committing thread would), lets writers queue,
 * then releases it: the next waiter commits everything queued at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include "../../src/host/storage/storage_sqlite_internal.h"
#include "nitrowallet/storage.h"
#include "sqlite_fixture.h"

static int setup(void **state)
{
    struct fixture *f = fixture_open("nw-batch");
    struct nw_error err = {0};
    int exists = 0;

    if (f == NULL)
        return -1;
    char *names[] = {"alice", "bob"}, *addrs[] = {ADDR1, ADDR2};
    for (int i = 0; i < 2; i++) {
        struct nw_account_record a = {
            .name = names[i],
            .kms_key_id = "alias/nitrowallet",
            .address = addrs[i],
            .encrypted_private_key = "AQIDBA==",
            .encrypted_data_key = "AQIDBAUG",
            .policy = "{\"allow_digest\":false}",
            .policy_digest = DIGEST,
            .created_at = TIME,
        };
        if (nw_storage_create_account(f->st, &a, &exists, &err) != NW_OK || exists)
            return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_close(*state);
    return 0;
}

static struct sqlite_storage *internals(struct nw_storage *st)
{
    return (struct sqlite_storage *)st;
}

/* Take the committer slot, as a thread starting a commit does. */
static void hold_commits(struct nw_storage *st)
{
    struct sqlite_storage *s = internals(st);

    pthread_mutex_lock(&s->group_lock);
    assert_int_equal(s->committing, 0);
    s->committing = 1;
    pthread_mutex_unlock(&s->group_lock);
}

static void release_commits(struct nw_storage *st)
{
    struct sqlite_storage *s = internals(st);

    pthread_mutex_lock(&s->group_lock);
    s->committing = 0;
    pthread_cond_broadcast(&s->group_cond);
    pthread_mutex_unlock(&s->group_lock);
}

/* Poll (bounded, 60 s) until `n` writes are queued. */
static void wait_queued(struct nw_storage *st, size_t n)
{
    struct sqlite_storage *s = internals(st);

    for (int tries = 0; tries < 60000; tries++) {
        size_t q = 0;
        pthread_mutex_lock(&s->group_lock);
        for (struct sqlite_write *w = s->head; w != NULL; w = w->next)
            q++;
        pthread_mutex_unlock(&s->group_lock);
        if (q == n)
            return;
        assert_true(q < n);
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    fail_msg("writers did not queue");
}

/* Seq and RequestId of every audit row, in Seq order, via a raw connection. */
struct row {
    long long seq;
    char request_id[64];
    char name[16];
};

static size_t read_rows(const char *path, struct row *rows, size_t max)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    size_t n = 0;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT Seq, RequestId, Name FROM SignedValueTable ORDER BY Seq", -1, &stmt, NULL),
        SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        assert_true(n < max);
        rows[n].seq = sqlite3_column_int64(stmt, 0);
        snprintf(rows[n].request_id, sizeof rows[n].request_id, "%s", (const char *)sqlite3_column_text(stmt, 1));
        snprintf(rows[n].name, sizeof rows[n].name, "%s", (const char *)sqlite3_column_text(stmt, 2));
        n++;
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

struct writer {
    struct nw_storage *st;
    int id, count;
    const char *name;
    enum nw_err rc[64];
    struct nw_error err[64];
};

static void *record_many(void *arg)
{
    struct writer *w = arg;

    for (int i = 0; i < w->count; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "t%03d-%03d", w->id, i);
        struct nw_signed_value_record r = {
            .name = (char *)w->name,
            .kind = "message",
            .transaction = "{\"message\":\"hello\"}",
            .signed_value = "0x0102",
            .tx_hash = "",
            .created_at = TIME,
            .request_id = rid,
        };
        w->rc[i] = nw_storage_record_signed_value(w->st, &r, &w->err[i]);
    }
    return NULL;
}

#define THREADS 32
#define PER_THREAD 40

/* 32 threads at once: every row once, distinct Seq, each thread's rows in
 * the order its calls returned, and fewer commits than rows. */
static void test_concurrent_rows_once_in_order(void **state)
{
    struct fixture *f = *state;
    static struct writer w[THREADS];
    static struct row rows[THREADS * PER_THREAD + 1];
    pthread_t th[THREADS];
    long long last[THREADS];
    unsigned long long commits0, rows0, commits, written;

    nw_sqlite_stats(f->st, &commits0, &rows0);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct writer){.st = f->st, .id = i, .count = PER_THREAD, .name = i % 2 ? "bob" : "alice"};
        assert_int_equal(pthread_create(&th[i], NULL, record_many, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        for (int j = 0; j < PER_THREAD; j++)
            assert_int_equal(w[i].rc[j], NW_OK);
    }
    size_t n = read_rows(f->path, rows, sizeof rows / sizeof rows[0]);
    assert_int_equal(n, THREADS * PER_THREAD);
    for (int i = 0; i < THREADS; i++)
        last[i] = -1;
    for (size_t k = 0; k < n; k++) {
        int t = -1, j = -1;
        assert_int_equal(sscanf(rows[k].request_id, "t%d-%d", &t, &j), 2);
        assert_true(t >= 0 && t < THREADS && j >= 0 && j < PER_THREAD);
        assert_string_equal(rows[k].name, t % 2 ? "bob" : "alice");
        /* rows are in Seq order; a thread's j-th row must come after its
         * (j-1)-th: exactly once each, in the order its calls returned */
        assert_int_equal(j, last[t] + 1);
        last[t] = j;
        if (k > 0)
            assert_true(rows[k].seq > rows[k - 1].seq);
    }
    nw_sqlite_stats(f->st, &commits, &written);
    assert_int_equal(written - rows0, THREADS * PER_THREAD);
    assert_true(commits - commits0 >= (THREADS * PER_THREAD + NW_SQLITE_BATCH_MAX - 1) / NW_SQLITE_BATCH_MAX);
    /* 32 writers behind an fsync cannot all have committed alone */
    assert_true(commits - commits0 < THREADS * PER_THREAD);
}

/* One batch holding good rows and rows for an unknown account: only the
 * refused callers fail, the rest commit in the same single transaction. */
static void test_refused_row_fails_alone(void **state)
{
    struct fixture *f = *state;
    static struct writer w[8];
    static struct row rows[16];
    pthread_t th[8];
    unsigned long long commits0, rows0, commits, written;

    nw_sqlite_stats(f->st, &commits0, &rows0);
    hold_commits(f->st);
    for (int i = 0; i < 8; i++) {
        w[i] = (struct writer){.st = f->st, .id = i, .count = 1, .name = i % 3 == 1 ? "ghost" : "alice"};
        assert_int_equal(pthread_create(&th[i], NULL, record_many, &w[i]), 0);
    }
    wait_queued(f->st, 8);
    release_commits(f->st);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 8; i++) {
        if (i % 3 == 1) {
            assert_int_equal(w[i].rc[0], NW_ERR_BAD_REQUEST);
            assert_non_null(strstr(w[i].err[0].msg, "does not exist"));
        } else {
            assert_int_equal(w[i].rc[0], NW_OK);
        }
    }
    nw_sqlite_stats(f->st, &commits, &written);
    assert_int_equal(commits - commits0, 1);
    assert_int_equal(written - rows0, 5); /* i = 1, 4, 7 refused */
    size_t n = read_rows(f->path, rows, 16);
    assert_int_equal(n, 5);
    for (size_t k = 0; k < n; k++)
        assert_string_equal(rows[k].name, "alice");
}

struct idem_writer {
    struct nw_storage *st;
    const char *key, *response;
    int exists;
    enum nw_err rc;
};

static void *put_idem(void *arg)
{
    struct idem_writer *w = arg;
    struct nw_idempotency_record r = {(char *)w->key, "fp", 200, (char *)w->response, TIME};

    w->rc = nw_storage_idempotency_put(w->st, &r, &w->exists, NULL);
    return NULL;
}

/* Idempotency puts share batches: the first of two puts of one key in a
 * batch is stored, the second reports `exists`, another key is stored. */
static void test_idempotency_puts_in_one_batch(void **state)
{
    struct fixture *f = *state;
    struct idem_writer w[3] = {
        {f->st, "tok:k1", "{\"first\":1}", -1, NW_ERR_INTERNAL},
        {f->st, "tok:k1", "{\"second\":1}", -1, NW_ERR_INTERNAL},
        {f->st, "tok:k2", "{\"other\":1}", -1, NW_ERR_INTERNAL},
    };
    pthread_t th[3];
    struct nw_idempotency_record got;
    unsigned long long commits0, rows0, commits, written;
    int found = 0;

    nw_sqlite_stats(f->st, &commits0, &rows0);
    hold_commits(f->st);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, put_idem, &w[i]), 0);
        wait_queued(f->st, (size_t)i + 1); /* queue order = creation order */
    }
    release_commits(f->st);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, NW_OK);
    }
    assert_int_equal(w[0].exists, 0);
    assert_int_equal(w[1].exists, 1);
    assert_int_equal(w[2].exists, 0);
    nw_sqlite_stats(f->st, &commits, &written);
    assert_int_equal(commits - commits0, 1);
    assert_int_equal(nw_storage_idempotency_get(f->st, "tok:k1", &got, &found, NULL), NW_OK);
    assert_int_equal(found, 1);
    assert_string_equal(got.response, "{\"first\":1}");
    nw_idempotency_record_clear(&got);
}

/* More writers queued than a batch holds: they take two transactions. */
static void test_batches_are_bounded(void **state)
{
    struct fixture *f = *state;
    enum { N = NW_SQLITE_BATCH_MAX + 4 };
    static struct writer w[N];
    static pthread_t th[N];
    unsigned long long commits0, rows0, commits, written;

    nw_sqlite_stats(f->st, &commits0, &rows0);
    hold_commits(f->st);
    for (int i = 0; i < N; i++) {
        w[i] = (struct writer){.st = f->st, .id = i, .count = 1, .name = "bob"};
        assert_int_equal(pthread_create(&th[i], NULL, record_many, &w[i]), 0);
    }
    wait_queued(f->st, N);
    release_commits(f->st);
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc[0], NW_OK);
    }
    nw_sqlite_stats(f->st, &commits, &written);
    assert_int_equal(written - rows0, N);
    assert_int_equal(commits - commits0, 2);
}

/* A lone write does not wait for company: one commit per call. */
static void test_lone_writes_commit_alone(void **state)
{
    struct fixture *f = *state;
    struct writer w = {.st = f->st, .id = 0, .count = 5, .name = "alice"};
    unsigned long long commits0, rows0, commits, written;

    nw_sqlite_stats(f->st, &commits0, &rows0);
    record_many(&w);
    for (int i = 0; i < 5; i++)
        assert_int_equal(w.rc[i], NW_OK);
    nw_sqlite_stats(f->st, &commits, &written);
    assert_int_equal(commits - commits0, 5);
    assert_int_equal(written - rows0, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent_rows_once_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_row_fails_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_puts_in_one_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches_are_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lone_writes_commit_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
