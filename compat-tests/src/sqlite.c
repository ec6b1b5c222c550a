// sqlite.c - a real program no one here wrote: SQLite 3 (Debian's
// libsqlite3-dev, static glibc) creates a database file in the working
// directory (locks, pread/pwrite, fsync, journal files), queries it, reopens it.
// abis: glibc, glibc-dyn
// cflags: -Wl,--whole-archive -lsqlite3 -Wl,--no-whole-archive -lm
#include "compat.h"
#include <sqlite3.h>

static int row(void *u, int n, char **v, char **c)
{
    (void)u;
    for (int i = 0; i < n; i++)
        printf("%s=%s ", c[i], v[i] ? v[i] : "NULL");
    printf("\n");
    return 0;
}

static void run(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, row, NULL, &err);
    check(rc == SQLITE_OK, "exec %.40s...%s%s", sql, err ? ": " : "", err ? err : "");
    sqlite3_free(err);
}

int main(void)
{
    unlink("compat.db");
    sqlite3 *db;
    check(sqlite3_open("compat.db", &db) == SQLITE_OK, "open compat.db");
    run(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, n REAL);"
            "BEGIN; INSERT INTO t(name, n) VALUES ('apple', 1.5), ('banana', 2.25), ('cherry', NULL); COMMIT;"
            "CREATE INDEX tn ON t(name);");
    run(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) INSERT INTO t(name, n) SELECT 'n' || x, x FROM c;");
    run(db, "SELECT name, n * 2 AS twice FROM t WHERE id <= 3 ORDER BY name DESC;");
    run(db, "SELECT count(*), sum(n), max(length(name)) FROM t;");
    sqlite3_close(db);
    check(sqlite3_open("compat.db", &db) == SQLITE_OK, "reopen");
    run(db, "PRAGMA integrity_check; SELECT name FROM t WHERE name LIKE 'n199%' ORDER BY id;");
    run(db, "UPDATE t SET n = -n WHERE id % 2 = 0; DELETE FROM t WHERE id > 1000; VACUUM;");
    run(db, "SELECT count(*), sum(n) FROM t;");
    sqlite3_close(db);
    check(unlink("compat.db") == 0, "the database file exists and is removed");
    return finish();
}
