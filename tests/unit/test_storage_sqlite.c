/*
 * test_storage_sqlite.c - the storage.h interface on its SQLite backend:
 * conditional creation, pagination across page boundaries, the audit trail,
 * idempotency records, durability across reopen, refusal of out-of-bounds
 * fields (with nothing stored), concurrent writers, file mode and pragmas.
 * Pragmas and the schema version are checked through a separate raw SQLite
 * connection, not through the code under test.
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
#include <sys/stat.h>
#include <unistd.h>

#include "nitrowallet/storage.h"
#include "sqlite_fixture.h"

static int setup(void **state)
{
    struct fixture *f = fixture_open("nw-storage");

    *state = f;
    return f == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    fixture_close(*state);
    return 0;
}

static struct nw_account_record account(char *name, char *address)
{
    struct nw_account_record r = {
        .name = name,
        .kms_key_id = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        .address = address,
        .encrypted_private_key = "AQIDBA==",
        .encrypted_data_key = "AQIDBAUG",
        .policy = "{\"allow_digest\":false}",
        .policy_digest = DIGEST,
        .created_at = TIME,
    };
    return r;
}

static struct nw_signed_value_record signed_value(char *name, char *request_id)
{
    struct nw_signed_value_record r = {
        .name = name,
        .kind = "message",
        .transaction = "{\"message\":\"hello\"}",
        .signed_value = "0x0102",
        .tx_hash = "",
        .created_at = TIME,
        .request_id = request_id,
    };
    return r;
}

static size_t count_accounts(struct nw_storage *st)
{
    struct nw_account_page page;
    size_t n;

    assert_int_equal(nw_storage_list_accounts(st, NW_STORAGE_PAGE_MAX, NULL, &page, NULL), NW_OK);
    n = page.count;
    nw_account_page_free(&page);
    return n;
}

static void test_create_get_and_conflict(void **state)
{
    struct fixture *f = *state;
    struct nw_account_record r = account("alice", ADDR1), got;
    int exists = -1, found = -1;

    assert_int_equal(nw_storage_create_account(f->st, &r, &exists, NULL), NW_OK);
    assert_int_equal(exists, 0);
    assert_int_equal(nw_storage_get_account(f->st, "alice", &got, &found, NULL), NW_OK);
    assert_int_equal(found, 1);
    assert_string_equal(got.name, "alice");
    assert_string_equal(got.address, ADDR1);
    assert_string_equal(got.kms_key_id, r.kms_key_id);
    assert_string_equal(got.encrypted_private_key, "AQIDBA==");
    assert_string_equal(got.encrypted_data_key, "AQIDBAUG");
    assert_string_equal(got.policy, r.policy);
    assert_string_equal(got.policy_digest, DIGEST);
    assert_string_equal(got.created_at, TIME);
    nw_account_record_clear(&got);

    /* The same name again: refused with `exists`, the first row kept. */
    r.address = ADDR2;
    assert_int_equal(nw_storage_create_account(f->st, &r, &exists, NULL), NW_OK);
    assert_int_equal(exists, 1);
    assert_int_equal(nw_storage_get_account(f->st, "alice", &got, &found, NULL), NW_OK);
    assert_string_equal(got.address, ADDR1);
    nw_account_record_clear(&got);

    assert_int_equal(nw_storage_get_account(f->st, "bob", &got, &found, NULL), NW_OK);
    assert_int_equal(found, 0);
    assert_null(got.name);
    assert_int_equal(nw_storage_get_account(f->st, "../x", &got, &found, NULL), NW_ERR_BAD_REQUEST);
}

