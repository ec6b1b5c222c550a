/* Shared helpers for the SiON compat tests (header-only, static functions).
 *
 * Every test prints what it observed in a form that is the same on any Linux
 * machine (return values, errno names, properties; never addresses, pids or
 * times), checks its own expectations, and exits non-zero when Linux itself
 * disagrees with them.  See docs/testing.md.
 */
#ifndef SION_COMPAT_H
#define SION_COMPAT_H

#define _GNU_SOURCE 1
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int compat_failed;
static int compat_checked;

/* The symbolic name of an errno value ("EFAULT"), or "E?<n>" if unknown. */
static __attribute__((unused)) const char *errno_name(int e)
{
    static char unknown[32];
    switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case ENOEXEC: return "ENOEXEC";
    case EBADF: return "EBADF";
    case ECHILD: return "ECHILD";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENOTTY: return "ENOTTY";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case EMLINK: return "EMLINK";
    case EPIPE: return "EPIPE";
    case EDOM: return "EDOM";
    case ERANGE: return "ERANGE";
    case ENODATA: return "ENODATA";
    case ENOMSG: return "ENOMSG";
    case EIDRM: return "EIDRM";
    case EDEADLK: return "EDEADLK";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ELOOP: return "ELOOP";
    case EOVERFLOW: return "EOVERFLOW";
    case ENOTSOCK: return "ENOTSOCK";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case ENOTCONN: return "ENOTCONN";
    case EISCONN: return "EISCONN";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EINPROGRESS: return "EINPROGRESS";
    case EALREADY: return "EALREADY";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case ENETUNREACH: return "ENETUNREACH";
    case EMSGSIZE: return "EMSGSIZE";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNABORTED: return "ECONNABORTED";
    case EPROTOTYPE: return "EPROTOTYPE";
    case EOWNERDEAD: return "EOWNERDEAD";
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
    default:
        snprintf(unknown, sizeof unknown, "E?%d", e);
        return unknown;
    }
}

/* Record one expectation.  Prints "ok: WHAT" or "FAIL: WHAT (details)". */
static void check(int cond, const char *what, ...)
{
    va_list ap;
    compat_checked++;
    printf(cond ? "ok: " : "FAIL: ");
    va_start(ap, what);
    vprintf(what, ap);
    va_end(ap);
    printf("\n");
    if (!cond) {
        compat_failed++;
        /* Also on stderr, so a failure is visible even when stdout is lost. */
        va_start(ap, what);
        fprintf(stderr, "FAIL: ");
        vfprintf(stderr, what, ap);
        fprintf(stderr, "\n");
        va_end(ap);
    }
}

/* Check that a call returning -1/errno failed with the expected errno.
 * `ret` is the call's return value (as long), `err` the errno right after. */
static __attribute__((unused)) void check_errno(long ret, int err, int want, const char *call)
{
    int ok = ret == -1 && err == want;
    compat_checked++;
    if (ret == -1)
        printf("%s: %s: -1 %s\n", ok ? "ok" : "FAIL", call, errno_name(err));
    else
        printf("FAIL: %s: returned %ld\n", call, ret);
    if (!ok) {
        compat_failed++;
        fprintf(stderr, "FAIL: %s: want -1 %s, got %ld %s\n", call,
                errno_name(want), ret, ret == -1 ? errno_name(err) : "");
    }
}

/* Check that a call returned exactly `want` (printing the value). */
static __attribute__((unused)) void check_ret(long ret, int err, long want, const char *call)
{
    int ok = ret == want;
    compat_checked++;
    if (ok)
        printf("ok: %s = %ld\n", call, ret);
    else
        printf("FAIL: %s = %ld (%s), want %ld\n", call, ret,
               ret == -1 ? errno_name(err) : "no error", want);
    if (!ok) {
        compat_failed++;
        fprintf(stderr, "FAIL: %s = %ld (%s), want %ld\n", call, ret,
                ret == -1 ? errno_name(err) : "no error", want);
    }
}

/* Evaluate CALL once and check it fails with errno WANT / returns WANT.
 * The printed text is the call's source text, identical on every machine. */
#define EXPECT_ERR(call, want) do { errno = 0; long r_ = (long)(call); int e_ = errno; \
        check_errno(r_, e_, (want), #call); } while (0)
#define EXPECT_RET(call, want) do { errno = 0; long r_ = (long)(call); int e_ = errno; \
        check_ret(r_, e_, (long)(want), #call); } while (0)

/* End of the test: a summary line and the exit status (1 if any check failed). */
static int finish(void)
{
    printf("%d checks, %d failed\n", compat_checked, compat_failed);
    fflush(stdout);
    return compat_failed ? 1 : 0;
}

/* Pointers that must never be dereferenced (hidden from the optimiser). */
static void *volatile bad_ptr_1 = (void *)1;
static void *volatile bad_ptr_8 = (void *)8;

#endif