static void test_list_accounts_across_pages(void **state)
{
    struct fixture *f = *state;
    char names[25][16], cursor[NW_STORAGE_CURSOR_MAX + 1] = "";
    size_t seen = 0, pages = 0;
    int exists;

    for (int i = 0; i < 25; i++) {
        int k = (i * 7) % 25; /* insert out of order */
        snprintf(names[k], sizeof names[k], "acct-%02d", k);
        struct nw_account_record r = account(names[k], ADDR1);
        assert_int_equal(nw_storage_create_account(f->st, &r, &exists, NULL), NW_OK);
    }
    do {
        struct nw_account_page page;
        assert_int_equal(nw_storage_list_accounts(f->st, 10, cursor, &page, NULL), NW_OK);
        for (size_t i = 0; i < page.count; i++) {
            char want[16];
            snprintf(want, sizeof want, "acct-%02zu", seen + i);
            assert_string_equal(page.items[i].name, want);
        }
        seen += page.count;
        pages++;
        assert_true(page.count == 10 || page.next_cursor[0] == '\0');
        memcpy(cursor, page.next_cursor, sizeof cursor);
        nw_account_page_free(&page);
    } while (cursor[0] != '\0');
    assert_int_equal(seen, 25);
    assert_int_equal(pages, 3);

    struct nw_account_page page;
    struct nw_error err = {0};
    assert_int_equal(nw_storage_list_accounts(f->st, 0, NULL, &page, NULL), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_storage_list_accounts(f->st, NW_STORAGE_PAGE_MAX + 1, NULL, &page, NULL), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_storage_list_accounts(f->st, 10, "q12", &page, &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "cursor"));
    assert_int_equal(nw_storage_list_accounts(f->st, 10, "nzz", &page, NULL), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_storage_list_accounts(f->st, 10, "n2e", &page, NULL), NW_ERR_BAD_REQUEST); /* "." */
}

static void test_signed_values_newest_first(void **state)
{
    struct fixture *f = *state;
    struct nw_account_record a = account("alice", ADDR1), b = account("bob", ADDR2);
    struct nw_signed_value_page page;
    struct nw_error err = {0};
    int exists;

    assert_int_equal(nw_storage_create_account(f->st, &a, &exists, NULL), NW_OK);
    assert_int_equal(nw_storage_create_account(f->st, &b, &exists, NULL), NW_OK);
    struct nw_signed_value_record tx = signed_value("alice", "req-1");
    tx.kind = "transaction";
    tx.transaction = "{\"transaction\":{\"to\":\"0x00\"}}";
    tx.signed_value = "0x02f870";
    tx.tx_hash = DIGEST;
    assert_int_equal(nw_storage_record_signed_value(f->st, &tx, NULL), NW_OK);
    struct nw_signed_value_record m = signed_value("alice", "req-2");
    assert_int_equal(nw_storage_record_signed_value(f->st, &m, NULL), NW_OK);
    m = signed_value("bob", "req-3");
    assert_int_equal(nw_storage_record_signed_value(f->st, &m, NULL), NW_OK);
    m = signed_value("alice", "req-4");
    assert_int_equal(nw_storage_record_signed_value(f->st, &m, NULL), NW_OK);

    /* Unknown account: refused, nothing recorded. */
    m = signed_value("carol", "req-5");
    assert_int_equal(nw_storage_record_signed_value(f->st, &m, &err), NW_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "does not exist"));

    assert_int_equal(nw_storage_list_signed_values(f->st, "alice", 2, NULL, &page, NULL), NW_OK);
    assert_int_equal(page.count, 2);
    assert_string_equal(page.items[0].request_id, "req-4");
    assert_string_equal(page.items[1].request_id, "req-2");
    assert_true(page.items[0].seq > page.items[1].seq);
    assert_string_equal(page.next_cursor, "q2");
    nw_signed_value_page_free(&page);
    assert_int_equal(nw_storage_list_signed_values(f->st, "alice", 2, "q2", &page, NULL), NW_OK);
    assert_int_equal(page.count, 1);
    assert_string_equal(page.items[0].request_id, "req-1");
    assert_string_equal(page.items[0].kind, "transaction");
    assert_string_equal(page.items[0].signed_value, "0x02f870");
    assert_string_equal(page.items[0].tx_hash, DIGEST);
    assert_string_equal(page.items[0].transaction, tx.transaction);
    assert_string_equal(page.next_cursor, "");
    nw_signed_value_page_free(&page);
    assert_int_equal(nw_storage_list_signed_values(f->st, "carol", 10, NULL, &page, NULL), NW_OK);
    assert_int_equal(page.count, 0);
    nw_signed_value_page_free(&page);
    assert_int_equal(nw_storage_list_signed_values(f->st, "alice", 2, "q0", &page, NULL), NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_storage_list_signed_values(f->st, "alice", 2, "q99999999999999999999", &page, NULL),
                     NW_ERR_BAD_REQUEST);
    assert_int_equal(nw_storage_list_signed_values(f->st, "alice", 2, "n616c", &page, NULL), NW_ERR_BAD_REQUEST);
}

static void test_idempotency_put_get_conflict(void **state)
{
    struct fixture *f = *state;
    struct nw_idempotency_record r = {"admin:key-1", "fp-1", 201, "{\"name\":\"alice\"}", TIME}, got;
    int found = -1, exists = -1;

    assert_int_equal(nw_storage_idempotency_get(f->st, "admin:key-1", &got, &found, NULL), NW_OK);
    assert_int_equal(found, 0);
    assert_int_equal(nw_storage_idempotency_put(f->st, &r, &exists, NULL), NW_OK);
    assert_int_equal(exists, 0);
    r.fingerprint = "fp-2";
    r.status = 200;
    r.response = "{}";
    assert_int_equal(nw_storage_idempotency_put(f->st, &r, &exists, NULL), NW_OK);
    assert_int_equal(exists, 1);
    assert_int_equal(nw_storage_idempotency_get(f->st, "admin:key-1", &got, &found, NULL), NW_OK);
    assert_int_equal(found, 1);
    assert_string_equal(got.key, "admin:key-1");
    assert_string_equal(got.fingerprint, "fp-1");
    assert_int_equal(got.status, 201);
    assert_string_equal(got.response, "{\"name\":\"alice\"}");
    assert_string_equal(got.created_at, TIME);
    nw_idempotency_record_clear(&got);
    assert_int_equal(nw_storage_idempotency_get(f->st, "", &got, &found, NULL), NW_ERR_BAD_REQUEST);
}

static void raw_query(const char *path, const char *sql, char *out, size_t cap)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    int rc = sqlite3_step(stmt);
    assert_true(rc == SQLITE_ROW || rc == SQLITE_DONE);
    snprintf(out, cap, "%s", rc == SQLITE_ROW ? (const char *)sqlite3_column_text(stmt, 0) : "");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

static void test_reopen_keeps_data_and_wal(void **state)
{
    struct fixture *f = *state;
    struct nw_account_record r = account("alice", ADDR1), got;
    struct nw_signed_value_record m = signed_value("alice", "req-1");
    struct nw_signed_value_page page;
    char v[128];
    int exists, found;

    assert_int_equal(nw_storage_create_account(f->st, &r, &exists, NULL), NW_OK);
    assert_int_equal(nw_storage_record_signed_value(f->st, &m, NULL), NW_OK);
    nw_storage_close(f->st);
    f->st = NULL;
    assert_int_equal(nw_storage_sqlite_open(&f->st, f->path, NULL), NW_OK);
    assert_int_equal(nw_storage_get_account(f->st, "alice", &got, &found, NULL), NW_OK);
    assert_int_equal(found, 1);
    assert_string_equal(got.encrypted_private_key, "AQIDBA==");
    nw_account_record_clear(&got);
    assert_int_equal(nw_storage_list_signed_values(f->st, "alice", 10, NULL, &page, NULL), NW_OK);
    assert_int_equal(page.count, 1);
    nw_signed_value_page_free(&page);

    raw_query(f->path, "PRAGMA journal_mode", v, sizeof v);
    assert_string_equal(v, "wal");
    raw_query(f->path, "PRAGMA user_version", v, sizeof v);
    assert_string_equal(v, "1");
    raw_query(f->path, "SELECT KeyId FROM AccountTable WHERE Name = 'alice'", v, sizeof v);
    assert_string_equal(v, r.kms_key_id);
}

static void test_file_modes_0600(void **state)
{
    struct fixture *f = *state;
    struct nw_account_record r = account("alice", ADDR1);
    const char *suffix[] = {"", "-wal", "-shm"};
    char p[128], other[128];
    struct stat sb;
    int exists;
    FILE *fp;

    assert_int_equal(nw_storage_create_account(f->st, &r, &exists, NULL), NW_OK);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        assert_int_equal(stat(p, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
    }
    /* An existing, too open file is tightened. */
    snprintf(other, sizeof other, "%s/loose.db", f->dir);
    fp = fopen(other, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(chmod(other, 0644), 0);
    struct nw_storage *st2 = NULL;
    assert_int_equal(nw_storage_sqlite_open(&st2, other, NULL), NW_OK);
    assert_int_equal(stat(other, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    nw_storage_close(st2);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", other, suffix[i]);
        unlink(p);
    }
}

static void test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    struct nw_storage *st2 = NULL;
    struct nw_error err = {0};
    char v[8];

    raw_query(f->path, "PRAGMA user_version = 99", v, sizeof v);
    assert_int_equal(nw_storage_sqlite_open(&st2, f->path, &err), NW_ERR_INTERNAL);
    assert_null(st2);
    assert_non_null(strstr(err.msg, "newer"));
}

/* Each malformed or oversized field is refused, with nothing stored. */
static void test_field_bounds_refused(void **state)
{
    struct fixture *f = *state;
    static char long_name[NW_STORAGE_NAME_MAX + 2], long_key[NW_STORAGE_KMS_KEY_ID_MAX + 2];
    static const struct {
        int field;
        const char *value;
        enum nw_err code;
        const char *msg;
    } bad[] = {
        {0, NULL, NW_ERR_BAD_REQUEST, "name"}, /* long_name */
        {0, "", NW_ERR_BAD_REQUEST, "name"},
        {0, ".hidden", NW_ERR_BAD_REQUEST, "name"},
        {0, "a/b", NW_ERR_BAD_REQUEST, "name"},
        {0, "caf\xc3\xa9", NW_ERR_BAD_REQUEST, "name"},
        {1, NULL, NW_ERR_TOO_LARGE, "kms_key_id"}, /* long_key */
        {1, "key id", NW_ERR_BAD_REQUEST, "kms_key_id"},
        {2, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", NW_ERR_BAD_REQUEST, "checksum"},
        {2, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", NW_ERR_BAD_REQUEST, "address"},
        {2, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", NW_ERR_BAD_REQUEST, "address"},
        {3, "AQIDBA=", NW_ERR_BAD_REQUEST, "encrypted_private_key"},
        {3, "AQIDBB==", NW_ERR_BAD_REQUEST, "encrypted_private_key"},
        {4, "", NW_ERR_BAD_REQUEST, "encrypted_data_key"},
        {5, "[1]", NW_ERR_BAD_REQUEST, "policy"},
        {5, "{\"allow_digest\":fals}", NW_ERR_BAD_REQUEST, "policy"},
        {6, "0x00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff", NW_ERR_BAD_REQUEST, "policy_digest"},
        {6, "0x0011", NW_ERR_BAD_REQUEST, "policy_digest"},
        {7, "2026-11-21 09:30:00.123Z", NW_ERR_BAD_REQUEST, "created_at"},
        {7, "2026-11-21T09:30:00Z", NW_ERR_BAD_REQUEST, "created_at"},
    };
    int exists;

    memset(long_name, 'a', sizeof long_name - 1);
    memset(long_key, 'k', sizeof long_key - 1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct nw_account_record r = account("alice", ADDR1);
        char **fields[] = {&r.name,   &r.kms_key_id,    &r.address,   &r.encrypted_private_key, &r.encrypted_data_key,
                           &r.policy, &r.policy_digest, &r.created_at};
        struct nw_error err = {0};
        *fields[bad[i].field] = (char *)bad[i].value;
        if (bad[i].value == NULL)
            *fields[bad[i].field] = bad[i].field == 0 ? long_name : long_key;
        assert_int_equal(nw_storage_create_account(f->st, &r, &exists, &err), bad[i].code);
        if (strstr(err.msg, bad[i].msg) == NULL)
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, bad[i].msg);
    }
    assert_int_equal(count_accounts(f->st), 0);
}

static void test_signed_and_idempotency_bounds_refused(void **state)
{
    struct fixture *f = *state;
    struct nw_account_record a = account("alice", ADDR1);
    struct nw_signed_value_page page;
    struct nw_error err = {0};
    int exists;

    assert_int_equal(nw_storage_create_account(f->st, &a, &exists, NULL), NW_OK);
    struct nw_signed_value_record m = signed_value("alice", "req-1");
    m.kind = "blob";
    assert_int_equal(nw_storage_record_signed_value(f->st, &m, &err), NW_ERR_BAD_REQUEST);
    m = signed_value("alice", "req-1");
    m.signed_value = "0x012";
    assert_int_equal(nw_storage_record_signed_value(f->st, &m, &err), NW_ERR_BAD_REQUEST);
    m = signed_value("alice", "req-1");
    m.transaction = "{\"a\":1,\"a\":2}";
    assert_int_equal(nw_storage_record_signed_value(f->st, &m, &err), NW_ERR_BAD_REQUEST);
    m = signed_value("alice", "req-1");
    m.kind = "transaction"; /* needs a tx_hash */
    assert_int_equal(nw_storage_record_signed_value(f->st, &m, &err), NW_ERR_BAD_REQUEST);
    m = signed_value("alice", "req-1");
    m.tx_hash = DIGEST; /* only transactions have one */
    assert_int_equal(nw_storage_record_signed_value(f->st, &m, &err), NW_ERR_BAD_REQUEST);
    m = signed_value("alice", "");
    assert_int_equal(nw_storage_record_signed_value(f->st, &m, &err), NW_ERR_BAD_REQUEST);
    char *big = malloc(NW_STORAGE_SIGNED_MAX + 3);
    assert_non_null(big);
    memset(big, 'a', NW_STORAGE_SIGNED_MAX + 2);
    big[0] = '0';
    big[1] = 'x';
    big[NW_STORAGE_SIGNED_MAX + 2] = '\0';
    m = signed_value("alice", "req-1");
    m.signed_value = big;
    assert_int_equal(nw_storage_record_signed_value(f->st, &m, &err), NW_ERR_TOO_LARGE);
    free(big);
    assert_int_equal(nw_storage_list_signed_values(f->st, "alice", 10, NULL, &page, NULL), NW_OK);
    assert_int_equal(page.count, 0);
    nw_signed_value_page_free(&page);

    struct nw_idempotency_record r = {"k", "fp", 99, "{}", TIME};
    assert_int_equal(nw_storage_idempotency_put(f->st, &r, &exists, &err), NW_ERR_BAD_REQUEST);
    r.status = 200;
    r.key = "with space";
    assert_int_equal(nw_storage_idempotency_put(f->st, &r, &exists, &err), NW_ERR_BAD_REQUEST);
    r.key = "k";
    r.response = "\xff";
    assert_int_equal(nw_storage_idempotency_put(f->st, &r, &exists, &err), NW_ERR_BAD_REQUEST);
}

#define THREADS 8
#define PER_THREAD 20

struct writer {
    struct nw_storage *st;
    int id;
    int failures;
};

static void *write_many(void *arg)
{
    struct writer *w = arg;

    for (int i = 0; i < PER_THREAD; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "t%d-%d", w->id, i);
        struct nw_signed_value_record m = signed_value("alice", rid);
        struct nw_error err = {0};
        if (nw_storage_record_signed_value(w->st, &m, &err) != NW_OK) {
            fprintf(stderr, "writer %d: %s\n", w->id, err.msg);
            w->failures++;
        }
    }
    return NULL;
}

/* Threads on one handle and on a second connection: every row lands once. */
static void test_concurrent_writers_all_recorded(void **state)
{
    struct fixture *f = *state;
    struct nw_account_record a = account("alice", ADDR1);
    struct nw_storage *st2 = NULL;
    struct writer w[THREADS];
    pthread_t th[THREADS];
    char cursor[NW_STORAGE_CURSOR_MAX + 1] = "";
    size_t total = 0;
    int exists;

    assert_int_equal(nw_storage_create_account(f->st, &a, &exists, NULL), NW_OK);
    assert_int_equal(nw_storage_sqlite_open(&st2, f->path, NULL), NW_OK);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct writer){i % 2 ? st2 : f->st, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, write_many, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    nw_storage_close(st2);
    do {
        struct nw_signed_value_page page;
        assert_int_equal(nw_storage_list_signed_values(f->st, "alice", 7, cursor, &page, NULL), NW_OK);
        total += page.count;
        memcpy(cursor, page.next_cursor, sizeof cursor);
        nw_signed_value_page_free(&page);
    } while (cursor[0] != '\0');
    assert_int_equal(total, THREADS * PER_THREAD);
}

static void test_timestamp_shape(void **state)
{
    struct fixture *f = *state;
    char t[NW_STORAGE_TIME_LEN + 1];
    int exists;

    assert_int_equal(nw_storage_timestamp(t, NULL), NW_OK);
    assert_int_equal(strlen(t), NW_STORAGE_TIME_LEN);
    struct nw_account_record r = account("alice", ADDR1);
    r.created_at = t;
    assert_int_equal(nw_storage_create_account(f->st, &r, &exists, NULL), NW_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_get_and_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_accounts_across_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signed_values_newest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_put_get_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data_and_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_modes_0600, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_bounds_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signed_and_idempotency_bounds_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers_all_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamp_shape, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
